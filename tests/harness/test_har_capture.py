"""A HAR file recorded by a real Chromium signing in through the mock IdP and the reference SP,
as a customer's browser would export it: ``decode`` finds the AuthnRequest and the Response in
it and judges the Response against the SP's metadata; ``replay`` signs its user in again."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from harness.browser import Browser
from harness.captures import read_capture
from harness.cli import main
from harness.replay import replay
from tests.harness.test_browser_sso import KEYS, USER, world

pytestmark = [pytest.mark.browser, pytest.mark.loopback]
__all__ = ["world"]  # the loopback SP and IdP of the browser tests


@pytest.fixture
def recorded(world: tuple[str, str], tmp_path: Path) -> tuple[Path, Path, Path]:
    sp_url, idp_url = world
    har = tmp_path / "sign-in.har"
    with Browser() as chromium, chromium.session(har_path=har) as session:
        session.goto(f"{sp_url}/saml/login?email={USER}&RelayState=/account")
        session.fill_and_submit({"username": USER, "password": "pw"})
        assert session.url == f"{sp_url}/account"
    sp_xml, idp_xml = tmp_path / "sp.xml", tmp_path / "idp.xml"
    sp_xml.write_bytes(httpx.get(f"{sp_url}/saml/metadata").content)
    idp_xml.write_bytes(httpx.get(f"{idp_url}/saml/metadata").content)
    return har, sp_xml, idp_xml


def test_decode_reads_a_browsers_har_and_judges_its_response_as_the_sp_did(
    recorded: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    har, sp_xml, idp_xml = recorded
    messages = read_capture(har.read_bytes())
    assert [m.kind for m in messages] == ["AuthnRequest", "Response"]
    request_id = messages[0].xml.split(b'ID="', 1)[1].split(b'"', 1)[0].decode()
    status = main(
        [
            "decode",
            str(har),
            "--sp-metadata",
            str(sp_xml),
            "--idp-metadata",
            str(idp_xml),
            "--sp-key",
            str(KEYS / "sp.key"),
            "--request-id",
            request_id,
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "# 1/2 SAML AuthnRequest, HTTP-Redirect" in out
    assert "# 2/2 SAML Response, HTTP-POST" in out
    assert f"subject:         {USER}" in out  # from the assertion decrypted with the SP's key
    assert "ACCEPTED" in out and "REFUSED" not in out


def test_replay_signs_the_captured_user_in_again(recorded: tuple[Path, Path, Path]) -> None:
    har, _, _ = recorded
    response = next(m for m in read_capture(har.read_bytes()) if m.kind == "Response")
    result = replay(response.xml, sp_key=KEYS / "sp.key")
    assert result.signed_in, result.describe()
    assert result.identity == USER
