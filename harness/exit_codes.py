"""The exit status of every ``sso-harness`` command (shared/CONTRACT.md, "Commands").

One table for the engine's commands and the servers (``sp``, ``idp``, ``serve``): scripts and CI
pipelines branch on these numbers, so a command never invents one of its own.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # all checks passed (skips and warnings allowed); a server stopped cleanly
    CHECK_FAILED = 1  # a check failed; for `decode`, the core refuses the message
    USAGE = 2  # usage or configuration error, with a one-line reason on stderr
    HARNESS_ERROR = 3  # the harness itself errored: the run cannot be trusted
    # What a process killed by SIGPIPE reports (128 + 13), as `cat` or `yes` do under `| head`.
    BROKEN_PIPE = 141
