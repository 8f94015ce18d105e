"""The launcher's own decisions, without starting anything (its behaviour end to end is in
tests/e2e/test_launcher.py and test_broken_at_launch.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from devserver import launcher
from devserver.launcher import LAUNCH_ENV, Launch, devrun_parser, split_manage_option
from devserver.management.commands.devrun import Command
from devserver.reload.process import interpreter_prefix


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def test_the_parser_takes_exactly_devruns_options() -> None:
    devrun = Command().create_parser("manage.py", "devrun")
    handed_over = devrun_parser(Launch("manage.py runserver", [], [], [], Path()))
    standalone = devrun_parser(Launch.standalone([], "python -m devserver"))
    assert option_strings(handed_over) == option_strings(devrun)
    assert option_strings(standalone) == option_strings(devrun) | {"--manage"}


def test_the_parser_gives_devruns_defaults() -> None:
    arguments = ["8000", "--reload-include", "*.html", "--shutdown-timeout", "2", "-v", "2"]
    devrun = vars(Command().create_parser("manage.py", "devrun").parse_args(arguments))
    ours = vars(devrun_parser(Launch("x", [], [], [], Path())).parse_args(arguments))
    assert ours == devrun


def test_the_default_address_is_runservers() -> None:
    assert (
        Command.default_addr,
        Command.default_addr_ipv6,
        str(Command.default_port),
    ) == (launcher.DEFAULT_ADDR, launcher.DEFAULT_ADDR_IPV6, launcher.DEFAULT_PORT)


@pytest.mark.parametrize(
    ("argv", "manage", "rest"),
    [
        (["8000"], None, ["8000"]),
        (["--manage", "site/manage.py", "8000", "--noreload"], "site/manage.py", ["8000", "--noreload"]),
        (["8000", "--manage=site/manage.py", "--check", "/"], "site/manage.py", ["8000", "--check", "/"]),
        (["--reload-dir", "lib", "--man", "m.py"], "m.py", ["--reload-dir", "lib"]),
    ],
)
def test_manage_is_ours_and_the_rest_is_devruns_in_order(argv: list[str], manage: str | None, rest: list[str]) -> None:
    assert split_manage_option(argv) == (manage, rest)


def test_a_standalone_launch_runs_manage_py_devrun_here(tmp_path: Path) -> None:
    launch = Launch.standalone(["--manage", str(tmp_path / "manage.py"), "8000"], "devrun")
    assert launch.child == [*interpreter_prefix(), str(tmp_path / "manage.py"), "devrun", "8000"]
    assert launch.direct == launch.child
    assert launch.project == tmp_path
    assert Launch.standalone([], "devrun").project == Path.cwd()


def test_a_hand_over_travels_in_the_environment_without_the_manage_path() -> None:
    launch = Launch(
        prog="manage.py runserver",
        arguments=["8000", "--reload-dir", "a b"],
        child=[sys.executable, "manage.py", "devrun", "8000", "--reload-dir", "a b"],
        direct=[sys.executable, "manage.py", "runserver", "8000", "--reload-dir", "a b"],
        project=Path("/srv/site"),
    )
    environ = launch.to_environ()
    assert list(environ) == [LAUNCH_ENV]
    assert Launch.from_environ(environ) == launch
    assert Launch.from_environ({}) is None
