"""The parser flaws of the reference SP: the strict SP refuses each parser attack (and fetches
nothing), the flawed one lets its attack through: signed in as the prefix user, or a fetch the
out-of-band listener records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.out_of_band import OutOfBandListener
from harness.protocol.saml.mutators import MutatorCall
from reference_sp.saml_flaws import SAML_FLAWS

from .conftest import World, make_world
from .test_flaws import PARSER_FLAWS, USER, reason, worlds

# dana@acme.test is provisioned; the IdP signs dana@acme.test.evil.example for the attacker.
ATTACKER = "dana@acme.test.evil.example"


@pytest.fixture
def oob() -> Iterator[OutOfBandListener]:
    with OutOfBandListener() as listener:
        yield listener


def posted(world: World, user: str, *calls: MutatorCall) -> dict[str, str]:
    world.idp.plan_next(*calls)
    return world.idp.sso_from_redirect(world.start(), user).fields


def attacker_at_idp(world: World) -> None:
    world.idp.add_user(ATTACKER, password="pw", email=ATTACKER)


def signed_in_as(world: World) -> str | None:
    me = world.me()
    return str(me.json()["userName"]) if me.status_code == 200 else None


@pytest.mark.parametrize("kind", ["comment", "pi", "cdata"])
def test_name_id_first_text_signs_in_the_prefix_user(kind: str) -> None:
    call = MutatorCall("comment-in-name-id", {"value": ATTACKER, "kind": kind})
    for strict, flawed in worlds("name-id-first-text"):
        for world in (strict, flawed):
            attacker_at_idp(world)
        # Strict: the whole NameID, a user this SP does not know, is no one signed in.
        assert reason(strict, posted(strict, ATTACKER, call)) != "signed-in"
        assert signed_in_as(strict) is None
        assert reason(flawed, posted(flawed, ATTACKER, call)) == "signed-in"
        assert signed_in_as(flawed) == USER


@pytest.mark.parametrize("kind", ["comment", "pi"])
def test_name_id_first_text_reads_an_encrypted_name_id_too(kind: str) -> None:
    # The comment travels inside the EncryptedAssertion; the SP decrypts, then misreads.
    call = MutatorCall("comment-in-name-id", {"value": ATTACKER, "kind": kind})
    for flaws, expected in (((), None), (("name-id-first-text",), USER)):
        for world in make_world("sqlite://", encrypt=True, flaws=flaws):
            world.provision(USER)
            attacker_at_idp(world)
            fields = posted(world, ATTACKER, call)
            assert (reason(world, fields) == "signed-in") is (expected is not None)
            assert signed_in_as(world) == expected


@pytest.mark.parametrize("mutator", ["external-entity", "external-dtd"])
def test_resolve_entities_fetches_what_the_strict_sp_never_opens(
    mutator: str, oob: OutOfBandListener
) -> None:
    for strict, flawed in worlds("resolve-entities"):
        strict_token, flawed_token = oob.new_token("strict"), oob.new_token("flawed")
        call = MutatorCall(mutator, {"url": oob.url(strict_token)})
        assert reason(strict, posted(strict, USER, call)) == "doctype"
        assert oob.hits(strict_token) == []
        call = MutatorCall(mutator, {"url": oob.url(flawed_token)})
        assert reason(flawed, posted(flawed, USER, call)) == "signed-in"
        assert [hit.method for hit in oob.hits(flawed_token)] == ["GET"]


def test_resolve_entities_expands_billion_laughs_before_refusing() -> None:
    for strict, flawed in worlds("resolve-entities"):
        call = MutatorCall("entity-expansion", {})
        assert reason(strict, posted(strict, USER, call)) == "doctype"
        # libxml2's amplification limit stops the expansion the flawed SP started.
        assert reason(flawed, posted(flawed, USER, call)) == "malformed"
        small = MutatorCall("entity-expansion", {"levels": 2, "width": 3})
        assert reason(flawed, posted(flawed, USER, small)) == "bad-signature"


def test_run_transforms_fetches_the_stylesheets_document(oob: OutOfBandListener) -> None:
    for strict, flawed in worlds("run-transforms"):
        strict_token, flawed_token = oob.new_token("strict"), oob.new_token("flawed")
        call = MutatorCall("xslt-transform", {"url": oob.url(strict_token)})
        assert reason(strict, posted(strict, USER, call)) == "bad-transform"
        assert oob.hits(strict_token) == []
        call = MutatorCall("xslt-transform", {"url": oob.url(flawed_token)})
        assert reason(flawed, posted(flawed, USER, call)) == "bad-transform"
        assert len(oob.hits(flawed_token)) == 1


def test_match_prefixes_reads_the_look_alike() -> None:
    boss = "boss@acme.test"
    calls = (
        MutatorCall("unsigned-response", {}),
        MutatorCall("prefix-redeclared", {"value": boss}),
    )
    for strict, flawed in worlds("match-prefixes"):
        for world in (strict, flawed):
            world.provision(boss)
        assert reason(strict, posted(strict, USER, *calls)) == "unexpected-element"
        assert reason(flawed, posted(flawed, USER, *calls)) == "signed-in"
        assert signed_in_as(flawed) == boss
        # A signed Response covers the look-alike: the flaw alone does not get it through.
        signed = MutatorCall("prefix-redeclared", {"value": boss})
        assert reason(flawed, posted(flawed, USER, signed)) == "unexpected-element"


def test_two_parsers_verify_the_original_and_read_the_wrapper() -> None:
    boss = "boss@acme.test"
    call = MutatorCall("doctype-differential", {"value": boss})
    for strict, flawed in worlds("two-parsers"):
        for world in (strict, flawed):
            world.provision(boss)
        assert reason(strict, posted(strict, USER, call)) == "doctype"
        assert reason(flawed, posted(flawed, USER, call)) == "signed-in"
        assert signed_in_as(flawed) == boss


@pytest.mark.parametrize("mutator", ["xsw10", "namespace-differential"])
def test_dtd_wrappings_are_refused_even_by_a_dtd_reading_sp(mutator: str) -> None:
    for strict, flawed in worlds("resolve-entities"):
        assert reason(strict, posted(strict, USER, MutatorCall(mutator, {}))) == "doctype"
        assert reason(flawed, posted(flawed, USER, MutatorCall(mutator, {}))) != "signed-in"


def test_every_parser_flaw_is_a_saml_flaw() -> None:
    assert PARSER_FLAWS <= SAML_FLAWS
