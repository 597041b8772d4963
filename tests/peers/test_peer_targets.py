"""The peers as file targets: what the lead runs the harness against."""

from __future__ import annotations

import tomllib

import httpx
import pytest

from .servers import Loopback, PeerTarget

pytestmark = pytest.mark.loopback


def test_a_peer_target_file_points_at_a_live_sp(peer_target: PeerTarget) -> None:
    config = tomllib.loads(peer_target.target_file.read_text())
    assert config["sp"]["base_url"] == peer_target.sp_base
    assert config["idp"]["port"] == peer_target.idp_port
    metadata = httpx.get(config["sp"]["metadata_url"], timeout=10)
    assert metadata.status_code == 200
    assert b"AssertionConsumerService" in metadata.content
    # The SP-initiated start reaches the IdP the harness will start at [idp] port.
    start = httpx.get(f"{peer_target.sp_base}/login", params={"target": "/x"}, timeout=10)
    assert start.status_code == 302
    assert start.headers["location"].startswith(f"http://127.0.0.1:{peer_target.idp_port}/")
    assert httpx.get(f"{peer_target.sp_base}/whoami", timeout=10).status_code == 401


def test_the_world_fixture_wires_sp_and_idp(peer_world: Loopback) -> None:
    assert peer_world.sp_entity_id in peer_world.idp.sps


GARBAGE = [
    ("POST", "/acs", {"SAMLResponse": "not base64 at all"}),
    ("POST", "/acs", {"SAMLResponse": "PHg+PC94Pg=="}),  # <x></x>
    ("POST", "/acs", {}),
    ("GET", "/slo?SAMLRequest=%%%", None),
    ("GET", "/slo?SAMLResponse=AAAA", None),
    ("POST", "/slo", {"SAMLRequest": "PHg+PC94Pg=="}),
    ("GET", "/slo", None),
    ("GET", "/logout", None),
]


def test_no_input_causes_a_server_error(peer_target: PeerTarget) -> None:
    """A peer answers hostile input with its own 4xx, never a 500 (it would read as the
    harness's or the environment's fault)."""
    with httpx.Client(base_url=peer_target.sp_base, timeout=10) as client:
        for method, path, form in GARBAGE:
            answer = client.request(method, path, data=form)
            assert answer.status_code < 500, (method, path, answer.status_code, answer.text)
