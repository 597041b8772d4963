"""The scenario file's own text at a failing step, so a reader sees which YAML line failed."""

from __future__ import annotations

import functools
from pathlib import Path

from harness.results import CheckResult

_MAX_FILE = 1_000_000  # a scenario file is small; anything bigger is not one worth quoting


@functools.lru_cache(maxsize=64)
def _read(path: str, mtime_ns: int) -> tuple[str, ...]:
    # Keyed by the modification time too: a file edited between two runs of one process (the
    # pytest plugin, a test) is read again.
    try:
        with open(path, encoding="utf-8", errors="replace") as source:
            return tuple(source.read(_MAX_FILE).splitlines())
    except OSError:  # moved or deleted since the run: the report still renders, without it
        return ()


def _lines(path: str) -> tuple[str, ...]:
    try:
        mtime_ns = Path(path).stat().st_mtime_ns
    except OSError:
        return ()
    return _read(path, mtime_ns)


def location(result: CheckResult) -> str:
    """``file:line`` of the step that ran the check, as far as it is known."""
    if result.path and result.line:
        return f"{result.path}:{result.line}"
    if result.path:
        return result.path
    return f"line {result.line}" if result.line else ""


def step_text(result: CheckResult) -> str | None:
    """The scenario file's line of the step (stripped), or None when unknown or unreadable."""
    if not result.path or not result.line or result.line < 1:
        return None
    lines = _lines(result.path)
    if result.line > len(lines):
        return None
    return lines[result.line - 1].strip() or None
