"""Every test of :mod:`.test_wsgi_gateway` again, over HTTPS (see :mod:`.tls_contract`)."""

from .test_wsgi_gateway import *  # noqa: F403
from .tls_contract import start_server  # noqa: F401
