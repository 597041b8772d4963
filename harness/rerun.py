"""What a run was asked, and the command line that asks it again (printed by the console and
carried by the JSON report).

Every option that changes what runs or how it is judged is spelled out, defaults included for
the seed and the target, so the line still reproduces the run if a default changes later.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AskedOptions:
    """What the run was asked (CONTRACT "Run report": ``options``), so a report of a
    deliberately flawed or narrowed run cannot pass for a full, clean one and can be rerun.
    The seed and the target are the report's own fields."""

    paths: tuple[str, ...] = ()  # as given on the command line; () is every suite
    select: str = ""  # -k EXPR
    dialect: str | None = None
    sp_flaws: tuple[str, ...] = ()
    idp_flaws: tuple[str, ...] = ()
    workers: int = 1
    idp_target: str | None = None  # --idp-target FILE: a real IdP under test

    @property
    def flawed(self) -> bool:
        return bool(self.sp_flaws or self.idp_flaws)

    def to_json(self) -> dict[str, Any]:
        return {
            "paths": list(self.paths),
            "select": self.select,
            "dialect": self.dialect,
            "sp_flaws": list(self.sp_flaws),
            "idp_flaws": list(self.idp_flaws),
            "workers": self.workers,
            "idp_target": self.idp_target,
        }


def rerun_command(options: AskedOptions, seed: int, target: str) -> str:
    """``sso-harness run ...`` reproducing the run, quoted for a POSIX shell."""
    words = ["sso-harness", "run", "--target", target, "--seed", str(seed)]
    if options.idp_target:
        words += ["--idp-target", options.idp_target]
    if options.dialect:
        words += ["--dialect", options.dialect]
    if options.select:
        words += ["-k", options.select]
    for flaw in options.sp_flaws:
        words += ["--sp-flaw", flaw]
    for flaw in options.idp_flaws:
        words += ["--idp-flaw", flaw]
    if options.workers > 1:
        words += ["--workers", str(options.workers)]
    if any(path.startswith("-") for path in options.paths):
        words.append("--")  # a path like "-odd.yaml" must not be read as an option
    words += options.paths
    return shlex.join(words)
