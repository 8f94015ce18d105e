"""Typed errors raised by library code; only the command turns them into messages and exit codes."""

#: Exit statuses, as documented in the README.
EXIT_OK = 0
EXIT_BIND_FAILED = 1
#: ``devrun --check``: a path failed (or the check was interrupted).
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
#: A second Ctrl-C or SIGTERM: stopped at once, in-flight requests cut.
EXIT_FORCED = 1
RESTART_EXIT_CODE = 3


class DevserverError(Exception):
    """Base class; ``exit_status`` is what the command exits with."""

    exit_status = EXIT_USAGE


class ConfigurationError(DevserverError):
    """A bad option or ``DEVSERVER`` setting; the message names it."""


class BindError(DevserverError):
    """The listening socket could not be created."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = exit_status
