"""How the harness makes an IdP under test act: sign a user in, change its directory, provision.

- The mock IdP is driven through its own API (``MockDriver``).
- A real IdP's login form is filled in like a browser would (``FormDriver``), or a Python
  script of the target file drives it (``ScriptDriver``), for IdPs with an API.
- Whatever cannot be automated an operator is asked to do (``Operator``): the harness prints
  the instruction and waits, with a timeout, for the traffic that shows it was done.

A driver only makes the IdP send; what it sent is recorded by the SP's tap and judged there.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from harness.forms import form_with, post_form
from harness.idp_target import IdpTarget, TestAccount
from harness.signin import ACCEPT, SignInAttempt, sign_in
from harness.transport import Portal
from mock_idp.idp import MockIdP
from mock_idp.provisioning import ProvisioningTarget

PASSWORD = "correct horse battery staple"  # noqa: S105 - the mock directory's users


class DriverError(Exception):
    """The driver could not make the IdP act (a login form not found, a script that failed):
    the checks that needed it are skipped with this reason."""


@dataclass(frozen=True)
class SignInStart:
    """Where a sign-in starts and for whom."""

    account: TestAccount
    via: str  # "sp": the SP's login URL; "idp": the IdP's own start (IdP-initiated)
    sp_base: str
    sp_entity_id: str
    login_url: str  # the SP's SP-initiated start
    relay_state: str | None = None


class IdpDriver(Protocol):
    # How long a message may still be on its way to the SP after ``deliver`` returns: none
    # where the harness posts the IdP's answer itself, a little where a person's browser does.
    arrival_grace_s: float

    def ensure_group(self, name: str) -> None: ...
    def hire(self, account: TestAccount, groups: tuple[str, ...], *, active: bool) -> None: ...
    def change(self, action: str, account: TestAccount, group: str | None = None) -> None: ...
    def provision(self, cycle: str) -> None: ...
    def deliver(self, client: httpx.Client, start: SignInStart) -> list[dict[str, Any]]:
        """Drive the IdP until it posts a Response to the SP; the exchange, as evidence."""
        ...


def _instruction(action: str, user: str, group: str | None) -> str:
    return {
        "hire": f"create the user {user} and assign it to the SP's application",
        "block": f"block (suspend) the user {user}",
        "reactivate": f"reactivate the user {user}",
        "unassign": f"unassign the user {user} from the SP's application",
        "delete": f"delete the user {user}",
        "add_to_group": f"add the user {user} to the group '{group}'",
        "remove_from_group": f"remove the user {user} from the group '{group}'",
    }.get(action, f"{action} {user}")


@dataclass
class Operator:
    """A person at the IdP's console. ``say`` shows an instruction; on a terminal, Enter tells
    the harness an action without traffic of its own is done. Waits end at ``timeout_s``."""

    say: Callable[[str], None] = field(default=lambda text: print(text, file=sys.stderr))
    timeout_s: float = 300.0
    terminal: bool = False

    def ask(self, text: str) -> None:
        self.say(f"[operator] {text}")
        if self.terminal:
            input("[operator] press Enter when done ")

    def await_traffic(self, text: str, arrived: Callable[[], bool], quiet_s: float = 0.0) -> bool:
        """Show ``text``, then wait until ``arrived()`` (and ``quiet_s`` more for stragglers)."""
        self.say(f"[operator] {text} (waiting up to {self.timeout_s:.0f} s)")
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if arrived():
                time.sleep(quiet_s)
                return True
            time.sleep(0.05)
        return False


class MockDriver:
    """The mock IdP, through its API: its directory, its provisioning engine, its login form."""

    arrival_grace_s = 0.0

    def __init__(
        self,
        idp: MockIdP,
        portal: Portal,
        scim_url: str,
        scim_token: str,
        dialect: str,
        scim_transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.idp = idp
        self.portal = portal
        self.target = ProvisioningTarget(scim_url=scim_url, token=scim_token, dialect=dialect)
        self.scim_transport = scim_transport

    def ensure_group(self, name: str) -> None:
        self.idp.script.ensure_group(name)

    def hire(self, account: TestAccount, groups: tuple[str, ...], *, active: bool) -> None:
        name = account.user_name
        self.idp.add_user(
            name,
            password=PASSWORD,
            email=name,
            given_name=name.split("@")[0].split(".")[0].capitalize(),
            family_name="Tester",
            groups=list(groups),
            active=active,
            external_id=f"ext-{name}",
        )

    def change(self, action: str, account: TestAccount, group: str | None = None) -> None:
        script = self.idp.script
        name = account.user_name
        if group is not None:
            getattr(script, action)(name, group)
            return
        method = {
            "block": script.block_user,
            "reactivate": script.unblock_user,
            "unassign": script.unassign_user,
            "delete": script.remove_user,
        }[action]
        method(name)

    def provision(self, cycle: str) -> None:
        engine = self.idp.provisioning
        engine.configure(self.target)
        engine.transport = self.scim_transport
        report = self.portal.call(engine.run_cycle, cycle)
        if report.aborted:
            raise DriverError(f"the provisioning cycle was aborted: {report.aborted}")

    def deliver(self, client: httpx.Client, start: SignInStart) -> list[dict[str, Any]]:
        attempt = sign_in(
            client,
            sp_base=start.sp_base,
            idp_base=self.idp.base_url,
            sp_entity_id=start.sp_entity_id,
            user_name=start.account.user_name,
            password=PASSWORD,
            via=start.via,
            relay_state=start.relay_state,
            start=None if start.via == "idp" else start.login_url,
        )
        return _exchange(attempt)


def _exchange(attempt: SignInAttempt) -> list[dict[str, Any]]:
    return attempt.exchange


class _Directory:
    """Directory changes and provisioning of a real IdP: the script's functions where it
    defines them, an operator's hands otherwise."""

    arrival_grace_s = 0.0  # the harness posts the IdP's answer itself

    def __init__(self, target: IdpTarget, operator: Operator, scim_traffic: Callable[[], int]):
        self.target = target
        self.operator = operator
        self.scim_traffic = scim_traffic  # how many SCIM requests the SP has seen so far

    def ensure_group(self, name: str) -> None:
        self.operator.ask(f"In the IdP, make sure the group '{name}' exists and is pushed.")

    def hire(self, account: TestAccount, groups: tuple[str, ...], *, active: bool) -> None:
        """A scenario's user: the target file's test account, which exists in the IdP already
        (a script's ``hire`` is called where it defines one)."""
        function = self.target.script.get("hire")
        if function is not None:
            try:
                function(account.user_name, list(groups), active)
            except Exception as exc:  # the user's script
                raise DriverError(f"the script's hire() failed: {exc}") from None

    def change(self, action: str, account: TestAccount, group: str | None = None) -> None:
        function = self.target.script.get(action)
        if function is None:
            self.operator.ask(f"In the IdP, {_instruction(action, account.user_name, group)}.")
            return
        try:
            function(account.user_name, *([group] if group is not None else []))
        except Exception as exc:  # the user's script: its failure is reported, not raised on
            raise DriverError(f"the script's {action}() failed: {exc}") from None

    def provision(self, cycle: str) -> None:
        if not self.target.provisions:
            return
        function = self.target.script.get("provision")
        before = self.scim_traffic()
        if function is not None:
            try:
                function(cycle)
            except Exception as exc:  # the user's script
                raise DriverError(f"the script's provision() failed: {exc}") from None
            return
        arrived = self.operator.await_traffic(
            "Let the IdP provision the SP now (e.g. 'provision on demand' for the users above).",
            lambda: self.scim_traffic() > before,
            quiet_s=5.0,
        )
        if not arrived:
            raise DriverError("no SCIM request reached the SP while waiting for provisioning")


