"""The ``replay`` step: a captured SAMLResponse replayed to the SP under test in the scenario's
world (:mod:`harness.replay`), judged by its effect like any sign-in: signed in as the user, or
refused next to a positive control (the same user signing in through the mock IdP)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from harness.checks import catalog
from harness.checks.sign_in import SignInCase
from harness.protocol.saml.encryption import EncryptionChoice
from harness.replay import ReplayError, read_capture, replay_to, world_peer
from harness.scenario.model import Replay, SignIn
from harness.sessions import attempt_sign_in
from harness.signin import SignInAttempt
from harness.verdicts import StepError, Verdict, judged, not_judged
from harness.world import World, session_key

MAX_CAPTURE_PATH = 1024  # longer: an inline capture, never a file name


def _capture_text(world: World, capture: str) -> str | bytes:
    """The capture inline, or read from the file it names beside the scenario."""
    if len(capture) <= MAX_CAPTURE_PATH and "\n" not in capture:
        path = Path(world.run.path).parent / capture
        if path.suffix and path.is_file():
            return path.read_bytes()
    return capture


def _control(world: World, user: str) -> SignInAttempt:
    """The positive control: the same user signing in SP-initiated through the mock IdP."""
    if "sp" not in world.controls:
        world.forget_http_session("control:sp")
        world.controls["sp"] = attempt_sign_in(world, SignIn(user=user, session="control:sp"))
    return world.controls["sp"]


def run_replay(world: World, step: Replay, line: int) -> Iterator[Verdict]:
    checks = [catalog.SIGNS_IN if step.expect == "signed-in" else catalog.REFUSED]
    blocked = world.broken.get("provisioning")
    if blocked is not None:
        world.broken[session_key(step.user)] = blocked
        yield from not_judged(checks, line, blocked)
        return
    try:
        capture = read_capture(_capture_text(world, step.capture))
    except ReplayError as exc:
        raise StepError(f"the capture of the replay at line {line}: {exc}") from None
    control = _control(world, step.user) if step.expect == "refused" else None
    world.forget_http_session(step.user)
    encryption = (
        EncryptionChoice(step.encrypt.block, step.encrypt.transport) if step.encrypt else None
    )
    result = replay_to(
        world_peer(world),
        capture,
        keep=step.keep,
        rng=random.Random(world.seed * 100_003 + line),
        subject=world.user_name(step.user),
        encryption=encryption,
        client=world.http_session(step.user),
    )
    world.evidence.append(
        {"replay": step.user, "sent": result.sent.decode(), "notes": result.notes}
    )
    if result.signed_in:
        world.broken.pop(session_key(step.user), None)
    elif step.expect == "signed-in":
        world.broken[session_key(step.user)] = f"its replay at line {line} failed: " + (
            result.describe()
        )
    case = SignInCase(
        ref=step.user,
        user_name=world.user_name(step.user),
        attempt=result.attempt,
        reason=step.reason,
        control=control,
    )
    for check in checks:
        yield judged(check, line, case)
