"""Where the built-in suites are: ``scenarios/`` in the current folder (a checkout), else the
copy installed with the package (``share/sso-harness/scenarios`` under the environment)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import harness

SUITES_FOLDER = "scenarios"


def _candidate_roots() -> tuple[Path, ...]:
    return (
        Path.cwd() / SUITES_FOLDER,
        Path(harness.__file__).resolve().parent.parent / SUITES_FOLDER,
        Path(sys.prefix) / "share" / "sso-harness" / SUITES_FOLDER,
    )


def default_roots() -> list[Path]:
    candidates = _candidate_roots()
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*/*.yaml")):
            return [candidate]
    return [candidates[0]]


def resolve_paths(paths: Sequence[str | Path]) -> list[Path]:
    """The scenario files and suite folders ``sso-harness run PATH ...`` means.

    No path: the default roots. A path that exists is taken as given. A relative one that does
    not is looked up among the built-in suites, so the README's ``scenarios/deprovisioning`` and
    a bare suite name (``deprovisioning``, ``deprovisioning/x.yaml``) work outside a checkout
    too. One found nowhere stays as given, for the loader to report as missing.
    """
    if not paths:
        return default_roots()
    return [_resolve(Path(path)) for path in paths]


def _resolve(path: Path) -> Path:
    if path.exists() or path.is_absolute():
        return path
    inside_suites = path.parts[1:] if path.parts[:1] == (SUITES_FOLDER,) else path.parts
    if not inside_suites:
        return path
    for root in _candidate_roots():
        installed = root.joinpath(*inside_suites)
        if installed.exists():
            return installed
    return path
