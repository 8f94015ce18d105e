"""HTTPS for the development server: the certificate (created for localhost when missing) and
the server's ``ssl.SSLContext``. The backends wrap their sockets with that context.
"""
