"""Values the control API refuses up front, because storing them would break every later
response rather than the request that sent them: a mutator parameter of the wrong type (the
mutator fails while the next sign-in is built), a clock the datetime type cannot hold (every
``now()`` overflows), a user name no NameID or page can carry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

# A century either way covers any expiry, skew or "not yet valid" test; beyond it, adding a
# session lifetime or a mutator's shift to the clock overflows datetime (year 1..9999).
MAX_SHIFT_SECONDS = 100 * 366 * 24 * 3600
EARLIEST = dt.datetime(1971, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2999, 12, 31, tzinfo=dt.UTC)
MAX_PARAM_TEXT = 4096

# What the mutators in harness.protocol.saml.mutators read; any other parameter is text.
_INT_PARAMS = frozenset({"seconds"})
# Small counts and positions (entity-expansion, comment-in-name-id): the mutator bounds them.
_COUNT_PARAMS = frozenset({"levels", "width", "split"})
_BOOL_PARAMS = frozenset({"keep_assertion"})
_CHOICE_PARAMS = {"which": ("every", "assertion", "response")}


def mutator_param_problem(params: Mapping[str, object]) -> str | None:
    """Why these mutator parameters would fail at the next response, or None."""
    for name, value in params.items():
        if name in _INT_PARAMS:
            if isinstance(value, bool) or not isinstance(value, int):
                return f"parameter {name!r} must be an integer"
            if abs(value) > MAX_SHIFT_SECONDS:
                return f"parameter {name!r} must be within ±{MAX_SHIFT_SECONDS} (100 years)"
        elif name in _COUNT_PARAMS:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4096:
                return f"parameter {name!r} must be an integer from 0 to 4096"
        elif name in _BOOL_PARAMS:
            if not isinstance(value, bool):
                return f"parameter {name!r} must be true or false"
        elif not isinstance(value, str):
            return f"parameter {name!r} must be a string"
        elif len(value) > MAX_PARAM_TEXT:
            return f"parameter {name!r} is longer than {MAX_PARAM_TEXT} characters"
        elif name in _CHOICE_PARAMS and value not in _CHOICE_PARAMS[name]:
            return f"parameter {name!r} must be one of {', '.join(_CHOICE_PARAMS[name])}"
    return None


def clock_problem(offset_seconds: int | None, frozen_at: dt.datetime | None) -> str | None:
    """Why this clock setting would make ``now()`` unusable, or None."""
    if offset_seconds is not None and abs(offset_seconds) > MAX_SHIFT_SECONDS:
        return f"offset_seconds must be within ±{MAX_SHIFT_SECONDS} (100 years)"
    if frozen_at is not None:
        if frozen_at.tzinfo is None:
            return "frozen_at needs a time zone (e.g. Z)"
        if not EARLIEST <= frozen_at <= LATEST:
            return f"frozen_at must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"
    return None


def user_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a user name (it becomes a NameID, a form value, a SCIM userName)."""
    if name != name.strip():
        return "userName must not start or end with white space"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or 0x80 <= ord(ch) < 0xA0 for ch in name):
        return "userName must not hold control characters"
    if len(name) > 256:
        return "userName is at most 256 characters"
    return None
