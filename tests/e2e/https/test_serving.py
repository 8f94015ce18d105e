"""``--cert-file``/``--key-file`` end to end: real servers on both backends, real TLS clients
(``ssl``, ``http.client``, curl).

The contract suite runs over HTTPS too (``test_protocol``, ``test_gateway`` here); this
module has what only HTTPS has: the certificate served, plain HTTP on the TLS port, handshakes
that stall or fail, the end of a response told from a cut, and the one-line errors.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from devserver.tls.files import TLSFiles

from ...conftest import ServerFactory
from ...server import ASGI_BACKENDS, REPO, DevrunProcess, client_tls, run_devrun
from ...tls.test_certificates import subject_alt_names
from ..rawclient import RawClient, build_request
from ..test_command import assert_one_line_error
from ..test_pytest_plugin import run_suite, write_suite

HIDDEN_PACKAGES = REPO / "tests" / "hidden"
HELLO = b"Hello, world!"
STATIC_CSS = REPO / "testproject" / "shop" / "static" / "shop" / "site.css"
#: A bound a timing must beat by far, on a loaded machine.
GENEROUS = 10.0
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


def get_over_tls(server: DevrunProcess, path: str = "/hello/") -> tuple[int, bytes]:
    connection = server.connection()
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def echo_over_tls(server: DevrunProcess) -> dict[str, object]:
    status, body = get_over_tls(server, "/echo/?q=1")
    assert status == 200, body[:300]
    result: dict[str, object] = json.loads(body)
    return result


def tls_socket(
    server: DevrunProcess, context: ssl.SSLContext | None = None, *, hostname: str = "127.0.0.1"
) -> ssl.SSLSocket:
    """A TLS connection to ``server``, the handshake done (trusting its certificate unless ``context``)."""
    context = context or server.tls
    assert context is not None
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=GENEROUS)
    return context.wrap_socket(sock, server_hostname=hostname)


def wait_closed(sock: socket.socket, timeout: float = GENEROUS) -> None:
    """Read until the server closes ``sock`` (whatever it says first); fails past ``timeout``."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            if not sock.recv(65536):
                return
        except TimeoutError:
            break
        except ConnectionResetError:
            return
    raise AssertionError(f"still open after {timeout} s")


