"""A stand-in for ``manage.py devrun`` under a supervisor, run as a script by the tests.

It speaks the control protocol, answers each connection on the inherited socket with one
JSON line about itself (then exits 3 after a ``restart`` request, 0 after ``exit0``), and
starts as the plan file (``FAKE_CHILD_PLAN``) says for the Nth process: ``serve``,
``crash``, ``crash-in-spare`` (only when it runs in a warm spare) or ``killed``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from pathlib import Path


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


def serve(number: int, spare: bool) -> None:
    control = socket.socket(fileno=int(os.environ["DEVSERVER_CONTROL_FD"]))
    listener = socket.socket(fileno=int(os.environ["DEVSERVER_LISTEN_FD"]))
    listener.setblocking(True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    control.sendall(b'{"event": "ready"}\n')
    while True:
        connection, _ = listener.accept()
        with connection:
            request = connection.recv(1024)
            about = {
                "number": number,
                "spare": spare,
                "setup_spare": "devserver.reload.preload" in sys.modules,
                "pid": os.getpid(),
                "run_main": os.environ.get("RUN_MAIN"),
                "reason": os.environ.get("DEVSERVER_RELOAD_REASON"),
                "supervisor": os.environ.get("DEVSERVER_SUPERVISOR_PID"),
            }
            connection.sendall(json.dumps(about).encode() + b"\n")
        if request == b"restart":
            control.sendall(b'{"event": "restart", "reason": "app.py changed", "started": 0}\n')
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
    serve(number, spare)


if __name__ == "__main__":
    main()
