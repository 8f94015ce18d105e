"""Every test of :mod:`..test_http_protocol` again, over HTTPS (see :mod:`.contract`)."""

from ..test_http_protocol import *  # noqa: F403
from .contract import server, start_server  # noqa: F401

# Plain HTTP's own case: a TLS handshake sent to the plain port (over TLS it is only bad bytes).
del test_tls_client_hello_is_closed_and_logged  # noqa: F821
