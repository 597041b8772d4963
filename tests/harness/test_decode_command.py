"""``sso-harness decode [FILE|-]``: every way a message gets pasted, the core's verdict, and
hostile input refused in one line with exit 2, never a traceback."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import random
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.protocol.keys import load_key_pair
from harness.protocol.saml.bindings import deflate_and_base64
from harness.protocol.saml.response import Protection, ResponseSpec, build_response_xml
from tests.harness.captures import AT as CAPTURE_AT
from tests.harness.captures import har, key, preset_exchange, reference_sp_redirect
from tests.mock_idp.fake_sp import FakeSP

SAMPLES = Path(__file__).parents[1] / "samples" / "saml"
RESPONSE = (SAMPLES / "golden" / "response-generic.xml").read_bytes()
REQUEST = (SAMPLES / "requests" / "vendor-capitalised-booleans.xml").read_bytes()
IDP_CERT = SAMPLES / "keys" / "idp.crt"
AT = ("--at", "2026-03-01T12:01:00Z")  # when the golden samples were issued
ATTACKER_CERT = SAMPLES / "keys" / "attacker.crt"


def run_decode(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data: bytes, *opts: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    status = main(["decode", *opts, "-"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    ("shape", "encoded", "binding"),
    [
        ("raw XML", RESPONSE, " (pasted)"),
        ("base64", base64.b64encode(RESPONSE), ", HTTP-POST"),
        ("deflate+base64", deflate_and_base64(RESPONSE).encode(), ", HTTP-Redirect"),
        (
            "query string",
            b"SAMLResponse=" + quote(deflate_and_base64(RESPONSE)).encode() + b"&RelayState=%2Fa",
            ", HTTP-Redirect",
        ),
    ],
)
def test_every_pasted_shape_decodes_and_is_judged(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
    encoded: bytes,
    binding: str,
) -> None:
    status, out, err = run_decode(capsys, monkeypatch, encoded, *AT, "--idp-cert", str(IDP_CERT))
    assert (status, err) == (0, "")
    assert out.startswith(f"# 1/1 SAML Response{binding}")
    assert "\n  <saml:Issuer" in out or "\n  <Issuer" in out  # indented
    assert "ACCEPTED" not in out  # no SP expectations given: never ACCEPTED
    assert "NOT JUDGED against an SP" in out
    assert "audience: not judged (give --sp-metadata or --audience)" in out
    assert "subject:         alice@example.com" in out


def test_a_file_argument_and_the_relay_state(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pasted = tmp_path / "pasted.txt"
    pasted.write_bytes(
        b"https://sp.test/acs?SAMLResponse="
        + quote(deflate_and_base64(RESPONSE)).encode()
        + b"&RelayState=%2Fdeep"
    )
    assert main(["decode", *AT, str(pasted)]) == 0
    out = capsys.readouterr().out
    assert "# RelayState: /deep" in out
    assert "proves integrity, not who signed" in out  # no --idp-cert: what was not proven


def test_an_untrusted_signer_is_refused_with_the_rule(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, out, _ = run_decode(
        capsys, monkeypatch, RESPONSE, *AT, "--idp-cert", str(ATTACKER_CERT)
    )
    assert status == 1
    assert "REFUSED bad-signature [SAML-CORE-5.4]" in out


def test_an_expired_response_is_refused_when_judged_now(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, out, _ = run_decode(capsys, monkeypatch, RESPONSE, "--at", "2030-01-01T00:00:00Z")
    assert status == 1
    assert "REFUSED" in out and "expired" in out
    assert "EXPIRED at 2030-01-01T00:00:00+00:00" in out
    status, out, _ = run_decode(capsys, monkeypatch, RESPONSE)  # judged now: says how to go back
    assert status == 1
    assert "give --at 2026-03-01T12:00:00+00:00" in out


def test_an_authn_request(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, out, _ = run_decode(capsys, monkeypatch, deflate_and_base64(REQUEST).encode())
    assert status == 0
    assert out.startswith("# 1/1 SAML AuthnRequest, HTTP-Redirect")
    assert "ACS URL:         https://sp.example.com/" in out


BOMB = base64.b64encode(zlib.compress(b"<a>" + b" " * 50_000_000 + b"</a>")[2:-4])
HOSTILE = {
    "doctype": b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r>&e;</r>',
    "billion laughs": b'<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><l>&b;</l>',
    "deflate bomb": BOMB,
    "garbage": b"\x00\xff\xfe not base64 at all %%%",
    "broken xml": b"<samlp:Response><unclosed>",
    "base64 of garbage": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
    "terminal escape": b"\x1b]0;pwned\x07<x",
    "empty": b"   \n",
    "too large": b"A" * 4_000_008,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    status, out, err = run_decode(capsys, monkeypatch, HOSTILE[name])
    assert status == 2
    assert out == ""
    assert err.startswith("sso-harness decode: ") and err.count("\n") == 1
    assert "Traceback" not in err and "\x1b" not in err


def test_unreadable_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["decode", str(tmp_path / "missing.xml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad_cert = tmp_path / "cert.pem"
    bad_cert.write_text("not a certificate")
    assert main(["decode", "--idp-cert", str(bad_cert), str(tmp_path)]) == 2
    assert "cannot load certificate" in capsys.readouterr().err
    assert main(["decode", "--at", "yesterday", "-"]) == 2


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_input_gets_a_status_never_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    status, _, err = run_decode(capsys, monkeypatch, data)
    assert status in (0, 1, 2)
    assert "Traceback" not in err


def encrypted_response() -> bytes:
    keys = SAMPLES / "keys"
    idp = load_key_pair((keys / "idp.key").read_bytes(), (keys / "idp.crt").read_bytes())
    sp = load_key_pair((keys / "sp.key").read_bytes(), (keys / "sp.crt").read_bytes())
    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    later = now + dt.timedelta(minutes=5)
    spec = ResponseSpec(
        response_id="_r",
        assertion_id="_a",
        issuer="http://idp.test",
        issue_instant=now,
        name_id="dana@acme.test",
        destination="http://sp.test/saml/acs",
        recipient="http://sp.test/saml/acs",
        subject_not_on_or_after=later,
        audience_restrictions=(("http://sp.test/saml/metadata",),),
        not_on_or_after=later,
        authn_instant=now,
    )
    protection = Protection(key=idp, encrypt_to=sp.certificate)
    return build_response_xml(spec, protection, random.Random(1))


def test_an_encrypted_assertion_is_judged_with_the_sp_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = encrypted_response()
    sp_key = str(SAMPLES / "keys" / "sp.key")
    status, out, _ = run_decode(capsys, monkeypatch, data, *AT, "--sp-key", sp_key)
    assert status == 0
    assert "# the decrypted assertion" in out
    assert "subject:         dana@acme.test" in out
    assert "audience:        http://sp.test/saml" in out
    assert "encryption:      EncryptedAssertion (aes" in out and "decrypted)" in out
    wrong_key = str(SAMPLES / "keys" / "attacker.key")
    status, out, _ = run_decode(capsys, monkeypatch, data, *AT, "--sp-key", wrong_key)
    assert status == 1
    assert "REFUSED decryption-failed [SDP-SP10]" in out


def test_an_encrypted_assertion_without_a_key_asks_for_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, out, err = run_decode(capsys, monkeypatch, encrypted_response())
    assert status == 2
    assert "<saml:EncryptedAssertion" in out  # still shown, indented
    assert err.startswith("sso-harness decode: message 1 (pasted): the assertion is encrypted")
    assert err.count("\n") == 1


# ---------------------------------------------------------- realistic captures, with the SP's
# expectations given as the SP would state them (its metadata), and the IdP's metadata.


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("preset", ["generic", "entra", "okta", "ping"])
def test_each_preset_response_is_accepted_with_both_metadata(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, preset: str
) -> None:
    exchange = preset_exchange(preset)
    response = write(tmp_path, "response.xml", exchange.response)
    sp_md = write(tmp_path, "sp.xml", exchange.sp_metadata)
    idp_md = write(tmp_path, "idp.xml", exchange.idp_metadata)
    options = [*CAPTURE_AT, "--sp-metadata", sp_md, "--idp-metadata", idp_md]
    status = main(["decode", *options, "--request-id", exchange.request_id, response])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "\nACCEPTED by the reference SP's rules" in out
    assert ": not judged (give" not in out
    assert "audience:        https://sp.test/saml/metadata" in out
    assert "recipient:       https://sp.test/saml/acs" in out
    assert "valid (Conditions):" in out and "session index:" in out
    assert "signature: Assertion: verified" in out
    # Without --request-id the InResponseTo is taken from the message: never ACCEPTED.
    assert main(["decode", *options, response]) == 0
    out = capsys.readouterr().out
    assert "ACCEPTED" not in out and "NOT JUDGED against an SP" in out
    assert "InResponseTo: not judged (give --request-id" in out


def test_a_wrong_audience_is_refused_with_the_reference_sp_code_never_accepted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    exchange = preset_exchange("okta")
    response = write(tmp_path, "response.xml", exchange.response)
    other_sp = FakeSP(entity_id="https://portal.example/saml/metadata", key=key("sp"))
    sp_md = write(tmp_path, "sp.xml", other_sp.metadata())
    idp_md = write(tmp_path, "idp.xml", exchange.idp_metadata)
    status = main(
        ["decode", *CAPTURE_AT, "--sp-metadata", sp_md, "--idp-metadata", idp_md, response]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "ACCEPTED" not in out
    assert "REFUSED wrong-audience [SAML-CORE-2.5.1.4]" in out
    status = main(
        [
            "decode",
            *CAPTURE_AT,
            "--audience",
            other_sp.entity_id,
            "--acs",
            "https://sp.test/saml/acs",
            "--idp-metadata",
            idp_md,
            response,
        ]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "REFUSED wrong-audience [SAML-CORE-2.5.1.4]" in out and "ACCEPTED" not in out


def test_an_encrypted_preset_response_is_decrypted_and_summarised(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    exchange = preset_exchange("entra", encrypt=True)
    response = write(tmp_path, "response.b64", base64.b64encode(exchange.response))
    sp_key = str(SAMPLES / "keys" / "sp.key")
    assert main(["decode", *CAPTURE_AT, "--sp-key", sp_key, response]) == 0
    out = capsys.readouterr().out
    assert "# the decrypted assertion" in out
    assert "subject:         alice@example.com (Format" in out
    assert "claims/emailaddress = alice@example.com" in out
    assert "EncryptedAssertion (aes256-gcm, key transport rsa-oaep-mgf1p; decrypted)" in out
    assert main(["decode", *CAPTURE_AT, response]) == 2
    err = capsys.readouterr().err
    assert "the assertion is encrypted: give --sp-key" in err and err.count("\n") == 1


def test_the_reference_sp_redirect_signature_is_verified_and_a_tampered_one_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    location, sp_metadata = reference_sp_redirect()
    sp_md = write(tmp_path, "sp.xml", sp_metadata)
    url = write(tmp_path, "url.txt", location.encode())
    assert main(["decode", "--sp-metadata", sp_md, url]) == 0
    out = capsys.readouterr().out
    assert "# 1/1 SAML AuthnRequest, HTTP-Redirect to http://idp.test" in out
    assert "signature: query signature (http://www.w3.org/2001/04/xmldsig-more#rsa-sha256)" in out
    assert "\nVALID" in out
    # Without the SP's certificate the signature cannot be checked: say what is missing.
    assert main(["decode", url]) == 2
    assert "query is signed" in capsys.readouterr().err
    tampered = location.replace("RelayState=", "RelayState=x")
    assert main(["decode", "--sp-metadata", sp_md, write(tmp_path, "t.txt", tampered.encode())])
    out = capsys.readouterr().out
    assert "REFUSED bad-signature [SAML-BIND-3.4.4.1]" in out


def test_a_har_file_yields_every_saml_message_in_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    exchange = preset_exchange("generic")
    capture = write(tmp_path, "signin.har", har(exchange))
    sp_md = write(tmp_path, "sp.xml", exchange.sp_metadata)
    idp_md = write(tmp_path, "idp.xml", exchange.idp_metadata)
    options = [
        "--sp-metadata",
        sp_md,
        "--idp-metadata",
        idp_md,
        "--request-id",
        exchange.request_id,
    ]
    assert main(["decode", *CAPTURE_AT, *options, capture]) == 0
    out = capsys.readouterr().out
    assert "# 1/2 SAML AuthnRequest, HTTP-Redirect to http://idp.test/saml/sso" in out
    assert "(HAR entry 2)" in out
    assert "# 2/2 SAML Response, HTTP-POST to https://sp.test/saml/acs (HAR entry 3)" in out
    assert "# RelayState: /account" in out
    assert out.count("\nVALID") == 1 and out.count("\nACCEPTED") == 1


BAD_CAPTURES = {
    "har without saml": (
        json.dumps({"log": {"entries": [{"request": {"method": "GET", "url": "https://a/"}}]}}),
        "a HAR file with 1 entries and no SAMLRequest or SAMLResponse",
    ),
    "other json": ('{"hello": 1}', "neither a HAR file"),
    "broken json": ('{"log": ', "JSON that does not parse"),
    "truncated base64": (base64.b64encode(RESPONSE).decode()[:-7], "truncated or damaged"),
    "latin-1 text": ("SAMLResponse=caf\xe9".encode("latin-1"), "not UTF-8 text"),
}


@pytest.mark.parametrize("name", sorted(BAD_CAPTURES))
def test_bad_captures_say_what_was_found_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    data, expected = BAD_CAPTURES[name]
    raw = data if isinstance(data, bytes) else data.encode()
    status, out, err = run_decode(capsys, monkeypatch, raw)
    assert (status, out) == (2, "")
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_saml_tracer_export(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    exchange = preset_exchange("ping")
    export = {
        "requests": [
            {"requestId": "1", "method": "GET", "url": exchange.redirect_url, "post": []},
            {
                "requestId": "2",
                "method": "POST",
                "url": "https://sp.test/saml/acs",
                "post": [["SAMLResponse", base64.b64encode(exchange.response).decode()]],
                "saml": exchange.response.decode(),
            },
        ],
        "timestamp": "2026-03-01T12:00:00Z",
    }
    capture = write(tmp_path, "trace.json", json.dumps(export).encode())
    assert main(["decode", *CAPTURE_AT, capture]) == 2  # the request's query is signed
    assert "give --sp-metadata" in capsys.readouterr().err
    sp_md = write(tmp_path, "sp.xml", exchange.sp_metadata)
    assert main(["decode", *CAPTURE_AT, "--sp-metadata", sp_md, capture]) == 0
    out = capsys.readouterr().out
    assert "(SAML-tracer request 1)" in out and "(SAML-tracer request 2)" in out
    assert "ACCEPTED" not in out
