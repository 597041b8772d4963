"""Where the built-in suites are: ``scenarios/`` in the current folder (a checkout), else the
copy installed with the package (``share/sso-harness/scenarios`` under the environment)."""

from __future__ import annotations

import sys
from pathlib import Path

import harness


def default_roots() -> list[Path]:
    candidates = (
        Path.cwd() / "scenarios",
        Path(harness.__file__).resolve().parent.parent / "scenarios",
        Path(sys.prefix) / "share" / "sso-harness" / "scenarios",
    )
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*/*.yaml")):
            return [candidate]
    return [candidates[0]]
