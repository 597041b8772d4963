"""A real SP from a target file: the reference SP run as a separate process (`sso-harness sp`),
trusting the harness's mock IdP by its metadata, provisioned and observed over HTTP only; and
target files that describe SPs that are not the reference SP."""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import tls, world
from harness.cli import main
from harness.protocol.keys import KeyPair
from harness.targets import Probes, TargetError, load_target
from mock_idp import keystore
from tests.support.reference_process import free_port, reference_sp_process

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture
def target_file(tmp_path: Path) -> Iterator[Path]:
    with reference_sp_process(tmp_path) as path:
        yield path


@pytest.mark.loopback
def test_target_check_says_what_works(
    target_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REMOTE_SCIM_TOKEN", "remote-token")
    assert main(["target", "check", str(target_file)]) == 0
    out = capsys.readouterr().out
    assert "ok   sign-in start: reaches the IdP" in out
    assert "ok   SCIM" in out
    assert "suite sso_login: 16 of 17 scenario runs apply" in out
    monkeypatch.setenv("REMOTE_SCIM_TOKEN", "wrong")
    assert main(["target", "check", str(target_file)]) == 2
    assert "check the token" in capsys.readouterr().err


@pytest.mark.loopback
def test_the_suites_pass_twice_against_the_same_persistent_sp(
    target_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fresh message IDs and user names per run: a second run against the same database is
    judged exactly as the first (no `replayed`, no user left over from the first run)."""
    monkeypatch.setenv("REMOTE_SCIM_TOKEN", "remote-token")
    summaries = []
    for attempt in ("first", "second"):
        report = tmp_path / f"{attempt}.json"
        status = main(
            [
                "run",
                str(SCENARIOS / "sso_login"),
                str(SCENARIOS / "deprovisioning"),
                str(SCENARIOS / "admin_grants"),
                "--target",
                str(target_file),
                "--dialect",
                "entra",
                "--json",
                str(report),
            ]
        )
        document = json.loads(report.read_text())
        problems = [r for r in document["results"] if r["outcome"] in ("fail", "error")]
        assert status == 0, problems
        skipped = {r["scenario"] for r in document["results"] if r["outcome"] == "skip"}
        assert skipped == {"second-organisation-isolated"}, skipped
        summaries.append(document["summary"])
    assert summaries[0] == summaries[1]
    assert summaries[0]["passed"] > 60


@pytest.mark.loopback
def test_a_flawed_sp_under_test_fails_where_it_is_flawed(tmp_path: Path) -> None:
    """The verdicts about a file target come from what it does: the same SP started with a flaw
    fails the check of that flaw, and nothing else errors."""
    # (the flawed separate process is exercised by the independent SPs' tests; here the
    # in-process flaw list must be refused for a file target)
    path = tmp_path / "target.toml"
    path.write_text("[sp]\nbase_url = 'http://127.0.0.1:9'\n")
    assert main(["run", "--target", str(path), "--sp-flaw", "skip-audience"]) == 2


def test_an_unreachable_sp_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "target.toml"
    path.write_text(f"[sp]\nbase_url = 'http://127.0.0.1:{free_port()}'\n")
    assert main(["run", "--target", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the SP cannot be used: metadata" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sp]\nbase_ur = 'http://x'\n", "unknown key 'sp.base_ur' (did you mean 'base_url'?)"),
        ("[sp]\nemail_domain = 'x.com'\n", "sp.base_url is required"),
        ("[sp]\nbase_url = 'http://x'\n[probes]\nwho = '/x'\n", "unknown key 'probes.who'"),
        ("[sp]\nbase_url = 'http://x'\n[featurs]\n", "unknown key 'featurs' (did you mean"),
        ("[sp]\nbase_url = 'http://x'\n[features]\nscim = true\n", "needs a [scim] section"),
        ("[sp]\nbase_url = 'http://x'\n[probes]\nme_pattern = 'x'\n", "needs a group"),
        ("[sp]\nbase_url = 'ftp://x'\n", "must be an http(s) URL"),
        ("[sp]\nbase_url = 'http://x'\n[scim]\nurl = 'http://x/scim'\n", "token or token_env"),
    ],
)
def test_a_bad_target_file_names_the_file_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "target.toml"
    path.write_text(text)
    with pytest.raises(TargetError) as raised:
        load_target(path)
    assert str(raised.value).startswith(str(path)) and message in str(raised.value)


def test_a_bad_target_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "target.toml"
    path.write_text("[sp]\nbase_url = 'http://127.0.0.1:1'\n[probes]\nwho = '/x'\n")
    assert main(["run", "--target", str(path)]) == 2
    assert "unknown key 'probes.who'" in capsys.readouterr().err


def test_a_file_target_has_only_what_it_declares(tmp_path: Path) -> None:
    path = tmp_path / "target.toml"
    path.write_text("[sp]\nbase_url = 'http://sp.example'\n[features]\nidp_initiated = true\n")
    target = load_target(path)
    assert target.scim_url is None and not target.features.scim
    assert target.features.idp_initiated and not target.features.admin
    assert target.sp_metadata_url == "http://sp.example/saml/metadata"


def test_login_templates_keep_the_path_query_and_fill_placeholders() -> None:
    mellon = Probes(login="/mellon/login?ReturnTo={relay_state}&x=1", me="/secure")
    assert mellon.login_url("http://sp", "a@b.c", None) == (
        "http://sp/mellon/login?ReturnTo=%2Fsecure&x=1"
    )
    assert mellon.login_url("http://sp", "a@b.c", "/deep?x=1") == (
        "http://sp/mellon/login?ReturnTo=%2Fdeep%3Fx%3D1&x=1"
    )
    hinted = Probes(login="/sso?target={relay_state}&hint={email}")
    assert (
        hinted.login_url("http://sp", "a+1@b.c", "/") == "http://sp/sso?target=%2F&hint=a%2B1%40b.c"
    )
    reference = Probes(login="/saml/login?org=acme")
    assert reference.login_url("http://sp", "a@b.c", "/x") == (
        "http://sp/saml/login?org=acme&email=a%40b.c&RelayState=%2Fx"
    )


def test_the_me_probe_reads_json_or_text() -> None:
    text = Probes(me="/secure", me_pattern=r"REMOTE_USER=(\S+)")
    assert text.identity(200, "text/plain", "AUTH_TYPE=shib\nREMOTE_USER=dana@x.com\n") == (
        "dana@x.com"
    )
    assert text.identity(200, "text/html", "<p>please sign in</p>") is None
    assert text.identity(302, "text/plain", "REMOTE_USER=dana@x.com") is None
    json_probe = Probes(me_user_field="user.name")
    assert json_probe.identity(200, "application/json", '{"user": {"name": "dana"}}') == "dana"
    assert json_probe.identity(200, "text/html", "<html>") is None


def test_without_the_env_the_token_is_an_error(tmp_path: Path) -> None:
    os.environ.pop("NO_SUCH_TOKEN_VAR", None)
    path = tmp_path / "target.toml"
    path.write_text(
        "[sp]\nbase_url='http://x'\n[scim]\nurl='http://x/s'\ntoken_env='NO_SUCH_TOKEN_VAR'\n"
    )
    with pytest.raises(TargetError, match="NO_SUCH_TOKEN_VAR is empty"):
        load_target(path)


PROBE_MODULE = '''
"""Probes of an SP whose business API differs: here, the reference SP's own, read otherwise."""


def who_am_i(browser, base_url):
    answer = browser.get(base_url + "/api/me")
    return answer.json()["userName"] if answer.status_code == 200 else None


def is_admin(browser, base_url):
    return LIE or browser.get(base_url + "/admin").status_code == 200


def license_state(browser, base_url):
    return browser.get(base_url + "/api/me").json()["license"]["state"]


LIE = False
'''


@pytest.mark.loopback
@pytest.mark.parametrize("lie", [False, True])
def test_a_probe_module_replaces_the_built_in_probes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lie: bool
) -> None:
    monkeypatch.setenv("REMOTE_SCIM_TOKEN", "remote-token")
    (tmp_path / "portal_probes.py").write_text(PROBE_MODULE.replace("LIE = False", f"LIE = {lie}"))
    probes = 'module = "portal_probes.py"\nme = "/nowhere"\nadmin = "/nowhere"'
    with reference_sp_process(tmp_path, probes=probes) as target:
        report = tmp_path / "report.json"
        status = main(
            [
                "run",
                str(SCENARIOS / "admin_grants" / "admin-group-grants-and-revokes-admin.yaml"),
                "--target",
                str(target),
                "--dialect",
                "okta",
                "--json",
                str(report),
            ]
        )
    results = json.loads(report.read_text())["results"]
    failed = {r["check"] for r in results if r["outcome"] == "fail"}
    # The built-in probes point nowhere: every verdict came from the module.
    assert (status, failed) == ((1, {"admin.access"}) if lie else (0, set()))


def test_a_probe_module_must_define_a_probe(tmp_path: Path) -> None:
    (tmp_path / "p.py").write_text("def helper():\n    pass\n")
    path = tmp_path / "target.toml"
    path.write_text("[sp]\nbase_url = 'http://x'\n[probes]\nmodule = 'p.py'\n")
    with pytest.raises(TargetError, match="defines none of who_am_i"):
        load_target(path)


@pytest.mark.loopback
def test_scenario_runs_against_a_real_sp_load_the_ca_bundle_and_the_idp_key_once_per_run(
    target_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each scenario run against a real SP fetches its metadata, provisions it and cleans up
    # over HTTP, with the mock IdP's own key: loading the CA bundle (20-60 ms) or checking
    # that key (30 ms) for each of them cost a run of every suite more than its scenarios.
    # Eighteen scenario runs load no more than one does.
    monkeypatch.setenv("REMOTE_SCIM_TOKEN", "remote-token")
    loaded: list[str] = []
    real_context = ssl.create_default_context
    real_key_pair = keystore.load_key_pair

    def counted_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        loaded.append("CA bundle")
        return real_context(*args, **kwargs)

    def counted_key_pair(*args: Any, **kwargs: Any) -> KeyPair:
        loaded.append("key")
        return real_key_pair(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted_context)
    monkeypatch.setattr(keystore, "load_key_pair", counted_key_pair)
    deprovisioning = str(SCENARIOS / "deprovisioning")
    counts = []
    for selection in (["-k", "blocked-employee-loses-everything", "--dialect", "rfc"], []):
        loaded.clear()  # and the process's caches, so that each run loads what it needs
        world._key_as_on_disk.cache_clear()
        tls.default_ssl_context.cache_clear()
        report = tmp_path / "report.json"
        command = ["run", deprovisioning, *selection, "--target", str(target_file)]
        assert main([*command, "--json", str(report)]) == 0
        scenario_runs = {r["scenario"] for r in json.loads(report.read_text())["results"]}
        counts.append((len(scenario_runs), loaded.count("CA bundle"), loaded.count("key")))
    (one, *loads_for_one), (many, *loads_for_many) = counts
    assert one == 1 and many > 4, counts
    assert all(m <= o for m, o in zip(loads_for_many, loads_for_one, strict=True)), counts


def test_the_mock_idps_own_key_is_read_again_once_its_files_change(tmp_path: Path) -> None:
    first = keystore.load_or_create(tmp_path)
    assert world.kept_key(tmp_path).certificate_pem() == first.certificate_pem()
    assert world.kept_key(tmp_path) is world.kept_key(tmp_path)
    for name in ("signing.key", "signing.crt"):
        (tmp_path / name).unlink()
    second = keystore.load_or_create(tmp_path)  # a user's key put in its place
    assert second.certificate_pem() != first.certificate_pem()
    assert world.kept_key(tmp_path).certificate_pem() == second.certificate_pem()