def is_open(sock: socket.socket) -> bool:
    """Whether the server has not closed ``sock`` yet (and sent nothing on it)."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)
    return False


def half_client_hello() -> bytes:
    """The first half of a real ClientHello: a handshake that stalls after it began."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = outgoing.read()
    assert hello.startswith(b"\x16\x03")
    return hello[: len(hello) // 2]


# -- the certificate served ----------------------------------------------------------------


def test_https_with_the_key_in_the_certificate_file(https_server: DevrunProcess, backend_name: str) -> None:
    echo = echo_over_tls(https_server)
    assert echo["is_secure"] is True
    # WSGI says so in wsgi.url_scheme; an ASGI scope's scheme is what makes is_secure() True above
    assert echo["url_scheme"] == (None if backend_name in ASGI_BACKENDS else "https")
    assert echo["absolute_uri"] == f"https://127.0.0.1:{https_server.port}/echo/?q=1"
    assert https_server.url == f"https://127.0.0.1:{https_server.port}/"


def test_https_with_a_separate_key_file(start_server: ServerFactory, backend_name: str, pair: TLSFiles) -> None:
    server = start_server(
        "--backend", backend_name, "--cert-file", str(pair.cert_file), "--key-file", str(pair.key_file)
    )
    try:
        assert get_over_tls(server) == (200, HELLO)
        with tls_socket(server) as sock:
            served = sock.getpeercert(binary_form=True)
        assert served == ssl.PEM_cert_to_DER_cert(pair.cert_file.read_text())
    finally:
        server.stop()


def test_a_generated_certificate_is_served_with_its_names(start_server: ServerFactory, tmp_path: Path) -> None:
    cert = tmp_path / "made" / "dev.pem"
    cert.parent.mkdir()
    server = start_server("--cert-file", str(cert))
    try:
        assert "Created a self-signed certificate for localhost, 127.0.0.1 and ::1" in server.output()
        for hostname in ("localhost", "127.0.0.1"):  # names checked by the client against the served certificate
            with tls_socket(server, hostname=hostname) as sock:
                served = sock.getpeercert()
                assert served is not None
                names = served["subjectAltName"]
                assert sock.version() in ("TLSv1.2", "TLSv1.3")
                assert sock.selected_alpn_protocol() is None
        assert names == (("DNS", "localhost"), ("IP Address", "127.0.0.1"), ("IP Address", "0:0:0:0:0:0:0:1"))
        assert subject_alt_names(cert) == ["localhost", "127.0.0.1", "::1"]
        assert "PRIVATE KEY" in cert.read_text()
    finally:
        server.stop()
    assert server.process.returncode == 0


def test_the_banner_and_the_ready_line_say_https(https_server: DevrunProcess) -> None:
    port = https_server.port
    assert f"devserver: ready url=https://127.0.0.1:{port}/ host=127.0.0.1 port={port}" in https_server.output()


def test_the_settings_name_the_files_too(start_server: ServerFactory, tmp_path: Path) -> None:
    cert, key = tmp_path / "dev.crt", tmp_path / "dev.key"
    settings = json.dumps({"CERT_FILE": str(cert), "KEY_FILE": str(key)})
    server = start_server(env={"TESTPROJECT_DEVSERVER": settings})
    try:
        assert server.url.startswith("https://")
        context = client_tls(cert)
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=GENEROUS)
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            sock.sendall(build_request("GET", "/hello/", [("Connection", "close")]))
            assert sock.recv(65536).endswith(HELLO)
    finally:
        server.stop()
    assert subject_alt_names(cert) == ["localhost", "127.0.0.1", "::1"]
    assert "PRIVATE KEY" in key.read_text()
    assert "PRIVATE KEY" not in cert.read_text()


# -- plain HTTP on the TLS port ------------------------------------------------------------


def test_plain_http_on_the_tls_port_gets_400_naming_the_https_url(https_server: DevrunProcess) -> None:
    log_start = len(https_server.lines)
    port = https_server.port
    with RawClient(port, timeout=GENEROUS) as client:  # no TLS
        client.request("GET", "/hello/?a=1", host=f"localhost:{port}")
        response = client.read_response()
        assert response.status == 400
        assert response.closes
        client.assert_closed()
    assert f"Use https://localhost:{port}/hello/?a=1".encode() in response.body
    line = https_server.wait_for_line(lambda text: "over HTTP, but it only serves HTTPS" in text, GENEROUS, log_start)
    assert line.endswith(f"https://localhost:{port}/hello/?a=1")
    assert get_over_tls(https_server) == (200, HELLO)


def test_plain_http_without_a_usable_host_is_told_the_listening_address(https_server: DevrunProcess) -> None:
    with RawClient(https_server.port, timeout=GENEROUS) as client:
        client.send(b"GET /x HTTP/1.0\r\n\r\n")
        response = client.read_response()
    assert response.status == 400
    assert f"Use https://127.0.0.1:{https_server.port}/x".encode() in response.body


def test_garbage_on_the_tls_port_is_a_bad_request(https_server: DevrunProcess) -> None:
    with RawClient(https_server.port, timeout=GENEROUS) as client:
        client.send(b"\x00\x01\x02 not http\r\n\r\n")
        assert client.read_response().status == 400
        client.assert_closed()
    assert get_over_tls(https_server) == (200, HELLO)


