"""A journal entry as a scenario file: the same user signed in through the same preset, with the
same mutators and their parameters, in the form ``sso-harness run FILE`` runs (``sign_in: {user,
preset, mutators, expect}``). Written here, with PyYAML, because the mock IdP does not import
the engine."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

import yaml

from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.decode import decode_message
from harness.protocol.xml import parse_xml

from .journal import JournalEntry
from .refusals import APIError

PRESETS = ("generic", "entra", "okta", "ping")


def user_ref(user_name: str) -> str:
    """A scenario ``ref`` for ``user_name`` (``^[a-z][a-z0-9_-]*$``); the runner mints the name."""
    local = user_name.split("@", 1)[0].lower()
    ref = re.sub(r"[^a-z0-9_-]+", "-", local).strip("-")[:40]
    return ref if ref[:1].isalpha() else f"user-{ref}".rstrip("-")


def _sign_in(entry: JournalEntry, ref: str, preset: str) -> dict[str, object]:
    step: dict[str, object] = {"user": ref}
    if entry.in_response_to is None:
        step["via"] = "idp"
    if entry.relay_state:
        step["relay_state"] = entry.relay_state
    if preset in PRESETS:
        step["preset"] = preset
    if entry.mutators:
        step["mutators"] = _mutators(entry)
    step["expect"] = "refused" if entry.mutators else "signed-in"
    return step


def _mutators(entry: JournalEntry) -> list[object]:
    """The mutators as the scenario language takes them: a name, or {name: {param: value}}
    where the IdP applied it with parameters (a clock skew of its own, a chosen value)."""
    calls = entry.details.get("mutator_calls")
    if not isinstance(calls, list) or len(calls) != len(entry.mutators):
        return list(entry.mutators)
    return [
        {call["name"]: dict(call["params"])} if call.get("params") else call["name"]
        for call in calls
    ]


def _notes(entry: JournalEntry, entity_id: str) -> list[str]:
    notes = [
        f"Reproduces journal entry #{entry.seq} of the mock IdP {entity_id}:",
        f"a Response to {entry.sp} for {entry.user} at {entry.time.isoformat()}.",
        "The run signs a fresh user in the same way; a broken response must be refused.",
    ]
    flaws = entry.details.get("flaws")
    if isinstance(flaws, list) and flaws:
        notes.append(f"The IdP ran with the flaws {', '.join(flaws)} (their breaks are listed).")
    return notes


def scenario_yaml(
    entry: JournalEntry, *, entity_id: str, preset: str, groups: Sequence[str] = ()
) -> str:
    """The scenario reproducing ``entry`` (a Response the IdP sent to a user), as YAML text."""
    if entry.kind != "Response" or entry.direction != "out" or not entry.user:
        raise APIError(
            "not-reproducible",
            f"entry #{entry.seq} is a {entry.direction} {entry.kind}: only a Response sent to "
            "a user can be reproduced",
            status=409,
        )
    ref = user_ref(entry.user)
    user: dict[str, object] = {"ref": ref}
    if groups:
        user["groups"] = list(groups)
    document = {
        "title": f"Reproduce journal entry {entry.seq}: "
        + (", ".join(entry.mutators) or "a good response"),
        "tags": ["reproduction"],
        "given": {"users": [user]},
        "steps": [{"provision": "initial"}, {"sign_in": _sign_in(entry, ref, preset)}],
    }
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=None, allow_unicode=True)
    header = "".join(f"# {line}\n" for line in _notes(entry, entity_id))
    return header + body


def capture_scenario_yaml(capture: str) -> str:
    """A scenario replaying an uploaded capture (a SAMLResponse as base64, XML, a form body or a
    URL) with the ``replay`` step: its user signed in by the capture, rewritten for the SP and
    re-signed as captured. An encrypted assertion needs the SP's key, which only
    ``sso-harness replay --sp-key`` holds."""
    try:
        message = decode_message(capture)
        root = parse_xml(message.xml)
    except Refusal as exc:
        raise APIError("not-a-capture", f"not a SAML message: {exc.message}", status=422) from exc
    if message.kind != "Response":
        raise APIError("not-a-response", f"a {message.kind}: only a Response replays", status=422)
    if root.find(c.q(c.SAML, "EncryptedAssertion")) is not None:
        raise APIError(
            "encrypted-capture",
            "the assertion is encrypted: run `sso-harness replay CAPTURE --sp-key KEY --scenario "
            "FILE` with the key of the SP it was encrypted for",
            status=422,
        )
    name_id = root.find(f".//{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}")
    subject = (name_id.text or "").strip() if name_id is not None else ""
    ref = user_ref(subject or "user")
    domain = subject.rpartition("@")[2].lower() if "@" in subject else "example.com"
    document = {
        "title": f"Replay of an uploaded response for {subject or 'its subject'}",
        "tags": ["reproduction"],
        "given": {"organisation": {"email_domain": domain}, "users": [{"ref": ref}]},
        "steps": [
            {"provision": "initial"},
            {
                "replay": {
                    "user": ref,
                    "capture": base64.b64encode(message.xml).decode("ascii"),
                    "expect": "signed-in",
                }
            },
        ],
    }
    header = "# Replays the uploaded Response: it must sign its user in once the bug is fixed.\n"
    return header + yaml.safe_dump(document, sort_keys=False, width=100)
