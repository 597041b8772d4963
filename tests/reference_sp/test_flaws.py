"""Each flaw of the reference SP weakens exactly its rule: without it the SP refuses, with it
the bad thing gets through. And a banner warns while any flaw is on."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterator

import pytest
from lxml import etree

from harness.protocol.saml import constants as c
from harness.protocol.saml.mutators import MutatorCall
from harness.protocol.xml import to_bytes
from reference_sp.app import ReferenceSP, Settings
from reference_sp.flaws import FLAWS, UnknownFlawError

from .conftest import ADMINS, World, make_world

USER = "dana@acme.test"
# Proven in test_parser_flaws.py, with the out-of-band listener.
PARSER_FLAWS = frozenset(
    {"name-id-first-text", "resolve-entities", "run-transforms", "match-prefixes", "two-parsers"}
)


def worlds(flaw: str, **options: object) -> Iterator[tuple[World, World]]:
    """A strict world and one with ``flaw``, both with dana provisioned."""
    for strict in make_world("sqlite://", encrypt=False, **options):  # type: ignore[arg-type]
        for flawed in make_world(
            "sqlite://",
            encrypt=False,
            flaws=(flaw,),
            **options,  # type: ignore[arg-type]
        ):
            for world in (strict, flawed):
                world.provision(USER)
            yield strict, flawed


def reason(world: World, fields: dict[str, str]) -> str:
    response = world.http.post("/saml/acs", data=fields, headers={"accept": "application/json"})
    if response.status_code == 303:
        return "signed-in"
    return str(response.json()["reason"])


def mutated(*mutators: str) -> Callable[[World], dict[str, str]]:
    return lambda world: world.response_for(USER, *mutators).fields


def two_assertions(world: World) -> dict[str, str]:
    """S03: an unsigned Response with the attacker's unsigned assertion before the signed one."""
    world.provision("boss@acme.test")
    message = world.response_for(USER)
    root = etree.fromstring(base64.b64decode(message.fields["SAMLResponse"]))
    root.remove(root.find(c.q(c.DS, "Signature")))
    assertion = root.find(c.q(c.SAML, "Assertion"))
    evil = copy.deepcopy(assertion)
    evil.set("ID", "_evil")
    evil.remove(evil.find(c.q(c.DS, "Signature")))
    evil.find(f"{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}").text = "boss@acme.test"
    assertion.addprevious(evil)
    return {"SAMLResponse": base64.b64encode(to_bytes(root)).decode()}


SAML_CASES = [
    ("accept-unsigned", mutated("unsigned"), "unsigned"),
    ("trust-keyinfo-cert", mutated("wrong-key"), "bad-signature"),
    ("skip-audience", mutated("wrong-audience"), "wrong-audience"),
    ("skip-recipient", mutated("wrong-recipient"), "wrong-recipient"),
    ("skip-recipient", mutated("no-recipient"), "no-recipient"),
    ("ignore-expiry", mutated("expired"), "subject-expired"),
    ("ignore-expiry", mutated("not-yet-valid"), "not-yet-valid"),
    ("process-first-assertion-unverified", two_assertions, "assertion-count"),
    ("skip-destination", mutated("wrong-destination"), "wrong-destination"),
    ("skip-issuer", mutated("wrong-issuer"), "wrong-issuer"),
    ("skip-in-response-to", mutated("bad-in-response-to"), "wrong-in-response-to"),
    ("ignore-status", mutated("status"), "status-not-success"),
    ("skip-destination", mutated("no-destination"), "no-destination"),
    ("skip-issuer", mutated("mismatched-issuer"), "wrong-issuer"),
    ("skip-issuer", mutated("issuer-format"), "bad-issuer-format"),
    ("skip-issuer", mutated("no-assertion-issuer"), "no-issuer"),
    ("skip-audience", mutated("no-audience"), "no-audience"),
    ("skip-audience", mutated("extra-audience-restriction"), "wrong-audience"),
    ("ignore-expiry", mutated("inverted-validity"), "bad-conditions"),
    ("ignore-expiry", mutated("subject-not-yet-valid"), "confirmation-not-before"),
    ("ignore-expiry", mutated("no-subject-expiry"), "no-subject-expiry"),
    ("ignore-expiry", mutated("session-expired"), "session-expired"),
    ("any-confirmation-method", mutated("sender-vouches"), "no-bearer"),
    ("ignore-unknown-conditions", mutated("unknown-condition"), "unknown-condition"),
    ("skip-version-check", mutated("wrong-version"), "version-mismatch"),
    ("no-authn-statement-needed", mutated("no-authn-statement"), "no-authn-statement"),
    ("skip-signature-verification", mutated("corrupt-signature"), "bad-signature"),
]


