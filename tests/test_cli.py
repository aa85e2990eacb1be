"""Shell habits: --help everywhere, exit codes that mean something."""

import pytest

from hpinit_k8s.cli import build_parser, main

COMMANDS = ["validate", "run", "collect", "seeds", "report", "render", "submit", "status", "delete"]


def test_every_command_is_listed():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert sorted(subparsers.choices) == sorted(COMMANDS)


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_exits_0(command, capsys):
    with pytest.raises(SystemExit) as raised:
        main([command, "--help"] if command else ["--help"])
    assert raised.value.code == 0 and "usage: hpinit" in capsys.readouterr().out


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["run"])
    assert raised.value.code == 2 and "SPEC" in capsys.readouterr().err
