"""Every test of :mod:`..test_wsgi_gateway` again, over HTTPS (see :mod:`.contract`)."""

from ..test_wsgi_gateway import *  # noqa: F403
from .contract import start_server  # noqa: F401
