"""The command line: exit statuses and one-line reasons (CONTRACT: 0 ok, 2 usage/config)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness import __version__, cli
from harness.cli import main
from harness.exit_codes import ExitCode


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sso-harness {__version__}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == ExitCode.USAGE
    assert "COMMAND" in capsys.readouterr().out


def test_unknown_option_is_a_usage_error() -> None:
    assert main(["sp", "--port", "not-a-port"]) == ExitCode.USAGE


def test_unusable_database_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    # --port 0: the database is opened after the port is bound, and 8001 may be busy
    assert main(["sp", "--port", "0", "--db", "nosuchdriver://x"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("sso-harness sp: cannot open the database")
    assert "Traceback" not in err


def test_python_dash_m_harness_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"sso-harness {__version__}"


@pytest.mark.parametrize(
    ("command", "status"),
    [
        (["list", "checks"], ExitCode.BROKEN_PIPE),
        (["list", "suites", "--json"], ExitCode.BROKEN_PIPE),
        # argparse ignores a failed write of its help, but the buffered text may meet the
        # closed pipe at the final flush instead, depending on how stdout is buffered
        (["--help"], None),
    ],
)
def test_a_reader_that_stops_early_ends_the_command_quietly(
    command: list[str], status: int | None
) -> None:
    # `sso-harness list checks | head`, made deterministic: the pipe's reading end is closed
    # before the command writes anything.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "harness", *command],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == status if status is not None else done.returncode in (0, 141)


def test_the_console_script_freezes_what_is_left_before_the_process_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The interpreter's last collection at exit walks every object left; frozen, they are
    # skipped. Only the console script freezes: main() returns into processes that go on.
    frozen: list[int] = []
    monkeypatch.setattr(cli.gc, "freeze", lambda: frozen.append(1))
    monkeypatch.setattr(sys, "argv", ["sso-harness", "--version"])
    assert main(["--version"]) == 0
    assert frozen == []
    assert cli.console_main() == 0
    assert frozen == [1]
