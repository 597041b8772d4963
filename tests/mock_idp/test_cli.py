"""`sso-harness idp`: options, configuration errors (exit 2), keys kept in the data dir, and a
real server on a loopback port."""

import argparse
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from harness.cli import main
from harness.protocol.saml.metadata import parse_idp_metadata
from mock_idp import cli

from .fake_sp import FakeSP


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SSO_HARNESS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_keys_are_generated_once_and_kept(data_home: Path, tmp_path: Path) -> None:
    metadata = tmp_path / "sp.xml"
    metadata.write_bytes(FakeSP().metadata())
    idp, _ = cli.build(
        parse("--port", "9999", "--sp-metadata", str(metadata), "--preset", "okta", "--seed", "3")
    )
    assert (data_home / "mock-idp" / "signing.key").exists()
    assert (data_home / "mock-idp" / "signing.key").stat().st_mode & 0o077 == 0
    assert idp.entity_id == "http://127.0.0.1:9999/saml/metadata"
    assert list(idp.sps) == ["https://sp.test/saml/metadata"]
    assert idp.preset.name == "okta"
    assert len(idp.directory.users()) == 3
    again, _ = cli.build(parse())
    assert again.signing_key.certificate == idp.signing_key.certificate


def test_given_key_and_rollover_certificate(tmp_path: Path) -> None:
    keys = Path(__file__).parents[1] / "samples" / "saml" / "keys"
    idp, _ = cli.build(
        parse(
            "--key",
            str(keys / "idp.key"),
            "--cert",
            str(keys / "idp.crt"),
            "--extra-cert",
            str(keys / "idp-rollover.crt"),
            "--demo-users",
            "0",
        )
    )
    assert len(parse_idp_metadata(idp.metadata_xml()).signing_certificates) == 2
    assert idp.directory.users() == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--flaw", "no-such-flaw"], "unknown flaw"),
        (["--sp-metadata", "/nonexistent/sp.xml"], "cannot read SP metadata"),
        (["--key", "/nonexistent.key"], "--key and --cert go together"),
    ],
)
def test_configuration_errors_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # --port 0: the configuration is judged after the port is bound, and 8002 may be busy
    assert main(["idp", "--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_bad_metadata_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<!DOCTYPE x><x/>")
    assert main(["idp", "--port", "0", "--sp-metadata", str(bad)]) == 2
    assert "SDP-G03" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    idp, app = cli.build(parse("--port", str(port), "--seed", "1", "--allow-passwordless-idp-init"))
    idp.register_sp_metadata(FakeSP().metadata())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.loopback
def test_real_server_on_loopback(served: str) -> None:
    with httpx.Client(base_url=served) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        metadata = parse_idp_metadata(http.get("/saml/metadata").content)
        assert metadata.entity_id == f"{served}/saml/metadata"
        users = http.get("/api/users").json()["users"]
        answer = http.get(
            "/saml/idp-init",
            params={"sp": "https://sp.test/saml/metadata", "user": users[0]["userName"]},
        )
        assert answer.status_code == 200 and "SAMLResponse" in answer.text
        assert http.get("/saml/sso", params={"SAMLRequest": "!!"}).status_code == 400


@pytest.mark.loopback
def test_sp_initiated_login_over_real_sockets(served: str) -> None:
    import datetime as dt

    from .fake_sp import form_fields, login_handle

    sp = FakeSP()
    request = sp.authn_request(dt.datetime.now(dt.UTC), f"{served}/saml/sso")
    with httpx.Client(base_url=served) as http:
        user = http.get("/api/users").json()["users"][0]["userName"]
        page = http.get(f"/saml/sso?{sp.redirect_query(request, relay_state='/next')}")
        answer = http.post(
            "/saml/sso",
            data={"login": login_handle(page.text), "username": user, "password": "password"},
        )
        action, fields = form_fields(answer.text)
        assert action == sp.acs and fields["RelayState"] == "/next"
        second = sp.authn_request(dt.datetime.now(dt.UTC), f"{served}/saml/sso")
        again = http.get(f"/saml/sso?{sp.redirect_query(second)}")
        assert "SAMLResponse" in again.text  # the session cookie made it silent


def test_sp_metadata_from_a_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_get(url: str, **kwargs: object) -> httpx.Response:
        if "down" in url:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(200, content=FakeSP().metadata(), request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", fake_get)
    idp, _ = cli.build(parse("--sp-metadata", "http://127.0.0.1:8001/saml/metadata"))
    assert list(idp.sps) == ["https://sp.test/saml/metadata"]
    assert main(["idp", "--port", "0", "--sp-metadata", "http://down.test/saml/metadata"]) == 2
    assert "cannot fetch SP metadata" in capsys.readouterr().err


def test_a_busy_port_is_one_line_before_any_banner(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        assert main(["idp", "--port", port]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"sso-harness idp: cannot listen on 127.0.0.1:{port}: "), err
    assert err.count("\n") == 1 and "Traceback" not in err
