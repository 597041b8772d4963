"""``sso-harness diff A B``: the "Okta users get an error page, Entra users sign in fine" story
as one command, on responses the mock IdP's presets make."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from tests.harness.captures import har, preset_exchange

SP_KEY = str(Path(__file__).parents[1] / "samples" / "saml" / "keys" / "sp.key")


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_okta_and_entra_differ_in_nameid_format_and_attribute_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    okta = write(tmp_path, "okta.xml", preset_exchange("okta").response)
    entra = write(tmp_path, "entra.xml", preset_exchange("entra").response)
    assert main(["diff", okta, entra]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    nameid = next(line for line in lines if "subject NameID format" in line)
    assert nameid.startswith("DIFFERENT") and "unspecified" in nameid and "emailAddress" in nameid
    first_name = next(line for line in lines if "attribute firstName" in line)
    assert first_name.startswith("DIFFERENT") and "(absent)" in first_name
    assert any(line.startswith("DIFFERENT") and "claims/givenname" in line for line in lines)
    signed = next(line for line in lines if line.split()[1:2] == ["signed"])
    assert "Response, Assertion" in signed and signed.startswith("DIFFERENT")
    # Lifetimes compare as durations from IssueInstant, not as clock times.
    assert any("Conditions NotOnOrAfter" in line and "+5m" in line for line in lines)
    assert out.rstrip().endswith("difference(s)")


def test_the_same_message_twice_is_equivalent_whatever_its_encoding(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    exchange = preset_exchange("okta")
    a = write(tmp_path, "a.xml", exchange.response)
    b = write(tmp_path, "b.har", har(exchange))  # its first Response is picked
    assert main(["diff", a, b]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("equivalent") and "DIFFERENT" not in out
    assert "b.har #2 of 2 (Response)" in out
    assert main(["diff", a, b + "#2"]) == 0
    capsys.readouterr()


def test_two_sign_ins_of_one_preset_are_equivalent_after_canonicalisation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = write(tmp_path, "1.xml", preset_exchange("ping").response)
    exchange = preset_exchange("ping")
    second = write(
        tmp_path,
        "2.xml",
        exchange.response.replace(b"saml:", b"a:").replace(b"xmlns:saml=", b"xmlns:a="),
    )
    assert main(["diff", first, second]) == 0, capsys.readouterr().out


def test_encrypted_responses_compare_decrypted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plain = write(tmp_path, "plain.xml", preset_exchange("generic").response)
    encrypted = write(tmp_path, "enc.xml", preset_exchange("generic", encrypt=True).response)
    assert main(["diff", plain, encrypted]) == 2
    err = capsys.readouterr().err
    assert err == "sso-harness diff: B: the assertion is encrypted: give --sp-key FILE\n"
    assert main(["diff", "--sp-key", SP_KEY, plain, encrypted]) == 1
    lines = capsys.readouterr().out.splitlines()
    encryption = next(line for line in lines if line.split()[1:2] == ["encryption"])
    assert encryption.startswith("DIFFERENT") and "aes256-gcm" in encryption
    assert not any(line.startswith("DIFFERENT") and "attribute" in line for line in lines)


def test_unusable_inputs_exit_2_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = write(tmp_path, "a.xml", preset_exchange("okta").response)
    empty_har = write(tmp_path, "x.har", b'{"log": {"entries": []}}')
    for other, expected in (
        (empty_har, "x.har: a HAR file with 0 entries and no SAMLRequest"),
        (str(tmp_path / "missing.xml"), "cannot read"),
        (good + "#3", "holds 1 SAML messages: #3 is not one"),
        (write(tmp_path, "bad.txt", b"PHNhbWxwOlJlc3Bvbn"), "not a readable SAML message"),
    ):
        assert main(["diff", good, other]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and expected in captured.err and captured.err.count("\n") == 1
