"""Reading request bodies safely: capped before they are read, typed, and sane once parsed.

The mock IdP runs as a shared test double, so a body is streamed against its cap (a declared
Content-Length over the cap is refused before a byte is read), and parsed JSON is checked for
depth and for strings that could not be written back out (lone surrogates break every later
JSON answer; NUL and other C0 controls break every later SAML response, since XML 1.0 cannot
carry them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from starlette.requests import Request

from .refusals import BodyError

MAX_JSON_DEPTH = 32


def media_type(request: Request) -> str:
    """The Content-Type without parameters, lower case ("" when absent)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json_type(kind: str) -> bool:
    # application/json or a structured +json type; text/plain (a CORS "simple" type that any
    # web page may send cross-origin without a preflight) is not JSON here, whatever it holds.
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


async def read_capped(request: Request, limit: int) -> bytes:
    """The whole body, or a BodyError(413) as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyError("too-large", f"the body is over {limit} bytes", status=413)
        except ValueError:
            raise BodyError("bad-content-length", "Content-Length is not a number") from None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BodyError("too-large", f"the body is over {limit} bytes", status=413)
    return bytes(body)


def _strings(value: object, depth: int) -> Iterator[str]:
    """Every string (keys included) in parsed JSON; BodyError when nested too deep."""
    if depth > MAX_JSON_DEPTH:
        raise BodyError("too-deep", f"the JSON is nested deeper than {MAX_JSON_DEPTH}")
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)


# Characters no stored string may hold: C0 controls but tab, LF and CR, U+FFFE and U+FFFF (not
# XML 1.0 characters), and surrogates (a lone one cannot be encoded as UTF-8).
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def bad_character(text: str) -> str | None:
    """Why ``text`` cannot be stored (a char XML 1.0 or UTF-8 cannot carry), else None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    code = ord(found.group())
    kind = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "the control character"
    return f"{kind} U+{code:04X}"


def parse_json(body: bytes) -> object:
    """Parsed JSON whose every string can be written back out; BodyError(400) otherwise."""
    try:
        data = json.loads(body or b"{}")
    except RecursionError:
        raise BodyError("too-deep", f"the JSON is nested deeper than {MAX_JSON_DEPTH}") from None
    except ValueError as exc:
        raise BodyError("bad-json", f"the body is not JSON: {exc}") from None
    for text in _strings(data, 0):
        why = bad_character(text)
        if why is not None:
            raise BodyError("bad-character", f"a string in the body holds {why}")
    return data
