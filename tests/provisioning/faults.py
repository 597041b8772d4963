"""Faults in front of the real reference SP: an httpx transport that answers chosen requests
itself (a status with a body and headers, a body that is not JSON, a timeout, a refused
connection) and passes every other request to the SP. It also remembers every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx


@dataclass
class Fault:
    method: str
    path_suffix: str  # matched against the end of the URL path ("/Users", "/Groups")
    kind: str  # status, garbage, timeout, refused
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1

    def matches(self, request: httpx.Request) -> bool:
        return (
            self.times > 0
            and request.method == self.method
            and (request.url.path.endswith(self.path_suffix))
        )


def scim_error(status: int, detail: str, scim_type: str | None = None) -> bytes:
    import json

    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status),
        "detail": detail,
    }
    if scim_type:
        body["scimType"] = scim_type
    return json.dumps(body).encode()


class FaultyTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.faults: list[Fault] = []
        self.seen: list[httpx.Request] = []
        self.on_request: Callable[[httpx.Request], None] | None = None

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        for fault in self.faults:
            if fault.matches(request):
                fault.times -= 1
                if fault.kind == "timeout":
                    raise httpx.ReadTimeout("timed out", request=request)
                if fault.kind == "refused":
                    raise httpx.ConnectError("connection refused", request=request)
                body = b"<html>Bad gateway</html>" if fault.kind == "garbage" else fault.body
                return httpx.Response(fault.status, headers=fault.headers, content=body)
        return await self.inner.handle_async_request(request)
