"""PEP 3333: environ, wsgi.input, and the gateway that runs the application."""
