"""Hypothesis draws that depend on the state machine alone, not on the source around it.

Since 6.131, hypothesis draws about one value in twenty from the literals it finds in the
source of "local" modules: every loaded module outside site-packages and the standard library.
For the lifecycle property that made the lifecycles a run draws depend on how sso-harness was
installed (from a checkout with ``pip install -e`` its own modules are local; from a wheel they
are not), on the user's own modules loaded beside it, and on any literal changed anywhere in
the project: the same command drew other lifecycles on a developer's machine than in CI. It also
parsed every such module on the first run (about half a second) and wrote
``.hypothesis/constants/`` into the user's working directory.

``seeded_draws()`` turns that source off for the duration of a run and restores it after: the
pytest plugin may share its process with the user's own hypothesis tests, which keep it. On a
hypothesis without it, there is nothing to turn off.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def seeded_draws() -> Iterator[None]:
    providers: Any = importlib.import_module("hypothesis.internal.conjecture.providers")
    collect = getattr(providers, "_get_local_constants", None)
    if collect is None:
        yield
        return
    nothing = providers.Constants()
    providers._get_local_constants = lambda: nothing
    # The permitted constants per kind of draw are cached across runs: forget those found
    # before (and, on the way out, those computed without any).
    _forget_permitted_constants(providers)
    try:
        yield
    finally:
        providers._get_local_constants = collect
        _forget_permitted_constants(providers)


def _forget_permitted_constants(providers: Any) -> None:
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    if isinstance(cache, dict):
        cache.clear()
