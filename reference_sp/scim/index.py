"""Flattening a stored document into ``attribute_values`` rows, the form filters compile to.

Attributes with dedicated columns (id, externalId, userName, group displayName, meta) and the
relations kept as rows (members, groups) are not flattened here.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from harness.protocol.scim._datetimes import parse_datetime
from harness.protocol.scim.schema import Attribute, ResourceType

_COLUMN_ATTRIBUTES = {"id", "externalId", "meta", "members", "groups"}


def sortable_datetime(value: str) -> str:
    """xsd:dateTime in one fixed-width UTC form, so that text order is time order."""
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"{value!r} is not an xsd:dateTime")
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def scalar_columns(attribute: Attribute, value: Any) -> dict[str, Any]:
    """The ``v_exact``/``v_ci``/``v_num`` columns for one value of ``attribute``."""
    if attribute.type == "boolean":
        text = "true" if value else "false"
        return {"v_exact": text, "v_ci": text, "v_num": None}
    if attribute.type in ("integer", "decimal"):
        return {"v_exact": None, "v_ci": None, "v_num": float(value)}
    if attribute.type == "dateTime":
        text = sortable_datetime(str(value))
        return {"v_exact": text, "v_ci": text, "v_num": None}
    text = str(value)
    return {"v_exact": text, "v_ci": text.lower(), "v_num": None}


def value_rows(rt: ResourceType, doc: dict[str, Any], resource_pk: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for key, value in doc.items():
        if key in _COLUMN_ATTRIBUTES:
            continue
        if key == "schemas":  # filterable too (RFC 7644 §3.4.2.2 example)
            rows.extend(
                {"resource_pk": resource_pk, "attr": "schemas", "elem": i, "sub": ""}
                | {"v_exact": urn, "v_ci": urn.lower(), "v_num": None}
                for i, urn in enumerate(value)
            )
            continue
        if rt.name == "User" and key == "userName":
            continue
        if rt.name == "Group" and key == "displayName":
            continue
        ext = rt.extension(key) if key.startswith("urn:") else None
        if ext is not None:
            for ext_key, ext_value in value.items():
                attribute = ext.attribute(ext_key)
                if attribute is not None:
                    _flatten(rows, resource_pk, f"{ext.id}:{attribute.name}", attribute, ext_value)
            continue
        attribute = rt.schema.attribute(key)
        if attribute is not None and attribute.returned != "never":
            _flatten(rows, resource_pk, attribute.name, attribute, value)
    return rows


def _flatten(
    rows: list[dict[str, Any]], pk: int, attr: str, attribute: Attribute, value: Any
) -> None:
    """Append the rows of one attribute; empty strings are absent (filter rule 1): no row."""
    elements = value if attribute.multi_valued else [value]
    for elem, element in enumerate(elements):
        if attribute.is_complex:
            for sub_key, sub_value in element.items():
                sub = attribute.sub(sub_key)
                if sub is not None and sub_value not in (None, ""):
                    rows.append(
                        {"resource_pk": pk, "attr": attr, "elem": elem, "sub": sub.name}
                        | scalar_columns(sub, sub_value)
                    )
        elif element not in (None, ""):
            rows.append(
                {"resource_pk": pk, "attr": attr, "elem": elem, "sub": ""}
                | scalar_columns(attribute, element)
            )