class FormDriver(_Directory):
    """Fills the IdP's login form, as a browser would, with the target file's field names."""

    def deliver(self, client: httpx.Client, start: SignInStart) -> list[dict[str, Any]]:
        if start.via == "idp":
            raise DriverError("an IdP-initiated start needs an operator (mode = 'interactive')")
        attempt = sign_in(
            client,
            sp_base=start.sp_base,
            idp_base="",  # a real IdP's login may span several hosts: any but the SP's
            sp_entity_id=start.sp_entity_id,
            user_name=start.account.user_name,
            password=start.account.password or "",
            relay_state=start.relay_state,
            start=start.login_url,
            login_fields=(self.target.username_field, self.target.password_field),
        )
        return _exchange(attempt)


class ScriptDriver(_Directory):
    """The target file's script signs the user in and returns the page holding the IdP's form
    to the SP; the harness posts it, as the browser's auto-submit would."""

    def deliver(self, client: httpx.Client, start: SignInStart) -> list[dict[str, Any]]:
        if start.via == "idp":
            raise DriverError("an IdP-initiated start needs an operator (mode = 'interactive')")
        account = start.account
        try:
            page = self.target.script["sign_in"](
                client, start.login_url, account.user_name, account.password
            )
        except Exception as exc:  # the user's script
            raise DriverError(f"the script's sign_in() failed: {exc}") from None
        if not isinstance(page, httpx.Response):
            raise DriverError("the script's sign_in() must return the httpx.Response it ended on")
        form = form_with(page.text, str(page.url), "SAMLResponse")
        if form is None:
            raise DriverError(f"the page the script ended on ({page.url}) has no SAMLResponse form")
        answer = post_form(client, form.action, form.fields, ACCEPT)
        return [{"request": f"POST {form.action}", "status": answer.status_code}]


class InteractiveDriver(_Directory):
    """An operator signs in from a browser; the harness waits for the Response at the ACS."""

    arrival_grace_s = 0.5

    def __init__(
        self,
        target: IdpTarget,
        operator: Operator,
        scim_traffic: Callable[[], int],
        responses: Callable[[], int],
    ) -> None:
        super().__init__(target, operator, scim_traffic)
        self.responses = responses  # how many Responses the SP's ACS has received so far

    def deliver(self, client: httpx.Client, start: SignInStart) -> list[dict[str, Any]]:
        before = self.responses()
        user = start.account.user_name
        where = (
            "from the IdP's portal (its tile or link for this SP)"
            if start.via == "idp"
            else f"by opening {start.login_url} in a browser"
        )
        if not self.operator.await_traffic(
            f"Sign in as {user} {where}.", lambda: self.responses() > before
        ):
            raise DriverError(f"no SAML Response reached the SP while waiting for {user}")
        return [{"operator": f"signed in as {user} {where}"}]


def driver_for(
    target: IdpTarget,
    operator: Operator,
    scim_traffic: Callable[[], int],
    responses: Callable[[], int],
) -> IdpDriver:
    if target.mode == "form":
        return FormDriver(target, operator, scim_traffic)
    if target.mode == "script":
        return ScriptDriver(target, operator, scim_traffic)
    return InteractiveDriver(target, operator, scim_traffic, responses)
