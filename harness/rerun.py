"""The command line that reproduces a run, printed by the console and carried by the JSON report.

Every option that changes what runs or how it is judged is spelled out, defaults included for
the seed and the target, so the line still reproduces the run if a default changes later.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # results.py imports this module: only the type, to avoid a cycle
    from harness.results import AskedOptions


def rerun_command(options: AskedOptions, seed: int, target: str) -> str:
    """``sso-harness run ...`` reproducing the run, quoted for a POSIX shell."""
    words = ["sso-harness", "run", "--target", target, "--seed", str(seed)]
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