@pytest.mark.parametrize(
    ("flaw", "make", "strict_reason"), SAML_CASES, ids=[f"{f}-{r}" for f, _, r in SAML_CASES]
)
def test_saml_flaw_lets_its_attack_through(
    flaw: str, make: Callable[[World], dict[str, str]], strict_reason: str
) -> None:
    for strict, flawed in worlds(flaw):
        assert reason(strict, make(strict)) == strict_reason
        assert strict.me().status_code == 401
        assert reason(flawed, make(flawed)) == "signed-in"
        assert flawed.me().status_code == 200


def test_flawed_validation_still_enforces_the_other_rules() -> None:
    for _strict, flawed in worlds("skip-audience"):
        assert reason(flawed, mutated("wrong-recipient")(flawed)) == "wrong-recipient"
        assert reason(flawed, mutated("wrong-key")(flawed)) == "bad-signature"


def test_an_edited_message_keeps_its_other_signature_rules() -> None:
    # The flawed SP re-signs only what was signed: the signature policy still holds.
    for _strict, flawed in worlds("skip-destination"):
        both = mutated("wrong-destination", "unsigned-assertion")
        assert reason(flawed, both(flawed)) == "unsigned"
    for _strict, flawed in worlds("skip-signature-verification"):
        assert reason(flawed, mutated("unsigned")(flawed)) == "unsigned"


def test_open_redirect() -> None:
    for strict, flawed in worlds("open-redirect"):
        for world, landing in ((strict, "/account"), (flawed, "https://evil.example/x")):
            location = world.start(email="x@acme.test", RelayState="https://evil.example/x")
            message = world.idp.sso_from_redirect(location, USER)
            response = world.http.post("/saml/acs", data=message.fields)
            assert response.status_code == 303
            assert response.headers["location"] == landing


def test_process_first_assertion_signs_in_the_attackers_choice() -> None:
    for _strict, flawed in worlds("process-first-assertion-unverified"):
        assert reason(flawed, two_assertions(flawed)) == "signed-in"
        assert flawed.me().json()["userName"] == "boss@acme.test"


def test_no_replay_cache() -> None:
    for strict, flawed in worlds("no-replay-cache"):
        for world, second in ((strict, "replayed"), (flawed, "signed-in")):
            message = world.idp.sso(world.sp.entity_id, USER)  # unsolicited: no request to spend
            assert reason(world, message.fields) == "signed-in"
            assert reason(world, message.fields) == second


def test_keep_sessions_on_deprovision() -> None:
    for strict, flawed in worlds("keep-sessions-on-deprovision"):
        for world, after in ((strict, 401), (flawed, 200)):
            user_id = world.scim.filter("Users", f'userName eq "{USER}"').json()["Resources"][0]
            world.sign_in(USER)
            world.deactivate(user_id["id"])
            assert world.me().status_code == after


def test_keep_license_on_deactivate() -> None:
    for strict, flawed in worlds("keep-license-on-deactivate", seats=1):
        for world, waiting_gets_seat in ((strict, True), (flawed, False)):
            holder = world.scim.filter("Users", f'userName eq "{USER}"').json()["Resources"][0]
            world.provision("next@acme.test")
            world.sign_in("next@acme.test")
            assert world.me().json()["license"]["state"] == "waiting"
            world.deactivate(holder["id"])
            state = world.me().json()["license"]["state"]
            assert (state == "held") is waiting_gets_seat


def test_admin_by_stale_group() -> None:
    for strict, flawed in worlds("admin-by-stale-group"):
        for world, still_admin in ((strict, False), (flawed, True)):
            user = world.scim.filter("Users", f'userName eq "{USER}"').json()["Resources"][0]
            world.add_to_group(ADMINS, user["id"])
            world.sign_in(USER)
            world.remove_from_group(ADMINS, user["id"])
            assert ("admin" in world.me().json()["roles"]) is still_admin
            assert (world.http.get("/admin").status_code == 200) is still_admin


def test_keep_activations_on_deprovision() -> None:
    from .test_business_rules import activate, check_in

    for strict, flawed in worlds("keep-activations-on-deprovision"):
        for world, after in ((strict, "revoked"), (flawed, "active")):
            user = world.scim.filter("Users", f'userName eq "{USER}"').json()["Resources"][0]
            world.sign_in(USER)
            activation = activate(world)
            world.deactivate(user["id"])
            assert check_in(world, activation)["status"] == after


