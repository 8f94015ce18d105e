"""A stand-in for ``manage.py devrun`` under a supervisor, run as a script by the tests.

It speaks the control protocol, answers each connection on the inherited socket with one
JSON line about itself (then exits 3 after a ``restart`` request, 0 after ``exit0``), and
starts as the plan file (``FAKE_CHILD_PLAN``) says for the Nth process: ``serve``,
``crash``, ``crash-in-spare`` (only when it runs in a warm spare), ``killed``, ``usage``
(a bad setting: one line, exit 2), ``drain`` (serves, and exits 1 only at the second
SIGTERM, as a draining devrun forced to stop does), ``config`` (serves, after reporting a
0.5 s shutdown timeout) or ``unsettled`` (serves, but never says it settled). On a
``handover`` request it gives that connection, unanswered, to the supervisor and restarts;
it answers the connections the supervisor hands it in the same way.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from devserver.backends.adoption import HandedConnection
from devserver.reload.handover import ControlHandover, ControlReader, ControlWriter


def next_behaviour() -> tuple[int, str]:
    plan = Path(os.environ["FAKE_CHILD_PLAN"])
    document = json.loads(plan.read_text())
    number = document["started"] + 1
    document["started"] = number
    plan.write_text(json.dumps(document))
    behaviours: list[str] = document["behaviours"]
    return number, behaviours[min(number, len(behaviours)) - 1]


def crash(number: int) -> None:
    sys.stderr.write(
        f'Traceback (most recent call last):\n  File "fake_child.py", line 1\nRuntimeError: fake crash {number}\n'
    )
    sys.stderr.flush()
    sys.exit(1)


def about(number: int, spare: bool) -> bytes:
    facts = {
        "number": number,
        "spare": spare,
        "setup_spare": "devserver.reload.preload" in sys.modules,
        "pid": os.getpid(),
        "run_main": os.environ.get("RUN_MAIN"),
        "reason": os.environ.get("DEVSERVER_RELOAD_REASON"),
        "supervisor": os.environ.get("DEVSERVER_SUPERVISOR_PID"),
    }
    return json.dumps(facts).encode() + b"\n"


def adopt(control: socket.socket, answer: bytes) -> None:
    """Answer each connection the supervisor hands over."""
    reader = ControlReader(control)
    while (messages := reader.read()) is not None:
        for _, connection in messages:
            if connection is not None:
                with connection.sock:
                    connection.sock.sendall(answer)


def serve(number: int, spare: bool, behaviour: str = "serve") -> None:
    control = socket.socket(fileno=int(os.environ["DEVSERVER_CONTROL_FD"]))
    listener = socket.socket(fileno=int(os.environ["DEVSERVER_LISTEN_FD"]))
    listener.setblocking(True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    if behaviour == "drain":
        signal.signal(signal.SIGTERM, lambda signum, frame: signal.signal(signal.SIGTERM, lambda *_: os._exit(1)))
    writer = ControlWriter(control)
    if behaviour == "config":
        writer.send(b'{"event": "config", "config": {"shutdown_timeout": 0.5}, "spares": true}\n')
    writer.send(b'{"event": "ready", "adopts": true}\n')
    if behaviour != "unsettled":
        writer.send(b'{"event": "settled"}\n')  # no first response to wait for: spares may start
    threading.Thread(target=adopt, args=(control, about(number, spare)), daemon=True).start()
    restart = b'{"event": "restart", "reason": "app.py changed", "started": 0}\n'
    while True:
        connection, _ = listener.accept()
        with connection:
            request = connection.recv(1024)
            if request == b"handover":
                writer.send(restart)
                ControlHandover(writer).give(HandedConnection(connection, ("127.0.0.1", 1)))
                sys.exit(3)
            connection.sendall(about(number, spare))
        if request == b"restart":
            writer.send(restart)
            sys.exit(3)
        if request == b"exit0":
            sys.exit(0)


def set_up_django() -> None:
    """What ``manage.py`` does before any command runs (a ``setup`` spare pauses at its end)."""
    import django
    from django.conf import settings

    settings.configure()
    django.setup()


def main() -> None:
    set_up_django()
    spare = "devserver.reload.spare" in sys.modules
    number, behaviour = next_behaviour()
    if behaviour == "crash" or (behaviour == "crash-in-spare" and spare):
        crash(number)
    elif behaviour == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    elif behaviour == "usage":
        sys.stderr.write("CommandError: a bad setting\n")
        sys.exit(2)
    serve(number, spare, behaviour)


if __name__ == "__main__":
    main()
