"""What every route of the sign-in side shares: page rendering (jinja2, autoescaped), refusals
that name the reason code and the rule (HTML, or JSON when asked), and the RelayState policy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from reference_sp.flaws import FLAWS

_ENV = Environment(
    loader=PackageLoader("reference_sp", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
MAX_RELAY_STATE = 512


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


def refusal(
    request: Request,
    flaws: Iterable[str],
    status: int,
    reason: str,
    rule: str,
    message: str,
) -> Response:
    """A refused request: the reason code, the rule broken and a sentence, never a traceback."""
    if wants_json(request):
        return JSONResponse(
            {"error": reason, "reason": reason, "rule": rule, "message": message, "status": status},
            status_code=status,
            headers={"Cache-Control": "no-store"},
        )
    return render("error.html", flaws, status=status, reason=reason, rule=rule, message=message)


def safe_relay_state(value: str | None) -> str | None:
    """``value`` when it is a path on this site (R01: never an off-site redirect), else None."""
    if not value or len(value) > MAX_RELAY_STATE:
        return None
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value
