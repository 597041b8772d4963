"""Attribute values checked and normalised against their definitions (RFC 7643 §2.3, §2.4).

``coerce`` returns the value to store, or None for "unassigned": null, ``[]`` and a complex value
whose sub-attributes are all null are one state (RFC 7643 §2.5). Anything of the wrong type is a
400 invalidValue naming the attribute path. The one tolerance: booleans sent as the strings
"True"/"False" (Entra ID without aadOptscim062020) become booleans and are recorded as the
``boolean-as-string`` deviation.

Normal forms: dateTime in the canonical UTC spelling of ``_datetimes`` ("2011-05-13T04:42:34Z"),
decimal as float, integer as int (3.0 becomes 3), complex values with canonical sub-attribute
names and null sub-attributes dropped.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from harness.protocol.scim._datetimes import format_datetime, parse_datetime
from harness.protocol.scim.deviations import Deviation, deviation
from harness.protocol.scim.errors import invalid_value
from harness.protocol.scim.schema import Attribute

__all__ = ["coerce", "coerce_single", "format_datetime", "parse_datetime"]


def coerce(attribute: Attribute, value: Any, where: str, deviations: list[Deviation]) -> Any:
    """The normalised value of ``attribute`` (a list for a multi-valued attribute), or None when
    it is unassigned. ``where`` is the attribute's path, for error messages."""
    if value is None:
        return None
    if not attribute.multi_valued:
        return coerce_single(attribute, value, where, deviations)
    if not isinstance(value, list):
        raise invalid_value(f"{where} is multi-valued: send a JSON array, not {_kind(value)}")
    items = []
    for index, item in enumerate(value):
        if item is None:
            raise invalid_value(f"{where}[{index}] is null; leave it out instead")
        coerced = coerce_single(attribute, item, f"{where}[{index}]", deviations)
        if coerced is not None:
            items.append(coerced)
    check_one_primary(attribute, items, where)
    return items or None


def check_one_primary(attribute: Attribute, items: list[Any], where: str) -> None:
    """RFC 7643 §2.4: the primary attribute value "true" MUST appear no more than once."""
    if attribute.sub("primary") is None:
        return
    primaries = sum(1 for item in items if isinstance(item, dict) and item.get("primary") is True)
    if primaries > 1:
        raise invalid_value(f"{where} has {primaries} values marked primary; at most one may be")


def coerce_single(attribute: Attribute, value: Any, where: str, deviations: list[Deviation]) -> Any:
    """One value of ``attribute`` (one element, for a multi-valued attribute)."""
    if value is None:
        return None
    kind = attribute.type
    if kind == "complex":
        return _complex(attribute, value, where, deviations)
    if kind == "boolean":
        return _boolean(value, where, deviations)
    if kind == "integer":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid_value(f"{where} must be an integer, not {_kind(value)}")
        return value
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid_value(f"{where} must be a number, not {_kind(value)}")
        if not math.isfinite(value):
            raise invalid_value(f"{where} must be a finite number")
        return float(value)
    if not isinstance(value, str):
        raise invalid_value(f"{where} must be a string, not {_kind(value)}")
    if not _encodable(value):
        raise invalid_value(f"{where} holds a lone surrogate, not Unicode text")
    if kind == "dateTime":
        instant = parse_datetime(value)
        if instant is None:
            raise invalid_value(f"{where} must be an xsd:dateTime such as 2011-05-13T04:42:34Z")
        return format_datetime(instant)
    if kind == "binary":
        try:
            base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise invalid_value(f"{where} must be base64 (RFC 4648 §4)") from None
    return value


def _boolean(value: Any, where: str, deviations: list[Deviation]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        deviations.append(deviation("boolean-as-string", f"{where}: {value!r} taken as boolean"))
        return value.lower() == "true"
    raise invalid_value(f"{where} must be true or false, not {_kind(value)}")


def _complex(
    attribute: Attribute, value: Any, where: str, deviations: list[Deviation]
) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        raise invalid_value(f"{where} must be a JSON object, not {_kind(value)}")
    out: dict[str, Any] = {}
    seen: set[str] = set()
    for key, sub_value in value.items():
        sub = attribute.sub(key)
        if sub is None:
            raise invalid_value(f"{where} has no sub-attribute {key!r}")
        if sub.name in seen:  # "Value" and "value": names are case-insensitive
            raise invalid_value(f"{where}.{sub.name} is given twice")
        seen.add(sub.name)
        coerced = coerce(sub, sub_value, f"{where}.{sub.name}", deviations)
        if coerced is not None:
            out[sub.name] = coerced
    return out or None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
