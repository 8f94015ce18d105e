"""The test project as a browser uses it: pages, static files, a CSRF-protected upload,
the admin and an error page, through ``http.client`` on every backend.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import uuid
from dataclasses import dataclass
from email.message import Message

from ..server import REPO, DevrunProcess

STATIC = REPO / "testproject" / "shop" / "static" / "shop"


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes


def request(
    server: DevrunProcess, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
) -> Response:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, response.msg, response.read())
    finally:
        connection.close()


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[str, bytes]:
    """A ``multipart/form-data`` body and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, (filename, data) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def test_index_page_links_to_static_files_that_resolve(server: DevrunProcess) -> None:
    page = request(server, "GET", "/")
    assert page.status == 200
    assert page.headers.get_content_type() == "text/html"
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.body.decode())
    assert sorted(assets) == ["/static/shop/logo.png", "/static/shop/site.css"]
    expected_types = {"/static/shop/site.css": "text/css", "/static/shop/logo.png": "image/png"}
    for asset in assets:
        response = request(server, "GET", asset)
        assert response.status == 200
        assert response.headers.get_content_type() == expected_types[asset]
        assert response.body == (STATIC / asset.rsplit("/", 1)[1]).read_bytes()


def test_index_page_links_to_pages_that_resolve(server: DevrunProcess) -> None:
    page = request(server, "GET", "/").body.decode()
    links = re.findall(r'<a href="(/(?:hello|json|upload|echo|admin)/)"', page)
    assert len(links) == 5
    for link in links:
        assert request(server, "GET", link).status in (200, 302), link


def test_json_view_returns_json(server: DevrunProcess) -> None:
    response = request(server, "GET", "/json/")
    assert response.status == 200
    assert response.headers.get_content_type() == "application/json"
    assert json.loads(response.body) == {"message": "hello", "items": [1, 2, 3]}


def test_upload_with_csrf_token_saves_the_file(server: DevrunProcess) -> None:
    form = request(server, "GET", "/upload/")
    assert form.status == 200
    cookie = re.search(r"csrftoken=([^;]+)", form.headers.get("Set-Cookie", ""))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
    assert cookie is not None
    assert token is not None
    data = os.urandom(300 * 1024)
    title = f"note {uuid.uuid4().hex[:8]}"
    content_type, body = multipart(
        {"csrfmiddlewaretoken": token.group(1).decode(), "title": title}, {"attachment": ("data.bin", data)}
    )
    headers = {"Content-Type": content_type, "Cookie": f"csrftoken={cookie.group(1)}"}
    response = request(server, "POST", "/upload/", headers=headers, body=body)
    assert response.status == 200, response.body[:1000]
    assert response.body.decode() == f"saved: {title}\nsize: {len(data)}\n"


def test_upload_without_csrf_token_is_forbidden(server: DevrunProcess) -> None:
    content_type, body = multipart({"title": "no token"}, {"attachment": ("data.bin", b"data")})
    response = request(server, "POST", "/upload/", headers={"Content-Type": content_type}, body=body)
    assert response.status == 403


def test_admin_login_page_is_served(server: DevrunProcess) -> None:
    redirect = request(server, "GET", "/admin/")
    assert redirect.status == 302
    assert redirect.headers["Location"] == "/admin/login/?next=/admin/"
    login = request(server, "GET", "/admin/login/")
    assert login.status == 200
    assert b"csrfmiddlewaretoken" in login.body
    assert b'name="username"' in login.body


def test_error_view_gets_500_and_the_server_keeps_serving(server: DevrunProcess) -> None:
    first_line = len(server.lines)
    response = request(server, "GET", "/error/")
    assert response.status == 500
    assert b"boom from testproject" in response.body  # DEBUG's technical 500 page
    server.wait_for_line(lambda line: "boom from testproject" in line, 10, start=first_line)
    assert request(server, "GET", "/hello/").body == b"Hello, world!"
