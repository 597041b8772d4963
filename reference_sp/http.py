"""What every route of the sign-in side shares: page rendering (jinja2, autoescaped), refusals
that name the reason code and the rule (HTML, or JSON when asked), JSON bodies parsed with a
nesting limit, and the same-origin test of API calls."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from harness.protocol.refusal import Refusal
from reference_sp.flaws import FLAWS

_ENV = Environment(
    loader=PackageLoader("reference_sp", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
# Deeper than any document of ours; json.loads recurses per level, so a body of 100k "[" would
# otherwise end in a RecursionError (a 500) after a deep descent.
MAX_JSON_DEPTH = 32
# Only quotes, backslashes and brackets change the nesting count; everything else is skipped at
# the speed of the regex engine, and the pattern cannot backtrack (one character per match).
_JSON_SPECIAL = re.compile(rb'["\\\[\]{}]')


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def render(
    template: str,
    flaws: Iterable[str],
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    on = sorted(flaws)
    page = _ENV.get_template(template).render(flaws=[FLAWS[name] for name in on], **context)
    response = HTMLResponse(page, status_code=status, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "default-src 'self'; style-src 'unsafe-inline'"
    return response


def refusal(request: Request, flaws: Iterable[str], refused: Refusal) -> Response:
    """A refused request: the reason code, the rule broken and a sentence, never a traceback;
    the error page, or JSON when the client asks for it."""
    if wants_json(request):
        return api_refusal(refused)
    return render(
        "error.html",
        flaws,
        status=refused.status,
        reason=refused.reason,
        rule=refused.rule,
        message=refused.message,
    )


def api_refusal(refused: Refusal) -> JSONResponse:
    """A refusal as JSON (``Refusal.to_json``: reason, rule, message, status)."""
    return JSONResponse(
        refused.to_json(), status_code=refused.status, headers={"Cache-Control": "no-store"}
    )


class JsonBodyError(ValueError):
    """A JSON body refused before or while parsing; the message says why (for a 400)."""


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects in ``body`` nest deeper than ``limit``; linear time, and it
    stops at the first level too deep. Brackets inside strings do not count."""
    depth = 0
    in_string = False
    escaped_at = -1  # the position of the character a backslash escapes
    for match in _JSON_SPECIAL.finditer(body):
        position = match.start()
        char = body[position]
        if in_string:
            if position == escaped_at:
                continue
            if char == 0x5C:  # backslash
                escaped_at = position + 1
            elif char == 0x22:  # quote
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in b"[{":
            depth += 1
            if depth > limit:
                return True
        elif char in b"]}":
            depth -= 1
    return False


def parse_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value of ``body`` (already capped in size), or JsonBodyError saying why not."""
    if json_too_deep(body, max_depth):
        raise JsonBodyError(f"the JSON body nests deeper than {max_depth} levels")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, int digit limits
        raise JsonBodyError(f"the body is not valid JSON: {exc}") from None
    except RecursionError:  # unreachable after the depth check; kept as the last line
        raise JsonBodyError("the JSON body nests too deeply") from None


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url.strip())
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:  # a port out of range or not a number
        return None
    return (scheme, host, port) if scheme and host else None


def cross_site(request: Request, base_url: str) -> str | None:
    """Why this request comes from another site (a sentence), or None. Browsers say so in
    ``Sec-Fetch-Site`` and ``Origin``; an HTTP client that sends neither (a desktop client, the
    harness) is not a browser on another site, so it passes."""
    if request.headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
        return "the browser says this request comes from another site (Sec-Fetch-Site)"
    origin = request.headers.get("origin")
    if origin is not None and _origin(origin) != _origin(base_url):
        return f"Origin {origin[:100]!r} is not this site"
    return None
