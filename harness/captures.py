"""Read the SAML messages out of whatever a developer captured: one message pasted (XML, base64,
DEFLATE+base64, a URL or query string, a form body, the HTML of an auto-posting form), a
browser's HAR file, or a SAML-tracer JSON export.

    read_capture(data: bytes) -> list[CapturedMessage]

returns every SAML message in the capture, in the order the browser sent them, or raises
:class:`CaptureError` whose text is one line saying what was found and what is missing. Hostile
XML is refused by the hardened parser; DEFLATE is bounded (``harness.protocol.saml.bindings``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from lxml import etree

from harness.protocol.refusal import Refusal
from harness.protocol.saml.bindings import SAML_PARAMETERS, decode_post_value, decode_redirect_query
from harness.protocol.saml.decode import decode_message
from harness.protocol.xml import parse_xml

Binding = Literal["HTTP-Redirect", "HTTP-POST"]
Direction = Literal["request", "response"]


@dataclass(frozen=True)
class CapturedMessage:
    """One SAML message as the browser carried it.

    ``binding`` is None when the message was pasted bare (XML, or base64 without a URL);
    ``direction`` is "request" for a SAMLRequest parameter (AuthnRequest, LogoutRequest) and
    "response" for a SAMLResponse (Response, LogoutResponse); ``raw_query`` is the query string
    exactly as sent for an HTTP-Redirect message, which is what its signature covers.
    """

    kind: str  # the root element's local name: Response, AuthnRequest, LogoutRequest, ...
    xml: bytes
    binding: Binding | None
    direction: Direction
    url: str | None
    relay_state: str | None
    raw_query: str | None
    source: str  # where it was found: "pasted", "HAR entry 4", "SAML-tracer request 2"


class CaptureError(ValueError):
    """The capture holds no usable SAML message; the text is the one line to show."""


def _direction(kind: str) -> Direction:
    return "request" if kind.endswith("Request") else "response"


def _message(xml: bytes, **fields: Any) -> CapturedMessage:
    root = parse_xml(xml)
    kind = etree.QName(root).localname
    return CapturedMessage(kind=kind, xml=xml, direction=_direction(kind), **fields)


def _from_query(url: str, query: str, source: str) -> CapturedMessage:
    redirect = decode_redirect_query(query)
    return _message(
        redirect.message,
        binding="HTTP-Redirect",
        url=url,
        relay_state=redirect.relay_state,
        raw_query=query,
        source=source,
    )


def _from_params(params: dict[str, str], url: str | None, source: str) -> CapturedMessage:
    parameter = next(p for p in SAML_PARAMETERS if p in params)
    return _message(
        decode_post_value(params[parameter]),
        binding="HTTP-POST",
        url=url,
        relay_state=params.get("RelayState"),
        raw_query=None,
        source=source,
    )


def _has_saml(pairs: list[tuple[str, str]]) -> bool:
    return any(name in SAML_PARAMETERS for name, _ in pairs)


def _from_request(
    method: str, url: str, body: list[tuple[str, str]], source: str
) -> Iterator[CapturedMessage]:
    """The message in a request's URL (HTTP-Redirect) and the one in its form body (POST)."""
    query = urlsplit(url).query
    try:
        if _has_saml(parse_qsl(query, keep_blank_values=True)):
            yield _from_query(url, query, source)
        if method.upper() == "POST" and _has_saml(body):
            yield _from_params(dict(body), url, source)
    except Refusal as exc:
        raise CaptureError(f"{source}: {_explain(exc)}") from None


def _explain(refusal: Refusal) -> str:
    """What was found, in words a developer acts on."""
    hint = {
        "bad-base64": " (truncated or damaged in the copy?)",
        "bad-deflate": " (a message cut short, or not deflated?)",
    }.get(refusal.reason, "")
    return f"not a readable SAML message: {refusal.message}{hint} [{refusal.rule}]"


def _har_body(request: dict[str, Any]) -> list[tuple[str, str]]:
    post = request.get("postData") or {}
    params = post.get("params")
    if isinstance(params, list) and params:
        return [(str(p.get("name", "")), str(p.get("value", ""))) for p in params]
    text = post.get("text")
    return parse_qsl(text, keep_blank_values=True) if isinstance(text, str) else []


def _read_har(document: dict[str, Any]) -> tuple[list[CapturedMessage], int]:
    entries = document["log"].get("entries") or []
    found: list[CapturedMessage] = []
    for number, entry in enumerate(entries, 1):
        request = entry.get("request") or {}
        url = str(request.get("url", ""))
        source = f"HAR entry {number}"
        found += _from_request(str(request.get("method", "GET")), url, _har_body(request), source)
    return found, len(entries)


