"""``python -m benchmarks.wslibs``: the two sans-I/O websocket libraries devrun could use, on the
server's per-message work (parse a masked client frame, build the echo frame), in-process.

Why devrun uses the ``websockets`` package's ``ServerProtocol`` and not ``wsproto``: this is the
measurement (``pip install wsproto`` to include it; neither is needed to serve).
"""

from __future__ import annotations

import importlib.util
import sys
import timeit
from collections.abc import Callable
from typing import Any, cast

MESSAGE = b"hello, echo! " * 2
HANDSHAKE = (
    b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def client_frame() -> bytes:
    from websockets.frames import Frame, Opcode

    return Frame(Opcode.TEXT, MESSAGE).serialize(mask=True, extensions=[])


def websockets_echo(frame: bytes) -> Callable[[], None]:
    from websockets.server import ServerProtocol

    protocol = ServerProtocol()
    protocol.receive_data(HANDSHAKE)
    protocol.send_response(protocol.accept(protocol.events_received()[0]))  # type: ignore[arg-type]
    protocol.data_to_send()

    def echo() -> None:
        protocol.receive_data(frame)
        for event in protocol.events_received():
            protocol.send_text(event.data)  # type: ignore[union-attr]
        protocol.data_to_send()

    return echo


def wsproto_echo(frame: bytes) -> Callable[[], None]:
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, TextMessage

    connection = WSConnection(ConnectionType.SERVER)
    connection.receive_data(HANDSHAKE)
    list(connection.events())
    connection.send(AcceptConnection())

    def echo() -> None:
        connection.receive_data(frame)
        for event in connection.events():
            connection.send(TextMessage(data=cast(Any, event).data))

    return echo


def main() -> int:
    frame = client_frame()
    candidates = {"websockets (ServerProtocol)": websockets_echo}
    if importlib.util.find_spec("wsproto") is not None:
        candidates["wsproto (WSConnection)"] = wsproto_echo
    for name, make in candidates.items():
        echo = make(frame)
        best = min(timeit.repeat(echo, number=20_000, repeat=5)) / 20_000
        print(f"{name:30} {best * 1e6:6.2f} µs per message (parse + echo frame)")
    if len(candidates) == 1:
        print("wsproto not installed: pip install wsproto to compare", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
