"""``sso-harness serve`` as a new user runs it: a subprocess on real sockets. The SP holds the
provisioned demo directory afterwards, a printed demo login signs in through the SP-initiated
SAML flow over HTTP, and the printed admin reaches /admin."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness.signin import sign_in

STARTUP = 60.0


@dataclass
class Running:
    process: subprocess.Popen[str]
    output: str

    def line(self, prefix: str) -> str:
        found = next((ln for ln in self.output.splitlines() if ln.startswith(prefix)), None)
        assert found is not None, self.output
        return found

    @property
    def sp_url(self) -> str:
        return self.line("reference SP").split()[2].rstrip("/")

    @property
    def idp_url(self) -> str:
        return self.line("mock IdP").split()[2].rstrip("/")

    @property
    def token(self) -> str:
        return self.line("SCIM endpoint").split("Bearer ")[1].strip()

    def logins(self) -> list[tuple[str, str]]:
        return re.findall(r"^  (\S+@\S+)\s+(admin|user)\s", self.output, re.MULTILINE)


def start(tmp_path: Path, *extra: str) -> Iterator[Running]:
    env = {**os.environ, "SSO_HARNESS_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "harness", "serve", "--sp-port", "0", "--idp-port", "0"]
    process = subprocess.Popen(
        [*command, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    output = ""
    deadline = time.monotonic() + STARTUP
    try:
        while "Press Ctrl+C to stop." not in output:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise AssertionError(f"serve exited: {output}{process.stderr.read()}")  # type: ignore[union-attr]
            output += line
            assert time.monotonic() < deadline, output
        yield Running(process, output)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, errors = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            _, errors = process.communicate()
    assert process.returncode == 0, errors
    assert "Traceback" not in errors, errors


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Running]:
    yield from start(tmp_path, "--db", "sqlite://", "--dialect", "entra", "--seed", "5")


@pytest.mark.loopback
def test_serve_provisions_and_the_demo_logins_sign_in(served: Running) -> None:
    assert "entra, initial cycle: " in served.output
    assert " 0 failed" in served.output
    with httpx.Client(
        base_url=f"{served.sp_url}/scim/v2",
        headers={"Authorization": f"Bearer {served.token}"},
        timeout=10,
    ) as scim:
        users = scim.get("/Users", params={"count": "100"}).json()
        groups = scim.get("/Groups", params={"count": "100"}).json()
    assert users["totalResults"] == 8
    admins = next(g for g in groups["Resources"] if g["displayName"] == "Business Account Admins")
    assert len(admins["members"]) == 2

    logins = served.logins()
    assert [role for _, role in logins[:2]] == ["admin", "admin"]
    for user_name, role in logins[1:3]:  # an admin and a plain user
        with httpx.Client(timeout=10, follow_redirects=False) as browser:
            attempt = sign_in(
                browser,
                sp_base=served.sp_url,
                idp_base=served.idp_url,
                sp_entity_id=f"{served.sp_url}/saml/metadata",
                user_name=user_name,
                password="password",
            )
            assert attempt.signed_in, attempt
            me = browser.get(f"{served.sp_url}/api/me").json()
            assert me["userName"].lower() == user_name
            admin_page = browser.get(f"{served.sp_url}/admin")
            assert admin_page.status_code == (200 if role == "admin" else 403)

    with httpx.Client(base_url=served.idp_url, timeout=10) as control:
        report = control.post("/api/provision", json={}).json()
    assert report["kind"] == "incremental" and report["ok"] and report["requests"] == 0


@pytest.mark.browser
@pytest.mark.loopback
def test_a_printed_admin_signs_in_with_chromium_and_reaches_admin(served: Running) -> None:
    from harness.browser import Browser

    (admin, role), (user, _) = served.logins()[0], served.logins()[2]
    assert role == "admin"
    with Browser() as chromium:
        for name, expected in ((admin, 200), (user, 403)):
            with chromium.session() as session:
                session.goto(f"{served.sp_url}/")
                session.goto(f"{served.sp_url}/saml/login?RelayState=/account")
                assert session.url.startswith(f"{served.idp_url}/saml/sso")
                session.fill_and_submit({"username": name, "password": "password"})
                assert session.url.startswith(served.sp_url), session.url
                assert session.goto(f"{served.sp_url}/admin") == expected
                if expected == 200:
                    page = session.text()
                    assert "business account" in page
                    assert "Seats" in page and "Admins" in page


@pytest.mark.loopback
def test_serve_refuses_a_busy_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        env = {**os.environ, "SSO_HARNESS_HOME": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-m", "harness", "serve", "--sp-port", port, "--db", "sqlite://"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.startswith("sso-harness serve: cannot listen on 127.0.0.1:" + port)
    assert "Traceback" not in done.stderr


@pytest.mark.loopback
def test_scheduled_cycles_carry_a_block_to_the_sp(tmp_path: Path) -> None:
    for running in start(
        tmp_path, "--db", "sqlite://", "--dialect", "okta", "--cycle-interval", "0.5"
    ):
        user_name, _ = running.logins()[2]
        with httpx.Client(timeout=10) as http:
            blocked = http.patch(f"{running.idp_url}/api/users/{user_name}", json={"active": False})
            assert blocked.status_code == 200
            deadline = time.monotonic() + 20
            while True:
                found = http.get(
                    f"{running.sp_url}/scim/v2/Users",
                    params={"filter": f'userName eq "{user_name}"'},
                    headers={"Authorization": f"Bearer {running.token}"},
                ).json()["Resources"][0]
                if found["active"] is False:
                    break
                assert time.monotonic() < deadline, "no scheduled cycle blocked the user"
                time.sleep(0.2)


@pytest.mark.loopback
def test_without_db_each_serve_starts_on_a_fresh_database(tmp_path: Path) -> None:
    # Two demos in the same data directory with different people: the second SP holds only its
    # own (the default on-disk database would have kept the first demo's users too).
    for seed in ("1", "2"):
        for running in start(tmp_path, "--demo-users", "3", "--seed", seed):
            with httpx.Client(timeout=10) as http:
                users = http.get(
                    f"{running.sp_url}/scim/v2/Users",
                    headers={"Authorization": f"Bearer {running.token}"},
                ).json()
            assert users["totalResults"] == 3, users
