"""``sso-harness sp``: configuration errors exit 2 with one line; a real run serves metadata,
SCIM and the sign-in page for the configured organisations."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.cli import main
from harness.exit_codes import ExitCode
from mock_idp.idp import MockIdP

from .conftest import sample_key


@pytest.fixture
def idp_metadata(tmp_path: Path) -> Path:
    idp = MockIdP("http://127.0.0.1:9", signing_keys=[sample_key("idp")])
    path = tmp_path / "idp.xml"
    path.write_bytes(idp.metadata_xml())
    return path


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    # --port 0: the configuration is judged after the port is bound, and 8001 may be busy
    assert main(["sp", "--db", "sqlite://", "--port", "0", *args]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_unreadable_metadata(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = one_line_error(capsys, "--idp-metadata", str(tmp_path / "missing.xml"))
    assert "cannot read IdP metadata" in err


def test_metadata_that_is_not_metadata(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<!DOCTYPE x><x/>")
    assert "IdP metadata for 'default'" in one_line_error(capsys, "--idp-metadata", str(bad))


def test_unreachable_metadata_url(capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line_error(capsys, "--idp-metadata", "http://127.0.0.1:9/metadata")
    assert "cannot fetch IdP metadata" in err


def test_same_idp_twice(capsys: pytest.CaptureFixture[str], idp_metadata: Path) -> None:
    err = one_line_error(
        capsys, "--idp-metadata", str(idp_metadata), "--idp-metadata", str(idp_metadata)
    )
    assert "trust the same IdP" in err


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[[organization]]\nname='A'\ncolour='red'\n", "unknown organisation key 'colour'"),
        ("[[organization]]\nname='A'\nseats='ten'\n", "seats of 'A' must be an int"),
        ("organization = 3\n", "no [[organization]] table"),
        ("[[organization\n", "not valid TOML"),
    ],
)
def test_bad_organisation_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, toml: str, message: str
) -> None:
    path = tmp_path / "orgs.toml"
    path.write_text(toml)
    assert message in one_line_error(capsys, "--org", str(path))


def test_unknown_flaw_is_a_usage_error() -> None:
    assert main(["sp", "--flaw", "no-such-flaw"]) == ExitCode.USAGE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.loopback
def test_serves_organisations_from_a_toml_file(tmp_path: Path, idp_metadata: Path) -> None:
    orgs = tmp_path / "orgs.toml"
    orgs.write_text(
        "[[organization]]\n"
        "name = 'Acme'\n"
        f"idp_metadata = '{idp_metadata}'\n"
        "scim_token = 'acme-token'\n"
        "email_domains = ['acme.test']\n"
        "seats = 5\n"
    )
    port = free_port()
    env = {**os.environ, "SSO_HARNESS_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "sp",
            "--port",
            str(port),
            "--db",
            "sqlite://",
            "--org",
            str(orgs),
            "--profile",
            "parallels",
            "--flaw",
            "skip-audience",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert f'entityID="{base}/saml/metadata"' in httpx.get(f"{base}/saml/metadata").text
        users = httpx.get(f"{base}/scim/v2/Users", headers={"Authorization": "Bearer acme-token"})
        assert users.status_code == 200
        login = httpx.get(f"{base}/saml/login", params={"email": "x@acme.test"})
        assert login.status_code == 302
        assert login.headers["location"].startswith("http://127.0.0.1:9/saml/sso?")
        assert "skip-audience" in httpx.get(f"{base}/").text
        assert (tmp_path / "home" / "reference-sp" / "sp.key").exists()
    finally:
        process.terminate()
        out, _err = process.communicate(timeout=10)
    assert "organisation   Acme" in out and "WARNING: flaws on: skip-audience" in out


def test_a_busy_port_is_one_line_before_any_banner(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        assert (
            main(["sp", "--db", "sqlite://", "--port", port, "--scim-token", "T"]) == ExitCode.USAGE
        )
    out, err = capsys.readouterr()
    assert out == ""  # no banner, no token printed for a server that never ran
    assert err.startswith(f"sso-harness sp: cannot listen on 127.0.0.1:{port}: "), err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("form", ["bytes", "str", "parsed"])
def test_idp_metadata_is_taken_as_bytes_text_or_parsed(form: str) -> None:
    from harness.protocol.saml.metadata import parse_idp_metadata
    from reference_sp.app import ReferenceSP, Settings

    xml = MockIdP("http://127.0.0.1:9", signing_keys=[sample_key("idp")]).metadata_xml()
    given = {"bytes": xml, "str": xml.decode(), "parsed": parse_idp_metadata(xml)}[form]
    sp = ReferenceSP(Settings(db_url="sqlite://", base_url="http://sp.test"))
    try:
        org = sp.add_organisation("Acme", "token", idp_metadata=given)
        organisation = sp.organisations.get(org)
        assert organisation is not None and organisation.idp is not None
        assert organisation.idp.entity_id == "http://127.0.0.1:9/saml/metadata"
        with pytest.raises(TypeError, match="bytes or str"):
            sp.add_organisation("Other", "token-2", idp_metadata=123)  # type: ignore[arg-type]
    finally:
        sp.close()
