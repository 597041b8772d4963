"""Decoding a SCIM request body (RFC 7644 §3.1: JSON, UTF-8) into values the rest of the code
can hold without surprises.

``json.loads`` alone accepts things that later fail deep inside the server, where they would be
our 500 rather than the peer's 400: integers of thousands of digits (Python refuses to convert
more than 4,300, and a float cannot hold more than 308), ``NaN`` and ``Infinity`` (not JSON),
nesting deep enough to exhaust the stack of any recursive walk, NUL characters (PostgreSQL's
text cannot hold them) and lone surrogates (UTF-8 cannot encode them). Each is refused here,
once, before anything reads the body.
"""

from __future__ import annotations

import json
import math
from typing import Any

from harness.protocol.scim import errors

# The deepest SCIM document is a Bulk operation holding a resource with an extension's complex
# attribute (Operations / op / data / extension / manager / value): 6 levels. Room to spare,
# yet far from the interpreter's recursion limit for every recursive walk downstream.
MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 300  # beyond that a number has no float value (1e308)


class _RefusedError(ValueError):
    """A literal json.loads must not turn into a value; carries the peer-facing reason."""


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _RefusedError(f"an integer of more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _RefusedError(f"the number {text[:40]} is out of range")
    return number


def _parse_constant(name: str) -> Any:
    raise _RefusedError(f"{name} is not JSON")


def parse_body(raw: bytes) -> Any:
    """The JSON value of ``raw``, or a 400 SCIM error: invalidSyntax when it is not JSON or is
    nested too deeply, invalidValue for a value no attribute can hold."""
    try:
        value = json.loads(
            raw,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except _RefusedError as exc:
        raise errors.invalid_value(f"the body holds {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.invalid_syntax(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise errors.invalid_syntax("the JSON body is nested too deeply") from None
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """Refuse nesting beyond MAX_DEPTH and strings no database column can hold. Iterative, so
    that it never is the recursion it guards against."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                raise errors.invalid_syntax(f"the JSON body is nested deeper than {MAX_DEPTH}")
            for key, child in item.items():
                _check_string(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                raise errors.invalid_syntax(f"the JSON body is nested deeper than {MAX_DEPTH}")
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_string(item)


def _check_string(text: str) -> None:
    if "\x00" in text:
        raise errors.invalid_value("a string holds a NUL character (U+0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.invalid_value("a string holds a lone surrogate, not Unicode text") from None
