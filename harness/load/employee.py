"""A virtual employee: signs in through SSO (SP-initiated through the IdP's login form, or
IdP-initiated), opens their account, activates a device; each request named by its step.

The sign-in is ``harness.signin.sign_in``, the harness's own, with each of its requests named
by where it goes: the SP's start, the IdP's SSO service, the login form, the ACS; its closing
look at the me probe is the "account" step, judged by who it names.
"""

from __future__ import annotations

import itertools
import math
import random
from urllib.parse import urlsplit

import httpx

from harness.forms import Form, form_with
from harness.http_client import HttpClient
from harness.load.config import LoadConfig
from harness.load.steps import Report, StepTransport, refusal_of
from harness.signin import ACCEPT, SignInAttempt, sign_in
from harness.targets import Probes, dotted

PRODUCT = "Parallels Desktop"
CLIENT_VERSION = "19.1"
_sign_ins = itertools.count()  # the sign-ins of this process, in order


def starts_at_the_idp(share: float) -> bool:
    """Whether the next sign-in starts at the IdP: exactly ``share`` of them, evenly spread (the
    2nd of every 2 for 0.5, the 4th of every 4 for 0.25) rather than by chance, so that even a
    short run has sign-ins of both kinds."""
    k = next(_sign_ins)
    return math.floor((k + 1) * share) > math.floor(k * share)


class Employee:
    def __init__(self, config: LoadConfig, report: Report, rng: random.Random) -> None:
        self.config = config
        self.probes: Probes = config.probe_settings()
        self.report = report
        self.rng = rng
        self.user_name = rng.choice(config.employees)
        self.transport, self.client = self._browser()
        # The desktop client: no cookies of the browser's, a connection pool of its own.
        self.device_transport = StepTransport(report)
        self.device = httpx.Client(transport=self.device_transport, timeout=30.0)
        self.devices = 0

    def _browser(self) -> tuple[StepTransport, httpx.Client]:
        transport = StepTransport(self.report)
        return transport, HttpClient(transport=transport, timeout=30.0)

    def close(self) -> None:
        self.client.close()
        self.device.close()

    # -- naming -------------------------------------------------------------------------------

    def _sign_in_step(self, request: httpx.Request) -> str:
        url = request.url
        idp_host = urlsplit(self.config.idp_url).netloc
        if url.netloc.decode() == idp_host:
            if url.path.endswith("/saml/idp-init"):
                return "sign-in: IdP-initiated start"
            return "sign-in: login form" if request.method == "POST" else "sign-in: IdP SSO"
        if request.method == "POST":
            return "sign-in: ACS"
        if url.path == self.probes.me:
            return "account"
        return "sign-in: SP start"

    def _names_me(self, response: httpx.Response) -> str | None:
        refused = refusal_of(response)
        if refused is not None:
            return refused
        identity = self.probes.identity(
            response.status_code, response.headers.get("content-type", ""), response.text
        )
        if identity is None or identity.strip().lower() != self.user_name.lower():
            return f"the account page names {identity or 'nobody'}, not the employee"
        return None

    # -- tasks --------------------------------------------------------------------------------

    def sign_in(self) -> SignInAttempt:
        """A fresh browser signs in: SP-initiated, or IdP-initiated for a share of them."""
        self.client.close()
        self.transport, self.client = self._browser()
        via = "sp"
        if self.config.idp_initiated and starts_at_the_idp(self.config.idp_initiated_share):
            via = "idp"
        with self.transport.step(self._sign_in_step, self._judge_sign_in):
            return sign_in(
                self.client,
                sp_base=self.config.sp_url,
                idp_base=self.config.idp_url,
                sp_entity_id=self.config.sp_entity_id,
                user_name=self.user_name,
                password=self.config.password,
                via=via,
                probes=self.probes,
            )

    def _judge_sign_in(self, response: httpx.Response) -> str | None:
        if response.request.url.path == self.probes.me:
            return self._names_me(response)
        return refusal_of(response)

    def open_account(self) -> None:
        with self.transport.step("account", self._names_me):
            self.client.get(f"{self.config.sp_url}{self.probes.me}", headers=ACCEPT)
        if self.config.account_page:
            with self.transport.step("account page"):
                self.client.get(f"{self.config.sp_url}{self.config.account_page}")

    def activate_device(self) -> None:
        """A desktop client starts an activation, the employee confirms it in the browser
        (signed in already), the client checks in: active."""
        if not self.config.activations:
            return
        self.devices += 1
        device = f"{self.user_name}-device-{self.devices}-{self.rng.getrandbits(32):08x}"
        probes = self.probes
        with self.device_transport.step("activate: start"):
            started = self.device.post(
                f"{self.config.sp_url}{probes.activations}",
                json={"product": PRODUCT, "clientVersion": CLIENT_VERSION, "deviceId": device},
            )
        if started.status_code != 201:
            return
        body = started.json()
        with self.transport.step("activate: confirm page", self._holds_confirmation):
            page = self.client.get(str(body.get(probes.activation_url_field) or ""))
        form = _confirmation(page)
        if form is None:
            return
        with self.transport.step("activate: confirm"):
            self.client.post(form.action, data=form.fields, headers=ACCEPT)
        check_in_url = str(body.get(probes.check_in_url_field) or "")
        with self.device_transport.step("activate: check-in", self._active):
            self.device.get(check_in_url)

    def _holds_confirmation(self, response: httpx.Response) -> str | None:
        refused = refusal_of(response)
        if refused is None and _confirmation(response) is None:
            return "the page holds no confirmation form"
        return refused

    def _active(self, response: httpx.Response) -> str | None:
        refused = refusal_of(response)
        if refused is not None:
            return refused
        try:
            state = dotted(response.json(), self.probes.check_in_field)
        except ValueError:
            return "the check-in answered no JSON"
        return None if state == "active" else f"the device is {state}, not active"


def _confirmation(page: httpx.Response) -> Form | None:
    return form_with(page.text, str(page.url), "csrf", action_contains="/activate/")
