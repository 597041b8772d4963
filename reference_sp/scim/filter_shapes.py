"""The shape of a one-comparison filter, known from its text without parsing it.

IdPs look a user up before each create and update with the same filter, only the string
differing: Entra ID and Okta send ``userName eq "..."`` (or ``externalId``, ``displayName`` for
groups). Parsing, resolving against the schema and parametrising such a filter cost more than
running its query. A filter whose whole text is one attribute path, one operator and one plain
string in double quotes (no escape, no control character) has, once one such text of the same
path and operator has been parsed, a known shape: that one's, with the string as its only
literal. The first text of a path and operator is parsed in full; its shape is kept only if a
second, different string gives the same shape and comes back unchanged as the literal (a
dateTime attribute, whose strings are checked and normalised, never is). Every other filter
(another form, a string with an escape, a text the full parse refuses) is parsed in full each
time, so refusals stay exactly as they were.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from harness.protocol.scim import errors
from harness.protocol.scim.filter import MAX_FILTER_LENGTH, Filter
from harness.protocol.scim.schema import ResourceType

# The tokenizer's spaces only (not every Unicode space), an ASCII attribute path, a two-letter
# operator word, a JSON string with nothing its decoding would change.
_ONE_COMPARISON = re.compile(
    r"[ \t\r\n]*([A-Za-z][A-Za-z0-9_.:$-]*)[ \t\r\n]+([A-Za-z]{2})[ \t\r\n]+"
    r'"([^"\\\x00-\x1f\ud800-\udfff]*)"[ \t\r\n]*'
)
_MAX_KNOWN = 256  # shapes kept: paths and operators of the schema, in the cases IdPs write them

Parametrise = Callable[[str, ResourceType, list[Any]], Filter]


class KnownShapes:
    """Shapes of one-comparison filters by resource type, path text and operator text, shared
    by the planners of a process (``reference_sp.scim.query``)."""

    def __init__(self) -> None:
        self._shapes: dict[tuple[str, str, str], Filter] = {}
        self._lock = threading.Lock()

    def shape(
        self, text: str, rt: ResourceType, parametrise: Parametrise, values: list[Any]
    ) -> Filter:
        """``text``'s shape, its literals appended to ``values``: known, or from
        ``parametrise`` (the full parse, which raises what it refuses)."""
        one = _ONE_COMPARISON.fullmatch(text) if len(text) <= MAX_FILTER_LENGTH else None
        if one is None:
            return parametrise(text, rt, values)
        path, op, string = one.groups()
        key = (rt.name, path, op)
        known = self._shapes.get(key)
        if known is not None:
            values.append(string)
            return known
        shape = parametrise(text, rt, values)
        if values == [string] and _same_for_another(shape, path, op, string, rt, parametrise):
            with self._lock:
                if len(self._shapes) >= _MAX_KNOWN:
                    self._shapes.clear()
                self._shapes[key] = shape
        return shape


def _same_for_another(
    shape: Filter, path: str, op: str, string: str, rt: ResourceType, parametrise: Parametrise
) -> bool:
    other = "shape" if string != "shape" else "other"
    values: list[Any] = []
    try:
        again = parametrise(f'{path} {op} "{other}"', rt, values)
    except errors.ScimError:
        return False
    return again == shape and values == [other]