def test_sign_in_inactive_users() -> None:
    for strict, flawed in worlds("sign-in-inactive-users"):
        for world, outcome in ((strict, "user-inactive"), (flawed, "signed-in")):
            user = world.scim.filter("Users", f'userName eq "{USER}"').json()["Resources"][0]
            world.deactivate(user["id"])
            assert reason(world, world.response_for(USER).fields) == outcome


def test_keep_session_on_logout() -> None:
    for strict, flawed in worlds("keep-session-on-logout"):
        for world, after in ((strict, 401), (flawed, 200)):
            world.sign_in(USER)
            csrf = world.me().json().get("csrf") or _csrf(world)
            world.http.post("/logout", data={"csrf": csrf})
            assert world.me().status_code == after


def _csrf(world: World) -> str:
    page = world.http.get("/account").text
    marker = 'name="csrf" value="'
    return page.split(marker, 1)[1].split('"', 1)[0]


def test_allow_old_clients() -> None:
    for strict, flawed in worlds("allow-old-clients"):
        for world, status in ((strict, 422), (flawed, 201)):
            body = {"product": "desktop", "clientVersion": "17.1", "deviceId": "old-mac"}
            assert world.http.post("/api/activations", json=body).status_code == status


def test_scim_ignore_deactivation() -> None:
    for strict, flawed in worlds("scim-ignore-deactivation"):
        for world, active in ((strict, False), (flawed, True)):
            user = world.scim.filter("Users", f'userName eq "{USER}"').json()["Resources"][0]
            response = world.scim.patch(
                f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}]
            )
            assert response.status_code == 200
            assert world.scim.get(f"/Users/{user['id']}").json()["active"] is active


def test_sessions_last_one_request() -> None:
    for strict, flawed in worlds("sessions-last-one-request"):
        for world, later in ((strict, 200), (flawed, 401)):
            world.sign_in(USER)
            assert world.me().status_code == 200
            assert world.me().status_code == later


def test_every_flaw_has_a_test() -> None:
    tested = (
        {f for f, _, _ in SAML_CASES}
        | {f for f, _, _, _ in SIGNATURE_ATTACKS}
        | {
            "no-replay-cache",
            "keep-sessions-on-deprovision",
            "keep-license-on-deactivate",
            "admin-by-stale-group",
            "keep-activations-on-deprovision",
            "sign-in-inactive-users",
            "keep-session-on-logout",
            "allow-old-clients",
            "scim-ignore-deactivation",
            "sessions-last-one-request",
            # two organisations: proven end to end in tests/harness/test_checks_can_fail.py
            "match-users-across-organisations",
            # parser attacks: proven in test_parser_flaws.py
            *PARSER_FLAWS,
            "open-redirect",
            # a key rollover: proven end to end in tests/harness/test_security_suite.py (P06)
            "first-signing-key-only",
            # a second organisation's IdP: proven in tests/harness/test_security_suite.py (S10)
            "trust-every-organisation-key",
            # a decryption oracle: proven in tests/harness/test_security_suite.py (E02)
            "tell-decryption-errors",
            # proven in tests/harness/test_security_suite.py (P05, C08)
            "no-clock-skew",
            "refuse-unsolicited",
            # proven in tests/harness/test_scim_conformance.py (the exact failing checks)
            "scim-username-case-sensitive",
            "scim-patch-not-atomic",
            "scim-ignores-start-index",
            "scim-loses-concurrent-member-adds",
            "scim-error-status-as-number",
            "scim-syntax-error-untyped",
            "scim-value-error-untyped",
            "scim-uniqueness-error-untyped",
            "scim-mutability-error-untyped",
            "scim-replace-unmatched-filter-adds",
            "scim-discovery-accepts-writes",
            "scim-discovery-ignores-filter",
            "scim-put-refuses-foreign-id",
            "scim-refuses-application-json",
            "scim-search-ignores-filter",
            "scim-attributes-drop-id",
            "scim-bulk-ignores-fail-on-errors",
            "scim-bulk-over-max-payload",
            "scim-me-not-found",
            "scim-duplicate-add-refused",
            "scim-keeps-two-primaries",
        }
    )
    assert tested == set(FLAWS)


def test_banner_while_a_flaw_is_on() -> None:
    for strict, flawed in worlds("skip-audience"):
        assert "deliberate flaws" not in strict.http.get("/").text
        page = flawed.http.get("/").text
        assert "deliberate flaws" in page and "skip-audience" in page
        refusal = flawed.http.post("/saml/acs", data={}).text
        assert "skip-audience" in refusal


