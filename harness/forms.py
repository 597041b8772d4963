"""Reading HTML forms the way a browser submits them: the SAML POST binding's auto-submitting
form, the IdP's login form, the SP's confirmation forms (with their CSRF tokens)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote_plus, urljoin

import httpx

FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif tag in ("input", "button") and self.forms and values.get("name"):
            kind = values.get("type", "text").lower()
            if kind not in ("submit", "button", "image", "reset") or tag == "input":
                self.forms[-1].fields.setdefault(values["name"], values.get("value", ""))


def forms(html: str, base_url: str) -> list[Form]:
    """Every form in ``html``, its action made absolute against ``base_url``."""
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    for form in parser.forms:
        form.action = urljoin(base_url, form.action) if form.action else base_url
    return parser.forms


def form_with(html: str, base_url: str, *names: str, action_contains: str = "") -> Form | None:
    """The first form that has all the fields ``names`` (and, if given, whose action URL
    contains ``action_contains``: pages carry several forms, e.g. a sign-out form)."""
    return next(
        (
            f
            for f in forms(html, base_url)
            if all(n in f.fields for n in names) and action_contains in f.action
        ),
        None,
    )


def urlencoded(fields: Mapping[str, str]) -> bytes:
    """``fields`` as a browser submits a form (what ``urllib.parse.urlencode`` gives)."""
    return "&".join(
        f"{quote_plus(name)}={_quoted_base64(value) if _is_base64(value) else quote_plus(value)}"
        for name, value in fields.items()
    ).encode("ascii")


# Base64 (a SAMLResponse, a SAMLRequest) needs only three characters escaped, and C loops find
# and replace them: urllib quotes byte by byte in Python, 1 ms for a 10 kB SAMLResponse, and a
# regular expression or str.translate over it cost as much.
def _is_base64(value: str) -> bool:
    if not value.isascii():
        return False
    bare = value.encode("ascii").translate(None, b"+/=")
    return not bare or bare.isalnum()


def _quoted_base64(value: str) -> str:
    return value.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def post_form(
    client: httpx.Client,
    url: str,
    fields: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Submit ``fields`` to ``url`` as a browser submits a form."""
    headers = {**(headers or {}), "Content-Type": FORM_TYPE}
    return client.post(url, content=urlencoded(fields), headers=headers)
