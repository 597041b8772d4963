"""Rule patterns (``re:...``) that cannot stall the IdP.

Python's ``re`` backtracks: ``^(a+)+$`` against 40 ``a`` and a ``!`` takes longer than anyone
waits, and every sign-in runs the rules on the event loop. The standard library has no match
timeout, so a pattern is admitted only when its worst case stays polynomial and small:
no backreferences or conditionals, no repeat of something that itself repeats or branches
(the exponential case), at most MAX_OPEN_REPEATS variable repeats (each one multiplies the
work by the text length), and the text matched is at most MAX_MATCH_TEXT characters (a longer
value never matches a ``re:`` pattern). Worst case admitted: ~3 ms (``a*a*a*b`` over 256 chars).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from .refusals import UnsafePatternError

MAX_PATTERN = 512
MAX_MATCH_TEXT = 256
MAX_OPEN_REPEATS = 3

# The standard library's own regex parser: what re.compile will build, so no hand-written
# tokenizer can disagree with it about escapes, classes or groups. Private, hence imported by
# name (the public sre_parse alias warns since 3.11).
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT)}
_BACKREFS = {_c.GROUPREF, _c.GROUPREF_EXISTS, getattr(_c, "GROUPREF_IGNORE", _c.GROUPREF)}


def _children(op: Any, av: Any) -> list[Any]:
    """The sub-patterns directly inside one parsed item."""
    if op is _c.SUBPATTERN:
        return [av[-1]]
    if op is _c.BRANCH:
        return list(av[1])
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return [av[1]]
    if op in _REPEATS:
        return [av[2]]
    if op is getattr(_c, "ATOMIC_GROUP", None):
        return [av]
    return []


def _walk(items: Any, inside_repeat: bool) -> int:
    """The number of variable repeats in ``items``; UnsafePatternError for an unsafe shape."""
    count = 0
    for op, av in items:
        if op in _BACKREFS:
            raise UnsafePatternError("backreferences and conditionals are not allowed")
        repeats = op in _REPEATS and av[1] > 1
        if inside_repeat and (repeats or op is _c.BRANCH):
            raise UnsafePatternError(
                "a repeated group may not itself repeat or branch (nested quantifiers "
                "backtrack exponentially); write e.g. [ab]+ instead of (a+|b)+"
            )
        if repeats and av[0] != av[1]:
            count += 1
        for child in _children(op, av):
            count += _walk(child, inside_repeat or repeats)
    return count


def check_pattern(expression: str) -> re.Pattern[str]:
    """The compiled expression, or UnsafePatternError / re.error saying why not."""
    if len(expression) > MAX_PATTERN:
        raise UnsafePatternError(f"a pattern is at most {MAX_PATTERN} characters")
    compiled = re.compile(expression)  # re.error for a malformed one
    if _walk(_parser.parse(expression), inside_repeat=False) > MAX_OPEN_REPEATS:
        raise UnsafePatternError(
            f"at most {MAX_OPEN_REPEATS} variable repeats (*, +, {{m,n}}) per pattern"
        )
    return compiled
