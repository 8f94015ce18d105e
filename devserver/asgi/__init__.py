"""The ASGI 3.0 gateway: scopes, the HTTP request/response cycle, lifespan, and websockets.

Like :mod:`devserver.wsgi`, it sits on the sans-I/O HTTP layer of :mod:`devserver.http`; the
asyncio backend (:mod:`devserver.backends.asyncio`) owns the sockets and feeds it.
"""
