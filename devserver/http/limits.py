"""The bounds the parser enforces, in one place."""

from typing import NamedTuple

#: runserver's own bound on the request line (http.server reads at most 65536 bytes).
MAX_REQUEST_LINE = 64 * 1024
MAX_HEADER_BLOCK = 64 * 1024
MAX_HEADER_FIELDS = 100


class Limits(NamedTuple):
    max_request_line: int = MAX_REQUEST_LINE
    max_header_block: int = MAX_HEADER_BLOCK
    max_header_fields: int = MAX_HEADER_FIELDS
