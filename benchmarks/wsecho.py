"""``python -m benchmarks.wsecho URL``: websocket echo round trips per second, as one JSON line.

Each of ``--connections`` websockets keeps one message in flight: send, wait for the echo, send
the next, for ``--duration`` seconds, all on one thread with ``selectors``. The handshake is the
``websockets`` package's sans-I/O client; then, so that the client costs far less than the
server it measures, the message frame is built once (one mask key for every frame: fine on
loopback, not on the open internet) and each echo is checked by comparing bytes with the frame
the server must send. The benchmark runs it pinned to its own core.
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket
import sys
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Origin
from websockets.uri import parse_uri

MESSAGE = b"hello, echo! " * 2  # 26 bytes: a chat message, not a bulk transfer
REQUEST_FRAME = Frame(Opcode.TEXT, MESSAGE).serialize(mask=True, extensions=[])
REPLY_FRAME = Frame(Opcode.TEXT, MESSAGE).serialize(mask=False, extensions=[])


class EchoConnection:
    """One websocket with at most one message in flight."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # An Origin as a browser sends it: Channels' AllowedHostsOriginValidator refuses none.
        origin = Origin(f"http://{parts.hostname}:{parts.port}")
        self.protocol = ClientProtocol(parse_uri(url), origin=origin)
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while self.protocol.state is not State.OPEN:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the connection during the handshake")
            self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                if isinstance(event, Response) and event.status_code != 101:
                    raise ConnectionError(f"handshake refused: {event.status_code}")
        self.sock.setblocking(False)
        self.buffer = bytearray()
        self.round_trips = 0
        self.sent_at = 0.0
        self.latencies: list[float] = []

    def send(self) -> None:
        self.sent_at = time.perf_counter()
        self.sock.send(REQUEST_FRAME)  # tiny: always taken whole by the kernel

    def receive(self) -> bool:
        """Read what arrived; True when a whole echo came back (and matched)."""
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data
        if len(self.buffer) < len(REPLY_FRAME):
            return False
        if self.buffer[: len(REPLY_FRAME)] != REPLY_FRAME:
            raise AssertionError(f"unexpected frame from the server: {bytes(self.buffer[:60])!r}")
        del self.buffer[: len(REPLY_FRAME)]
        self.round_trips += 1
        self.latencies.append(time.perf_counter() - self.sent_at)
        return True

    def close(self) -> None:
        try:
            self.sock.setblocking(True)
            if self.protocol.state is State.OPEN:
                self.protocol.send_close(1000)
                self._flush()
        except OSError:
            pass
        finally:
            self.sock.close()

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)


def run(url: str, connections: int, duration: float, timeout: float = 10.0) -> dict[str, float]:
    clients = [EchoConnection(url, timeout) for _ in range(connections)]
    try:
        with selectors.DefaultSelector() as selector:
            for client in clients:
                selector.register(client.sock, selectors.EVENT_READ, client)
                client.send()
            started = time.perf_counter()
            deadline = started + duration
            while (now := time.perf_counter()) < deadline:
                ready = selector.select(min(timeout, deadline - now))
                if not ready and now - started > timeout:
                    raise TimeoutError("no echo for a while")
                for key, _ in ready:
                    client = key.data
                    if client.receive():
                        client.send()
            elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            client.close()
    total = sum(client.round_trips for client in clients)
    latencies = sorted(latency for client in clients for latency in client.latencies)
    return {
        "round_trips": total,
        "seconds": elapsed,
        "round_trips_per_second": total / elapsed if elapsed else 0.0,
        "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.wsecho", description=__doc__)
    parser.add_argument("url", help="ws://127.0.0.1:PORT/ws/echo/")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0)
    options = parser.parse_args(argv)
    try:
        result = run(options.url, options.connections, options.duration)
    except (OSError, AssertionError) as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