@needs_curl
def test_curl_over_plain_http_gets_the_hint(https_server: DevrunProcess) -> None:
    url = f"http://127.0.0.1:{https_server.port}/hello/"
    done = subprocess.run(["curl", "-sS", "-m", "10", url], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert f"Use https://127.0.0.1:{https_server.port}/hello/" in done.stdout


# -- handshakes that stall or fail ---------------------------------------------------------


@pytest.fixture(scope="module")
def stalling_server(start_server: ServerFactory, backend_name: str, combined: Path) -> Iterator[DevrunProcess]:
    """HEADER_TIMEOUT 3 s; the keep-alive timeout is long, so a close within it is the handshake's bound."""
    settings = json.dumps({"HEADER_TIMEOUT": 3, "KEEP_ALIVE_TIMEOUT": 60})
    server = start_server(
        "--backend", backend_name, "--cert-file", str(combined), env={"TESTPROJECT_DEVSERVER": settings}
    )
    yield server
    server.stop()


def test_stalled_handshakes_never_hold_up_other_clients_and_end_at_the_header_timeout(
    stalling_server: DevrunProcess,
) -> None:
    log_start = len(stalling_server.lines)
    address = ("127.0.0.1", stalling_server.port)
    with socket.create_connection(address) as silent, socket.create_connection(address) as halfway:
        halfway.sendall(half_client_hello())
        connected = time.monotonic()
        assert get_over_tls(stalling_server) == (200, HELLO)  # a whole handshake and request meanwhile
        assert is_open(silent), "served only once the silent connection was dropped"
        assert is_open(halfway), "served only once the stalled handshake was dropped"
        for _ in range(3):
            assert get_over_tls(stalling_server) == (200, HELLO)
        wait_closed(silent)
        wait_closed(halfway)
        closed_after = time.monotonic() - connected
    assert 1.5 <= closed_after < 3 + GENEROUS, closed_after
    line = stalling_server.wait_for_line(lambda text: "TLS handshake with" in text, GENEROUS, log_start)
    assert line.endswith("failed: timed out")
    assert get_over_tls(stalling_server) == (200, HELLO)


def test_tls_1_1_is_refused_and_said_so(https_server: DevrunProcess) -> None:
    log_start = len(https_server.lines)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("ALL:@SECLEVEL=0")  # so that OpenSSL offers TLS 1.1 at all
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version, context.maximum_version = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError), tls_socket(https_server, context):
        pass
    line = https_server.wait_for_line(lambda text: "TLS handshake with" in text, GENEROUS, log_start)
    assert "the client offers only TLS versions older than 1.2" in line
    assert get_over_tls(https_server) == (200, HELLO)


def test_a_client_that_distrusts_the_certificate_is_logged(https_server: DevrunProcess) -> None:
    log_start = len(https_server.lines)
    with pytest.raises(ssl.SSLCertVerificationError), tls_socket(https_server, ssl.create_default_context()):
        pass  # the system's trust store does not know this certificate: what a browser meets first
    line = https_server.wait_for_line(lambda text: "TLS handshake with" in text, GENEROUS, log_start)
    assert "the client does not trust the certificate" in line


@needs_curl
def test_curl_speaks_https_and_refuses_tls_1_1(https_server: DevrunProcess, combined: Path) -> None:
    url = f"https://localhost:{https_server.port}/hello/"
    base = ["curl", "-sS", "-m", "10", "--cacert", str(combined)]
    good = subprocess.run([*base, url], capture_output=True, text=True, timeout=30, check=False)
    assert (good.returncode, good.stdout) == (0, "Hello, world!"), good.stderr
    old = subprocess.run([*base, "--tls-max", "1.1", url], capture_output=True, text=True, timeout=30, check=False)
    assert old.returncode == 35, old.stderr  # CURLE_SSL_CONNECT_ERROR


# -- the end of a response, and connections that misbehave ---------------------------------


