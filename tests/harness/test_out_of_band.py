"""The out-of-band listener records real HTTP requests per token and answers 404 at once."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from harness.out_of_band import OutOfBandListener


def test_records_each_request_under_its_token() -> None:
    with OutOfBandListener() as oob:
        token = oob.new_token("x01")
        started = time.monotonic()
        answer = httpx.get(oob.url(token, "entity.dtd") + "?id=7", headers={"X-Probe": "yes"})
        assert answer.status_code == 404 and answer.content == b""
        assert time.monotonic() - started < 2
        httpx.post(oob.url(token), content=b"<x/>")
        hits = oob.hits(token)
        assert [(h.method, h.path.rsplit("/", 1)[-1]) for h in hits] == [
            ("GET", "entity.dtd"),
            ("POST", "x"),
        ]
        assert hits[0].query == {"id": ["7"]}
        assert ("X-Probe", "yes") in hits[0].headers
        assert hits[0].client == "127.0.0.1" and hits[0].at.tzinfo is not None


def test_tokens_do_not_see_each_others_hits() -> None:
    with OutOfBandListener() as oob:
        first, second = oob.new_token(), oob.new_token()
        assert first != second
        httpx.get(oob.url(first))
        assert len(oob.hits(first)) == 1
        assert oob.hits(second) == []
        httpx.get(f"{oob.base_url}/not-a-case")
        assert len(oob.hits()) == 2
        oob.clear()
        assert oob.hits() == []


def test_memory_is_bounded_and_keeps_the_newest() -> None:
    with OutOfBandListener(max_hits=3) as oob:
        for number in range(5):
            httpx.get(oob.url(f"case-{number}"))
        assert [hit.token for hit in oob.hits()] == ["case-2", "case-3", "case-4"]
        long_target = oob.url("long") + "?q=" + "v" * 10_000
        httpx.get(long_target)
        assert len(oob.hits("long")[0].query["q"][0]) < 2048


def test_concurrent_requests_are_all_recorded() -> None:
    with OutOfBandListener() as oob:
        token = oob.new_token("burst")
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(
                pool.map(lambda n: httpx.get(oob.url(token, str(n))).status_code, range(40))
            )
        assert codes == [404] * 40
        assert sorted(int(h.path.rsplit("/", 1)[-1]) for h in oob.hits(token)) == list(range(40))


def test_a_stalled_client_does_not_block_others() -> None:
    with OutOfBandListener() as oob:
        host, port = oob.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as stalled:
            stalled.sendall(b"GET /slow/x HTTP/1.1\r\n")  # never finishes its headers
            assert httpx.get(oob.url("fast"), timeout=3).status_code == 404
        assert len(oob.hits("fast")) == 1


def test_stopped_listener_refuses_questions_and_frees_its_port() -> None:
    oob = OutOfBandListener().start()
    url = oob.url("gone")
    oob.stop()
    oob.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not running"):
        oob.hits()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)
    with OutOfBandListener() as other, pytest.raises(ValueError, match="path segment"):
        other.url("a/b")