def test_unknown_flaw_is_refused() -> None:
    with pytest.raises(UnknownFlawError, match="no-such-flaw"):
        ReferenceSP(Settings(db_url="sqlite://", flaws=("no-such-flaw",)))


BOSS = "boss@acme.test"  # the user the attacker wants to be


def attack(mutator: str, **params: object) -> Callable[[World], dict[str, str]]:
    """The mock IdP signs dana in; the mutator makes the message name the attacker's BOSS
    (provisioned too: the SP would refuse an unknown user whatever the signature)."""

    def make(world: World) -> dict[str, str]:
        world.idp.plan_next(MutatorCall(mutator, {"value": BOSS, **params}))
        return world.idp.sso_from_redirect(world.start(), USER).fields

    return make


# (flaw, the attack it lets through, its parameters, how the strict SP refuses it)
SIGNATURE_ATTACKS: list[tuple[str, str, dict[str, object], str]] = [
    ("process-first-assertion-unverified", "extra-assertion", {}, "assertion-count"),
    ("process-first-assertion-unverified", "duplicate-id", {}, "duplicate-id"),
    ("process-first-assertion-unverified", "xsw3", {}, "assertion-count"),
    ("process-first-assertion-unverified", "xsw4", {}, "unsigned"),
    ("process-first-assertion-unverified", "xsw7", {}, "duplicate-id"),
    ("verify-by-reference", "xsw1", {}, "duplicate-id"),
    ("verify-by-reference", "xsw2", {}, "duplicate-id"),
    ("verify-by-reference", "xsw5", {}, "assertion-count"),
    ("verify-by-reference", "xsw6", {}, "bad-reference"),
    ("verify-by-reference", "xsw8", {}, "duplicate-id"),
    ("trust-keyinfo-cert", "keyinfo-self-signed", {}, "bad-signature"),
    ("trust-keyinfo-hmac", "hmac-signature", {}, "bad-signature"),
    ("skip-reference-uri", "reference-uri", {"to": "empty"}, "bad-reference"),
    ("skip-reference-uri", "reference-uri", {"to": "other"}, "bad-reference"),
    ("skip-reference-uri", "reference-uri", {"to": "external"}, "bad-reference"),
    ("first-signed-info", "two-signed-info", {}, "bad-signature"),
    ("digest-first-node", "digest-comment", {}, "bad-signature"),
    ("digest-from-document", "stray-digest", {}, "bad-signature"),
]


@pytest.mark.parametrize(
    ("flaw", "mutator", "params", "strict_reason"),
    SIGNATURE_ATTACKS,
    ids=[f"{f}-{m}-{'-'.join(map(str, p.values()))}" for f, m, p, _ in SIGNATURE_ATTACKS],
)
def test_signature_flaw_signs_the_attacker_in(
    flaw: str, mutator: str, params: dict[str, object], strict_reason: str
) -> None:
    for strict, flawed in worlds(flaw):
        strict.provision(BOSS)
        flawed.provision(BOSS)
        assert reason(strict, attack(mutator, **params)(strict)) == strict_reason
        assert strict.me().status_code == 401
        assert reason(flawed, attack(mutator, **params)(flawed)) == "signed-in"
        assert flawed.me().json()["userName"] == BOSS


@pytest.mark.parametrize(
    ("flaw", "mutator"),
    [
        ("verify-by-reference", "xsw8"),
        ("digest-first-node", "digest-comment"),
        ("trust-keyinfo-cert", "keyinfo-self-signed"),
    ],
)
def test_signature_flaw_reads_inside_the_encrypted_assertion(flaw: str, mutator: str) -> None:
    for flawed in make_world("sqlite://", encrypt=True, flaws=(flaw,)):
        flawed.provision(USER)
        flawed.provision(BOSS)
        assert reason(flawed, attack(mutator)(flawed)) == "signed-in"
        assert flawed.me().json()["userName"] == BOSS


NEW_SIGNATURE_FLAWS = sorted({f for f, _, _, _ in SIGNATURE_ATTACKS} - {"trust-keyinfo-cert"})


@pytest.mark.parametrize("flaw", NEW_SIGNATURE_FLAWS)
def test_a_signature_flaw_lets_only_its_own_shape_through(flaw: str) -> None:
    others = {m for f, m, _, _ in SIGNATURE_ATTACKS if f != flaw}
    for _strict, flawed in worlds(flaw):
        flawed.provision(BOSS)
        for mutator in sorted(others | {"tamper-after-signing", "corrupt-signature", "wrong-key"}):
            assert reason(flawed, attack(mutator)(flawed)) != "signed-in", mutator
