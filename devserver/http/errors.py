"""HTTP errors raised by the sans-I/O layer; each carries the status the client should get."""

from http import HTTPStatus


class HTTPError(Exception):
    """A request the server refuses; the connection closes after the error response."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.status.phrase)
        self.detail = detail or self.status.phrase


class BadRequest(HTTPError):
    status = HTTPStatus.BAD_REQUEST


class RequestTimeout(HTTPError):
    status = HTTPStatus.REQUEST_TIMEOUT


class URITooLong(HTTPError):
    status = HTTPStatus.REQUEST_URI_TOO_LONG


class RequestHeaderFieldsTooLarge(HTTPError):
    status = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE


class NotImplementedByServer(HTTPError):
    """501: an unknown method or transfer coding (named to avoid the builtin ``NotImplemented``)."""

    status = HTTPStatus.NOT_IMPLEMENTED


class ServiceUnavailable(HTTPError):
    status = HTTPStatus.SERVICE_UNAVAILABLE


class HTTPVersionNotSupported(HTTPError):
    status = HTTPStatus.HTTP_VERSION_NOT_SUPPORTED