def test_a_response_read_to_the_end_of_the_stream_ends_with_close_notify(https_server: DevrunProcess) -> None:
    """HTTP/1.0 without a length ends when the connection does: over TLS only close_notify tells
    that end from a cut (a client that checks, as this one does, fails otherwise)."""
    context = client_tls(https_server.cert_file or Path())
    raw = socket.create_connection(("127.0.0.1", https_server.port), timeout=GENEROUS)
    with context.wrap_socket(raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False) as sock:
        sock.sendall(b"GET /stream/?chunks=3 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):  # a cut would raise SSLEOFError here
            received += chunk
    assert received.endswith(b"chunk 0\nchunk 1\nchunk 2\n")
    assert b"Connection: close" in received


@needs_curl
def test_curl_reads_an_http10_stream_over_tls_to_its_end(https_server: DevrunProcess, combined: Path) -> None:
    url = f"https://127.0.0.1:{https_server.port}/stream/?chunks=3"
    done = subprocess.run(
        ["curl", "-sS", "-m", "10", "--http1.0", "--cacert", str(combined), url],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "chunk 0\nchunk 1\nchunk 2\n"), done.stderr


def test_many_pipelined_requests_across_tls_records(https_server: DevrunProcess) -> None:
    """Sixty requests in one burst, more than four TLS records' worth, answered in order."""
    padding = [("X-Padding", "p" * 1200)]
    requests = b"".join(build_request("GET", f"/echo/?n={n}", padding) for n in range(60))
    assert len(requests) > 4 * 16384
    with RawClient.to(https_server) as client:
        client.send(requests)
        for n in range(60):
            response = client.read_response()
            assert response.status == 200
            assert json.loads(response.body)["query_string"] == f"n={n}"


def test_a_large_upload_and_the_download_survive_tls(https_server: DevrunProcess) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB, many records each way
    with RawClient.to(https_server, timeout=30) as client:
        client.request("POST", "/echo/", [("Content-Type", "application/octet-stream")], body)
        echoed = json.loads(client.read_response().body)
        client.request("GET", "/download/")
        download = client.read_response()
    assert echoed["body_length"] == len(body)
    sample = (REPO / "testproject" / "shop" / "files" / "sample.txt").read_bytes()
    assert download.body == sample


def test_a_client_that_stops_reading_holds_the_single_loop_no_longer_than_the_send_timeout(
    start_server: ServerFactory, combined: Path
) -> None:
    settings = json.dumps({"SEND_TIMEOUT": 1})
    server = start_server("--backend", "single", "--cert-file", str(combined), env={"TESTPROJECT_DEVSERVER": settings})
    try:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", server.port))
        assert server.tls is not None
        with server.tls.wrap_socket(raw, server_hostname="127.0.0.1") as reader:
            reader.sendall(b"GET /stream/?chunks=250000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # 2 MB, never read
            started = time.monotonic()
            assert get_over_tls(server) == (200, HELLO)
            assert time.monotonic() - started < 1 + GENEROUS
    finally:
        server.stop()


def test_connections_past_the_limit_get_503_over_tls(
    start_server: ServerFactory, backend_name: str, combined: Path
) -> None:
    settings = json.dumps({"MAX_CONNECTIONS": 2})
    server = start_server(
        "--backend", backend_name, "--cert-file", str(combined), env={"TESTPROJECT_DEVSERVER": settings}
    )
    held = [server.connection() for _ in range(2)]
    try:
        for connection in held:
            connection.request("GET", "/hello/")
            assert connection.getresponse().read() == HELLO
        with RawClient.to(server) as extra:  # a handshake, then the 503 in TLS
            extra.request("GET", "/hello/")
            response = extra.read_response()
        assert response.status == 503
        assert response.closes
    finally:
        for connection in held:
            connection.close()
        server.stop()


# -- one-line errors ----------------------------------------------------------------------


def test_an_existing_pair_is_used_without_cryptography(project_env: dict[str, str], pair: TLSFiles) -> None:
    env = {**project_env, "PYTHONPATH": str(HIDDEN_PACKAGES), "DEVSERVER_TEST_HIDDEN": "cryptography"}
    before = pair.cert_file.read_bytes()
    server = DevrunProcess(
        ["127.0.0.1:0", "--noreload", "--cert-file", str(pair.cert_file), "--key-file", str(pair.key_file)], env
    )
    try:
        server.wait_ready()
        assert get_over_tls(server) == (200, HELLO)
    finally:
        server.stop()
    assert "Created" not in server.output()
    assert pair.cert_file.read_bytes() == before


def test_without_cryptography_the_error_names_the_extra(project_env: dict[str, str], tmp_path: Path) -> None:
    cert = tmp_path / "dev.pem"
    env = {**project_env, "PYTHONPATH": str(HIDDEN_PACKAGES), "DEVSERVER_TEST_HIDDEN": "cryptography"}
    result = run_devrun(["127.0.0.1:0", "--noreload", "--cert-file", str(cert)], env)
    assert_one_line_error(result, 2, "needs cryptography", "pip install 'django-devrun[https]'")
    assert not cert.exists()


def test_a_mismatched_pair_is_a_one_line_error(
    project_env: dict[str, str], pair: TLSFiles, other_pair: TLSFiles
) -> None:
    result = run_devrun(
        ["127.0.0.1:0", "--noreload", "--cert-file", str(pair.cert_file), "--key-file", str(other_pair.key_file)],
        project_env,
    )
    assert_one_line_error(result, 2, "does not belong to the certificate", str(pair.cert_file))


def test_a_key_without_a_certificate_is_a_one_line_error(project_env: dict[str, str], tmp_path: Path) -> None:
    result = run_devrun(["127.0.0.1:0", "--noreload", "--key-file", str(tmp_path / "dev.key")], project_env)
    assert_one_line_error(result, 2, "--key-file needs --cert-file")


def test_a_backend_that_does_not_serve_tls_is_refused(
    project_env: dict[str, str], combined: Path, tmp_path: Path
) -> None:
    (tmp_path / "plain_only.py").write_text(
        "from devserver.backends.threaded import ThreadedBackend\n\n\n"
        "class PlainOnlyBackend(ThreadedBackend):\n    name = 'plain-only'\n    serves_tls = False\n"
    )
    env = {**project_env, "PYTHONPATH": str(tmp_path)}
    arguments = ["127.0.0.1:0", "--noreload", "--backend", "plain_only.PlainOnlyBackend", "--cert-file", str(combined)]
    result = run_devrun(arguments, env)
    assert_one_line_error(result, 2, "The plain-only backend does not serve HTTPS", "--backend threaded or single")


# -- the CI features --------------------------------------------------------------------------


def test_check_speaks_https_and_verifies_the_certificate(project_env: dict[str, str], combined: Path) -> None:
    paths = ["/hello/", "/static/shop/site.css"]
    result = run_devrun(["--check", *paths, "--check-strict", "--cert-file", str(combined)], project_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Check passed: 2 paths (pass: status 2xx or 3xx)." in result.stdout
    assert '"GET /static/shop/site.css HTTP/1.1" 200' in result.stderr
    assert "TLS handshake" not in result.stderr
    assert "over HTTP, but it only serves HTTPS" not in result.stderr


def test_the_pytest_fixture_speaks_https(project_env: dict[str, str], tmp_path: Path) -> None:
    cert = tmp_path / "made.pem"
    write_suite(
        tmp_path,
        f"""\
        from pathlib import Path

        def test_https(devrun_factory):
            with devrun_factory("--cert-file", {str(cert)!r}, "--backend", "single") as server:
                assert server.url == f"https://127.0.0.1:{{server.port}}/"
                assert server.cert_file == Path({str(cert)!r})
                echo = server.get("/echo/").json()
                assert echo["is_secure"] is True
                assert server.get("/static/shop/site.css").body == Path({str(STATIC_CSS)!r}).read_bytes()
        """,
    )
    result, _ = run_suite(tmp_path, project_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
