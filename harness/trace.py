"""The evidence a passing check keeps: a compact trace of the exchange behind it.

A failure keeps its evidence in full; a pass keeps what tells what a good run looked like (the
fields it looked at, each request of the exchange with its status, the SP's answer) within a
few kilobytes, so a report of a thousand passing checks stays small. ``sso-harness run
--trace`` keeps every check's evidence in full instead.
"""

from __future__ import annotations

import json
from typing import Any

from harness.results import KEPT_WHOLE, LOOKED_AT

TEXT_KEPT = 240  # characters of a long value kept in a compact trace
URL_KEPT = 96  # characters of a URL kept in a compact trace's request lines
ITEMS_KEPT = 24  # entries of a list kept in a compact trace
TRACE_BOUND = 6_000  # characters of a compact trace, in JSON, at most
HINT = "sso-harness run --trace keeps it whole"


def _cut(text: str) -> str:
    if len(text) <= TEXT_KEPT:
        return text
    return f"{text[:TEXT_KEPT]}… ({len(text)} characters; {HINT})"


def _short(text: str, kept: int = URL_KEPT) -> str:
    return text if len(text) <= kept else f"{text[:kept]}…"


def _request_line(step: dict[str, Any]) -> str:
    """One request of a recorded exchange as one line: request, status, where it went (long
    URLs shortened, so the status always shows)."""
    line = _short(str(step["request"]))
    if "status" in step:
        line += f" -> {step['status']}"
    if "location" in step:
        line += f" (to {_short(str(step['location']))})"
    answer = step.get("answer")
    if isinstance(answer, dict) and "status" in answer:
        body = json.dumps(answer.get("body"), default=str, ensure_ascii=False)
        line += f" -> {answer['status']} {_short(body, TEXT_KEPT)}"
    return line


def _compact(value: Any) -> Any:
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, bytes):
        return _cut(value.decode("utf-8", "replace"))
    if isinstance(value, dict):
        return {str(k): _compact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        kept = list(value[:ITEMS_KEPT])
        if kept and all(isinstance(v, dict) and "request" in v for v in kept):
            out: list[Any] = [_request_line(v) for v in kept]
        else:
            out = [_compact(v) for v in kept]
        if len(value) > ITEMS_KEPT:
            out.append(f"… {len(value) - ITEMS_KEPT} more ({HINT})")
        return out
    return value


def compact_trace(evidence: dict[str, Any]) -> dict[str, Any]:
    """``evidence`` made compact: ``looked_at`` first and whole, long texts cut, each recorded
    request one line; within :data:`TRACE_BOUND` characters (the largest entries give way).
    A message an IdP under test sent (:data:`KEPT_WHOLE`) stays whole: it is what was judged."""
    looked_at = evidence.get(LOOKED_AT)
    out: dict[str, Any] = {} if looked_at is None else {LOOKED_AT: looked_at}
    whole = {k: v for k, v in evidence.items() if k in KEPT_WHOLE}
    out |= {str(k): _compact(v) for k, v in evidence.items() if k != LOOKED_AT and k not in whole}
    while len(_json(out)) > TRACE_BOUND and len(out) > 1:
        largest = max((k for k in out if k != LOOKED_AT), key=lambda k: len(_json(out[k])))
        out[largest] = f"({len(_json(out[largest]))} characters left out; {HINT})"
        if all(len(_json(v)) < 120 for k, v in out.items() if k != LOOKED_AT):
            break
    return out | whole


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)
