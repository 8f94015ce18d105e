"""Keep-alive connections across reloads: the old child hands its idle connections (and what
it read of the next request) to the supervisor, which gives them to the next child.

Real edits in a copy of the test project, real clients; every wait is on a condition with a
deadline.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable

from .procnet import LISTEN, descriptor_count, tcp_sockets, unread_bytes
from .rawclient import RawClient
from .test_reload import DEADLINE, Reloading, children_of, edit, needs_proc

Start = Callable[..., Reloading]


def get_on(connection: http.client.HTTPConnection, path: str = "/hello/") -> tuple[int, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def reload_with(project: Reloading, old: str, new: str) -> None:
    """Edit the hello view and wait until the new child says it serves."""
    mark = project.mark()
    edit(project.views, f'"{old}"', f'"{new}"')
    project.wait_for_reload(mark)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        threading.Event().wait(0.02)  # polling /proc: nothing to wait on


def test_an_idle_keep_alive_connection_survives_20_reloads(start_reloading: Start, backend_name: str) -> None:
    project = start_reloading("--backend", backend_name)
    connection = http.client.HTTPConnection(project.server.host, project.server.port, timeout=DEADLINE)
    try:
        assert get_on(connection) == (200, b"Hello, world!")
        sock = connection.sock
        text = "Hello, world!"
        for number in range(20):
            new = f"Hello, reload {number}!"
            reload_with(project, text, new)  # the connection sits idle while its child restarts
            assert get_on(connection) == (200, new.encode())  # served by the new code...
            assert connection.sock is sock  # ...on the very same TCP connection
            text = new
    finally:
        connection.close()


def test_a_client_busy_on_one_connection_sees_no_error_across_reloads(
    start_reloading: Start, backend_name: str
) -> None:
    project = start_reloading("--backend", backend_name)
    answers: list[tuple[int, bytes]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def hammer() -> None:
        connection = http.client.HTTPConnection(project.server.host, project.server.port, timeout=DEADLINE)
        try:
            while not stop.is_set():
                try:
                    answers.append(get_on(connection))
                except (OSError, http.client.HTTPException) as error:
                    failures.append(error)
                    connection.close()
        finally:
            connection.close()

    client = threading.Thread(target=hammer)
    client.start()
    try:
        text = "Hello, world!"
        for number in range(5):
            new = f"Hello, busy {number}!"
            reload_with(project, text, new)
            expected = (200, new.encode())
            wait_until(lambda: expected in answers[-3:], f"{new!r} served")  # noqa: B023 (used at once)
            text = new
    finally:
        stop.set()
        client.join(DEADLINE)
    assert failures == []
    assert {status for status, _ in answers} == {200}


@needs_proc
def test_a_request_head_split_around_a_reload_travels_with_its_connection(
    start_reloading: Start, backend_name: str
) -> None:
    project = start_reloading("--backend", backend_name)
    with RawClient.to(project.server, timeout=DEADLINE) as client:
        client.send(b"GET /hello/ HTTP/1.1\r\n")
        client_port = client.sock.getsockname()[1]
        wait_until(lambda: unread_bytes(project.server.port, client_port) == 0, "the old child read the first part")
        reload_with(project, "Hello, world!", "Hello, split!")
        client.send(b"Host: 127.0.0.1\r\n\r\n")
        response = client.read_response()
        assert (response.status, response.body) == (200, b"Hello, split!")  # one request, whole, once
        assert not response.closes
        client.send(b"GET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert client.read_response().body == b"Hello, split!"  # nothing left over or doubled


def test_a_pipelined_request_behind_a_slow_one_is_answered_across_a_reload(
    start_reloading: Start, backend_name: str
) -> None:
    project = start_reloading("--backend", backend_name)
    with RawClient.to(project.server, timeout=DEADLINE) as client:
        mark = project.mark()
        client.send(
            b"GET /slow/?seconds=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        )
        project.server.wait_for_line(lambda line: "slow view: sleeping" in line, DEADLINE, start=mark)
        edit(project.views, '"Hello, world!"', '"Hello, pipelined!"')
        slow = client.read_response()
        pipelined = client.read_response()
        assert (slow.status, slow.body) == (200, b"slept 1.0")
        assert pipelined.status == 200
        assert pipelined.body in (b"Hello, world!", b"Hello, pipelined!")
        if pipelined.closes:  # answered by the old child as it stopped
            client.assert_closed()


def test_the_single_backends_waiting_connections_go_to_the_next_child(start_reloading: Start) -> None:
    project = start_reloading("--backend", "single")
    with RawClient.to(project.server, timeout=DEADLINE) as slow, RawClient.to(project.server) as waiting:
        mark = project.mark()
        slow.send(b"GET /slow/?seconds=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        project.server.wait_for_line(lambda line: "slow view: sleeping" in line, DEADLINE, start=mark)
        waiting.send(b"GET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # its turn comes after /slow/
        reload_with(project, "Hello, world!", "Hello, next child!")
        assert slow.read_response().body == b"slept 1.0"  # the old child finished what it had begun
        assert waiting.read_response().body == b"Hello, next child!"
        slow.send(b"GET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # and then gave the connection away
        assert slow.read_response().body == b"Hello, next child!"


def test_held_connections_get_the_error_page_after_a_crash_or_the_next_child_after_the_fix(
    start_reloading: Start, backend_name: str
) -> None:
    project = start_reloading("--backend", backend_name)
    first = http.client.HTTPConnection(project.server.host, project.server.port, timeout=DEADLINE)
    second = http.client.HTTPConnection(project.server.host, project.server.port, timeout=DEADLINE)
    try:
        assert get_on(first)[0] == get_on(second)[0] == 200
        original = project.views.read_text()
        project.views.write_text(original + "\nbroken = (\n")
        project.server.wait_for_line(lambda line: "exited with status 1" in line, DEADLINE)
        status, page = get_on(first)  # it was held by the supervisor: the error page answers it
        assert status == 500
        assert b"SyntaxError" in page
        mark = project.mark()
        project.views.write_text(original.replace('"Hello, world!"', '"Hello, fixed!"'))
        project.wait_for_reload(mark)
        sock = second.sock
        assert get_on(second) == (200, b"Hello, fixed!")  # silent all along: it went to the fixed child
        assert second.sock is sock
    finally:
        first.close()
        second.close()


@needs_proc
def test_the_supervisor_keeps_no_connection_or_descriptor_after_many_reloads(
    start_reloading: Start, backend_name: str
) -> None:
    project = start_reloading("--backend", backend_name)
    supervisor = project.server.pid
    project.pid()
    wait_until(lambda: len(children_of(supervisor)) == 2, "a child and a warm spare")
    baseline = descriptor_count(supervisor)
    connections = [
        http.client.HTTPConnection(project.server.host, project.server.port, timeout=DEADLINE) for _ in range(3)
    ]
    try:
        text = "Hello, world!"
        for number in range(10):
            for connection in connections:
                assert get_on(connection)[1] == text.encode()
            new = f"Hello, leak {number}!"
            reload_with(project, text, new)
            text = new
        for connection in connections:
            assert get_on(connection) == (200, text.encode())
        assert tcp_sockets(supervisor) == [LISTEN]  # every handed connection went on, none stayed

        def settled() -> bool:
            # <=: the baseline may include a spawn's passing pipes; a leak over 10 reloads would exceed it
            return len(children_of(supervisor)) == 2 and descriptor_count(supervisor) <= baseline

        wait_until(settled, f"at most {baseline} descriptors in the supervisor")
    finally:
        for connection in connections:
            connection.close()


def test_no_process_leaves_a_socket_unclosed_across_hand_overs(start_reloading: Start, backend_name: str) -> None:
    project = start_reloading("--backend", backend_name, env={"PYTHONWARNINGS": "always::ResourceWarning"})
    connections = [
        http.client.HTTPConnection(project.server.host, project.server.port, timeout=DEADLINE) for _ in range(3)
    ]
    try:
        text = "Hello, world!"
        for number in range(3):
            for connection in connections:
                assert get_on(connection)[1] == text.encode()
            new = f"Hello, tidy {number}!"
            reload_with(project, text, new)
            text = new
        original = project.views.read_text()
        project.views.write_text(original + "\nbroken = (\n")  # held, then given to the error page
        project.server.wait_for_line(lambda line: "exited with status 1" in line, DEADLINE)
        assert get_on(connections[0])[0] == 500
        mark = project.mark()
        project.views.write_text(original)  # the silent ones go to the fixed child
        project.wait_for_reload(mark)
        for connection in connections[1:]:
            assert get_on(connection) == (200, text.encode())
    finally:
        for connection in connections:
            connection.close()
    assert project.server.stop() == 0
    assert "ResourceWarning" not in project.server.output()
