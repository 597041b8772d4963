"""A journal entry as a scenario file: the same user signed in through the same preset, with the
same mutators and their parameters, in the form ``sso-harness run FILE`` runs (``sign_in: {user,
preset, mutators, expect}``). Written here, with PyYAML, because the mock IdP does not import
the engine."""

from __future__ import annotations

import re
from collections.abc import Sequence

import yaml

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
