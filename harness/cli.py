"""The ``sso-harness`` command line: arguments in, exit status out.

Exit status: ``harness.exit_codes`` (0 success, 1 a check failed, 2 usage or configuration
error, 3 the harness itself errored). Each component owns its own sub-command module
(``reference_sp.cli``, ``mock_idp.cli``); this module only dispatches, importing a
component when its command runs so that ``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Protocol

from harness import __version__
from harness.exit_codes import ExitCode


class _CommandModule(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


# sub-command name -> (module implementing it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("harness.commands.run_cmd", "run scenario suites against an SP and report checks"),
    "list": ("harness.commands.list_cmd", "list suites, checks, flaws or dialects"),
    "target": ("harness.commands.target_cmd", "check that a target file describes a usable SP"),
    "decode": ("harness.commands.decode_cmd", "decode a SAML message and say what the core thinks"),
    "diff": ("harness.commands.diff_cmd", "compare two SAML messages field by field"),
    "replay": (
        "harness.commands.replay_cmd",
        "replay a captured SAML response against an SP, re-signed by the mock IdP",
    ),
    "sp": (
        "reference_sp.cli",
        "serve the reference SP (strict SAML SP, SCIM 2.0 server, business rules)",
    ),
    "idp": ("mock_idp.cli", "serve the mock IdP (scriptable SAML IdP)"),
    "serve": ("harness.serve", "serve the reference SP and the mock IdP, wired and provisioned"),
    "load": (
        "harness.commands.load_cmd",
        "load an SP on Locust: employees signing in, activating devices, SCIM provisioning",
    ),
}


def _load(module_name: str) -> _CommandModule:
    module: _CommandModule = importlib.import_module(module_name)
    return module


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sso-harness",
        description="Conformance harness, mock IdP and reference SP for SAML 2.0 and SCIM 2.0.",
    )
    parser.add_argument("--version", action="version", version=f"sso-harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        # Only the command being run imports its component; `--help` lists them all cheaply.
        if name == wanted:
            _load(module_name).add_arguments(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. A reader that stops early (`sso-harness list checks | head`) ends it
    quietly: Python ignores SIGPIPE (which would also kill the servers on a closed client
    socket), so the closed pipe arrives as BrokenPipeError, here for every command."""
    try:
        status = _main(argv)
        sys.stdout.flush()  # the last buffered output meets a closed pipe here, not at exit
    except BrokenPipeError:
        # Python flushes stdout again at exit; pointing it at /dev/null keeps that quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return ExitCode.BROKEN_PIPE
    return status


def console_main() -> int:
    """``sso-harness`` and ``python -m harness``: :func:`main`, after which the process ends.
    What is left is frozen out of the garbage collector first: the interpreter's last full
    collection at exit walked every object of a run (0.2 to 0.35 s after every suite), for
    memory the operating system takes back anyway. Not in :func:`main`, which tests and
    embedding programs call in a process that goes on."""
    status = main()
    gc.freeze()
    return status


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return ExitCode.USAGE
    module_name, _ = COMMANDS[args.command]
    return _load(module_name).run(args)