def _tracer_body(post: Any) -> list[tuple[str, str]]:
    if isinstance(post, dict):
        return [(str(k), str(v[0] if isinstance(v, list) and v else v)) for k, v in post.items()]
    if isinstance(post, list):
        return [(str(p[0]), str(p[1])) for p in post if isinstance(p, list) and len(p) >= 2]
    return []


def _read_tracer(document: dict[str, Any]) -> tuple[list[CapturedMessage], int]:
    requests = document.get("requests") or []
    found: list[CapturedMessage] = []
    for number, request in enumerate(requests, 1):
        source = f"SAML-tracer request {number}"
        url = str(request.get("url", ""))
        messages = list(
            _from_request(
                str(request.get("method", "GET")), url, _tracer_body(request.get("post")), source
            )
        )
        saml = request.get("saml")
        if not messages and isinstance(saml, str) and saml.strip().startswith("<"):
            # Only the decoded message was kept (its parameters were filtered on export).
            messages = [
                _message(
                    saml.encode("utf-8"),
                    binding=None,
                    url=url,
                    relay_state=None,
                    raw_query=None,
                    source=source,
                )
            ]
        found += messages
    return found, len(requests)


def _read_json(document: Any) -> list[CapturedMessage]:
    if isinstance(document, dict) and isinstance(document.get("log"), dict):
        messages, count = _read_har(document)
        what = f"a HAR file with {count} entries"
    elif isinstance(document, dict) and isinstance(document.get("requests"), list):
        messages, count = _read_tracer(document)
        what = f"a SAML-tracer export with {count} requests"
    else:
        raise CaptureError(
            "JSON that is neither a HAR file (log.entries) nor a SAML-tracer export (requests)"
        )
    if not messages:
        raise CaptureError(
            f"{what} and no SAMLRequest or SAMLResponse in any URL or form: "
            "capture the sign-in itself (with 'Preserve log' on in the browser's tools)"
        )
    return messages


def _read_one(data: bytes) -> CapturedMessage:
    if data.lstrip().startswith(b"<") and b"<form" not in data[:4096].lower():
        # Raw XML: its bytes go to the parser as they are, so its encoding declaration counts.
        return _message(
            data.strip(), binding=None, url=None, relay_state=None, raw_query=None, source="pasted"
        )
    text = _text(data).strip()
    if text.startswith(("http://", "https://", "?")) or (
        "=" in text.split("&")[0] and ("SAMLRequest=" in text or "SAMLResponse=" in text)
    ):
        return _pasted_url(text)
    decoded = decode_message(text)
    return CapturedMessage(
        kind=decoded.kind,
        xml=decoded.xml,
        binding={"base64": "HTTP-POST", "deflate+base64": "HTTP-Redirect"}.get(decoded.encoding),  # type: ignore[arg-type]
        direction=_direction(decoded.kind),
        url=None,
        relay_state=decoded.relay_state,
        raw_query=None,
        source="pasted",
    )


def _pasted_url(text: str) -> CapturedMessage:
    """A URL or query string (HTTP-Redirect, DEFLATE) or a form body (HTTP-POST, base64)."""
    url = text if "://" in text else None
    query = urlsplit(text).query if url else text.lstrip("?")
    pairs = dict(parse_qsl(query, keep_blank_values=True))
    if not _has_saml(list(pairs.items())):
        raise CaptureError("a URL or query string without SAMLRequest or SAMLResponse")
    value = pairs.get("SAMLRequest") or pairs.get("SAMLResponse") or ""
    try:
        posted = decode_post_value(value).lstrip().startswith(b"<")
    except Refusal:
        posted = False
    if posted and "Signature" not in pairs:
        return _from_params(pairs, url, "pasted")
    return _from_query(url or "", query, "pasted")


def _text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaptureError(
            f"the input is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): "
            "give the message as XML, base64, a URL, a HAR file or a SAML-tracer export"
        ) from None


def read_capture(data: bytes) -> list[CapturedMessage]:
    """Every SAML message in ``data``, in order; CaptureError (one line) when there is none,
    or when one of them cannot be decoded (the line names where it was found)."""
    stripped = data.lstrip()
    try:
        if stripped.startswith((b"{", b"[")):
            try:
                document = json.loads(_text(stripped))
            except json.JSONDecodeError as exc:
                raise CaptureError(
                    f"JSON that does not parse: {exc.msg} at line {exc.lineno}"
                ) from None
            return _read_json(document)
        return [_read_one(data)]
    except Refusal as exc:
        raise CaptureError(_explain(exc)) from None
