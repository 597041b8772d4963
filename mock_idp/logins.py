"""The IdP's own login step: requests waiting for the form, passwords checked, and every
browser step (a sign-in, a refused one) journaled."""

from __future__ import annotations

import secrets
from collections import OrderedDict

from .clock import Clock
from .directory import Directory, User
from .intake import Intake
from .journal import Journal, Verdict
from .refusals import LOGIN_RULE, IdPError, LoginError
from .sso_requests import LoginRequest

MAX_PENDING = 1000


class Logins:
    def __init__(self, directory: Directory, intake: Intake) -> None:
        self.directory = directory
        self.intake = intake
        self._pending: OrderedDict[str, LoginRequest] = OrderedDict()

    @property
    def journal(self) -> Journal:
        return self.intake.journal

    @property
    def clock(self) -> Clock:
        return self.intake.clock

    def remember(self, login: LoginRequest) -> str:
        """Keep a request while the user fills in the login form; returns its handle."""
        handle = secrets.token_urlsafe(18)
        self._pending[handle] = login
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)
        return handle

    def pending(self, handle: str | None) -> LoginRequest | None:
        return self._pending.get(handle) if handle else None

    def forget(self, handle: str) -> None:
        self._pending.pop(handle, None)

    def clear(self) -> None:
        self._pending.clear()

    def authenticate(self, user_name: str, password: str) -> User:
        user = self.directory.authenticate(user_name.strip(), password)
        if user is None:
            raise LoginError("bad-credentials", "unknown user or wrong password")
        return _enabled(user)

    def active_user(self, user_name: str) -> User:
        """The user by name, without a password (in-process SSO for the harness)."""
        user = self.directory.get_user(user_name)
        if user is None:
            raise LoginError("bad-credentials", f"no user {user_name!r}")
        return _enabled(user)

    def refuse(self, reason: str, message: str, status: int = 400) -> IdPError:
        """Journal a refused browser step that carried no SAML message, and return the error."""
        error = IdPError(reason, message, LOGIN_RULE, status=status)
        self.intake.refuse(error, kind="Login", binding=None)
        return error

    def journal_login(
        self, login: LoginRequest, user_name: str, failure: str | None, message: str
    ) -> None:
        self.journal.record(
            time=self.clock.now(),
            direction="in",
            kind="Login",
            binding=None,
            sp=login.sp.entity_id,
            xml=None,
            user=user_name,
            relay_state=login.relay_state,
            verdicts=(Verdict("login", "fail" if failure else "pass", LOGIN_RULE, message),),
            error={"reason": failure, "rule": LOGIN_RULE, "message": message} if failure else None,
        )


def _enabled(user: User) -> User:
    if not user.active:
        raise LoginError("user-inactive", "this account is disabled", status=403)
    return user
