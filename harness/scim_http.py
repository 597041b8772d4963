"""A SCIM client for the conformance suite: every call becomes an :class:`Exchange` (what was
sent and answered), and a call that gets no answer is an exchange with status 0, never an
exception: a server that hangs or resets is what a check judges, not a harness error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from harness.checks.scim_seen import Exchange

SCIM_JSON = "application/scim+json"


@dataclass
class ScimHttp:
    http: httpx.Client
    base: str  # the SCIM base URL, without a trailing slash
    token: str

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        token: str | None = None,
    ) -> Exchange:
        """``path`` is relative to the base URL (or absolute, a server's own Location)."""
        url = path if path.startswith(("http://", "https://")) else f"{self.base}{path}"
        sent: dict[str, str] = {"Accept": SCIM_JSON}
        if token != "":
            sent["Authorization"] = f"Bearer {self.token if token is None else token}"
        content = raw if raw is not None else None if body is None else json.dumps(body).encode()
        if content is not None:
            sent["Content-Type"] = SCIM_JSON
        sent.update(headers or {})
        shown = url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
        try:
            answer = self.http.request(method, url, params=params, content=content, headers=sent)
        except httpx.HTTPError as exc:
            return Exchange(method, shown, 0, body=f"no answer: {exc!r}", sent=body)
        try:
            parsed: Any = answer.json() if answer.content else None
        except ValueError:
            parsed = answer.text
        return Exchange(method, shown, answer.status_code, dict(answer.headers), parsed, body)

    def delete_quietly(self, path: str) -> None:
        self.call("DELETE", path)
