"""Replaying captured responses (``harness.replay``, ``sso-harness replay``, the ``replay``
step) on captures the project makes itself: each mock IdP preset's Response for a customer's SP,
an encrypted one and a SHA-1 signed one, replayed to the in-process reference SP."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from pathlib import Path

import pytest
from lxml import etree

from harness.cli import main
from harness.protocol.saml import constants as c
from harness.protocol.saml.authn_request import AuthnRequest, build_authn_request_xml
from harness.protocol.saml.decode import decode_message
from harness.protocol.saml.encryption import decrypt_element
from harness.protocol.saml.ids import parse_instant
from harness.protocol.saml.metadata import Endpoint, SPMetadata
from harness.protocol.saml.signing import signature_of
from harness.protocol.xml import parse_xml
from harness.replay import ReplayError, read_capture, replay
from harness.world import SP_BASE, world_key
from mock_idp.idp import MockIdP
from mock_idp.service_providers import SPSettings

CUSTOMER_SP = "https://portal.customer.example/saml/metadata"
CUSTOMER_ACS = "https://portal.customer.example/saml/acs"
USER = "Dana.Scully@contoso.com"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@functools.cache
def make_capture(preset: str = "generic", *, encrypt: bool = False, flaw: str = "") -> str:
    """A customer's IdP (its own key, three days ago) answering its SP's AuthnRequest: the
    SAMLResponse form value a browser extension would have captured."""
    idp = MockIdP(
        "https://idp.customer.example",
        signing_keys=[world_key("customer idp")],
        preset=preset,
        flaws=(flaw,) if flaw else (),
        seed=3,
    )
    idp.clock.offset = -dt.timedelta(days=3)
    certificates = (world_key("customer sp").certificate,) if encrypt else ()
    idp.register_sp(
        SPMetadata(
            CUSTOMER_SP,
            (Endpoint(c.BINDING_HTTP_POST, CUSTOMER_ACS, 0),),
            encryption_certificates=certificates,
        ),
        SPSettings(encrypt=encrypt),
    )
    idp.add_user(USER, password="x", email=USER.lower(), given_name="Dana", family_name="Scully")
    request = AuthnRequest(
        id="_customer-request",
        issue_instant=idp.clock.now(),
        issuer=CUSTOMER_SP,
        acs_url=CUSTOMER_ACS,
    )
    answer = idp.sso(CUSTOMER_SP, USER, authn_request=build_authn_request_xml(request))
    assert answer.saml_response is not None
    return answer.saml_response


def _xml(capture: str) -> etree._Element:
    return parse_xml(decode_message(capture).xml)


def _assertion(root: etree._Element) -> etree._Element:
    found = root.find(c.q(c.SAML, "Assertion"))
    if found is None:
        encrypted = root.find(c.q(c.SAML, "EncryptedAssertion"))
        assert encrypted is not None
        found = decrypt_element(encrypted, [world_key("reference sp").private_key]).element
    return found


def _algorithms(element: etree._Element) -> tuple[str, str] | None:
    signature = signature_of(element)
    if signature is None:
        return None
    method = signature.find(f".//{c.q(c.DS, 'SignatureMethod')}")
    digest = signature.find(f".//{c.q(c.DS, 'DigestMethod')}")
    assert method is not None and digest is not None
    return method.get("Algorithm", ""), digest.get("Algorithm", "")


def _quirks(assertion: etree._Element) -> dict[str, object]:
    name_id = assertion.find(f".//{c.q(c.SAML, 'NameID')}")
    assert name_id is not None
    return {
        "prefix": assertion.prefix,
        "name_id": (name_id.text, name_id.get("Format")),
        "attributes": [
            (a.get("Name"), a.get("NameFormat"), [v.text for v in a])
            for a in assertion.iter(c.q(c.SAML, "Attribute"))
        ],
        "order": [etree.QName(child).localname for child in assertion],
    }


def _lifetime(assertion: etree._Element) -> dt.timedelta:
    conditions = assertion.find(c.q(c.SAML, "Conditions"))
    assert conditions is not None
    return parse_instant(conditions.get("NotOnOrAfter")) - parse_instant(
        assertion.get("IssueInstant")
    )


@pytest.mark.parametrize("preset", ["generic", "entra", "okta", "ping"])
def test_each_presets_capture_signs_its_user_in_and_keeps_its_quirks(preset: str) -> None:
    capture = make_capture(preset)
    result = replay(capture)
    assert result.signed_in, result.describe()
    before, after = _xml(capture), parse_xml(result.sent)
    assert after.prefix == before.prefix  # saml2p for Okta
    assert _algorithms(after) == _algorithms(before)  # the Response signed where it was
    old, new = _assertion(before), _assertion(after)
    assert _algorithms(new) == _algorithms(old)
    assert _quirks(new) == _quirks(old)
    assert _lifetime(new) == _lifetime(old)
    assert abs(parse_instant(new.get("IssueInstant")) - dt.datetime.now(dt.UTC)) < dt.timedelta(
        minutes=1
    )
    audience = new.find(f".//{c.q(c.SAML, 'Audience')}")
    assert audience is not None and audience.text == f"{SP_BASE}/saml/metadata"
    assert after.get("InResponseTo") == result.request_id is not None
    issuer = new.find(c.q(c.SAML, "Issuer"))
    assert issuer is not None and issuer.text == "http://idp.test/saml/metadata"


def test_a_capture_for_another_sp_keeping_its_audience_is_refused_for_it() -> None:
    result = replay(make_capture("okta"), keep=["audience"])
    assert not result.signed_in and result.identity is None
    assert (result.reason, result.rule) == ("wrong-audience", "SAML-CORE-2.5.1.4")
    audience = _assertion(parse_xml(result.sent)).find(f".//{c.q(c.SAML, 'Audience')}")
    assert audience is not None and audience.text == CUSTOMER_SP


def test_a_sha1_capture_stays_sha1_and_the_sp_refuses_it() -> None:
    result = replay(make_capture(flaw="sha1"))
    sent = parse_xml(result.sent)
    sha1 = ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1")
    assert _algorithms(sent) == sha1 and _algorithms(_assertion(sent)) == sha1
    assert not result.signed_in and result.reason == "weak-algorithm"


def test_an_encrypted_capture_needs_the_sp_key_and_is_encrypted_again() -> None:
    capture = make_capture(encrypt=True)
    with pytest.raises(ReplayError, match="--sp-key"):
        replay(capture)
    with pytest.raises(ReplayError, match="does not decrypt"):
        replay(capture, sp_key=world_key("other sp").private_key)
    result = replay(capture, sp_key=world_key("customer sp").private_key)
    assert result.signed_in, result.describe()
    assert "assertion encrypted aes256-gcm/rsa-oaep" in result.capture.protection()
    sent = parse_xml(result.sent)
    assert sent.find(c.q(c.SAML, "EncryptedAssertion")) is not None
    original = read_capture(capture, [world_key("customer sp").private_key]).assertion
    assert original is not None
    assert _quirks(_assertion(sent)) == _quirks(original)
    assert _algorithms(_assertion(sent)) == _algorithms(original)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PHNhbWxwOlJlc3BvbnNl", "not a SAML message"),  # truncated base64
        (
            "<samlp:AuthnRequest xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol' ID='_1'/>",
            "not a SAML Response",
        ),
    ],
)
def test_what_is_no_response_is_one_line_and_exit_2(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "capture.txt").write_text(text)
    assert main(["replay", str(tmp_path / "capture.txt")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_encrypted_capture_without_the_key_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "capture.b64").write_text(make_capture(encrypt=True))
    assert main(["replay", str(tmp_path / "capture.b64")]) == 2
    assert "--sp-key" in capsys.readouterr().err


def _run_scenario(path: Path, tmp_path: Path) -> list[str]:
    report = tmp_path / "report.json"
    main(["run", str(path), "--json", str(report)])
    return [r["outcome"] for r in json.loads(report.read_text())["results"]]


@pytest.mark.parametrize(
    ("capture", "keep", "expect", "status", "outcomes"),
    [
        (make_capture("entra"), [], [], 0, ["pass"]),
        (make_capture(flaw="sha1"), [], [], 1, ["fail"]),  # the bug reproduced: it fails
        (make_capture("okta"), ["--keep", "audience"], ["--expect", "refused"], 1, ["pass"]),
    ],
    ids=["entra", "sha1", "okta-wrong-audience"],
)
def test_the_scenario_written_gives_the_replays_verdict(
    capture: str,
    keep: list[str],
    expect: list[str],
    status: int,
    outcomes: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "capture.b64").write_text(capture)
    scenario = tmp_path / "repro.yaml"
    assert (
        main(["replay", str(tmp_path / "capture.b64"), *keep, *expect, "--scenario", str(scenario)])
        == status
    )
    out = capsys.readouterr().out
    assert "scenario written to" in out
    assert _run_scenario(scenario, tmp_path) == outcomes


def test_an_encrypted_captures_scenario_needs_no_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "capture.b64").write_text(make_capture(encrypt=True))
    (tmp_path / "sp.key").write_bytes(world_key("customer sp").private_key_pem())
    scenario = tmp_path / "repro.yaml"
    command = ["replay", str(tmp_path / "capture.b64"), "--sp-key", str(tmp_path / "sp.key")]
    assert main([*command, "--scenario", str(scenario)]) == 0
    assert "encrypt:" in scenario.read_text()
    assert _run_scenario(scenario, tmp_path) == ["pass"]


def test_the_cli_shows_the_sps_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "capture.b64").write_text(make_capture("okta"))
    assert main(["replay", str(tmp_path / "capture.b64"), "--keep", "audience"]) == 1
    out = capsys.readouterr().out
    assert "kept as captured: audience" in out
    assert re.search(r"SP answer: HTTP 4\d\d, refused by the SP \(wrong-audience\)", out)
    assert "signed in: nobody" in out


def test_the_docs_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each example runs as pasted, in a folder holding the captures it reads."""
    blocks = re.findall(
        r"^```python\n(.*?)^```", (DOCS / "reproduce.md").read_text(), re.MULTILINE | re.DOTALL
    )
    assert blocks
    (tmp_path / "okta-response.b64").write_text(make_capture("okta"))
    (tmp_path / "entra-response.b64").write_text(make_capture("entra"))
    monkeypatch.chdir(tmp_path)
    for number, block in enumerate(blocks):
        exec(compile(block, f"docs/reproduce.md example {number}", "exec"), {"__name__": "example"})
