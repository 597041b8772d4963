"""One name per rule: checks, flaws, mutators and every refusal (the SP's error pages, the mock
IdP's journal and pages, the core's) cite only ids the requirement registry holds."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from harness.checks import catalog
from harness.protocol.requirements import (
    REQUIREMENTS,
    UnknownRequirementError,
    requirement,
    rule,
)
from harness.protocol.saml.mutators import MUTATORS
from harness.protocol.scim.deviations import KNOWN_DEVIATIONS
from mock_idp import flaws as idp_flaws
from reference_sp import flaws as sp_flaws

ROOT = Path(__file__).resolve().parent.parent
# What a rule id looks like; any string literal of this shape in the code must be registered.
RULE_ID = re.compile(
    r"^(?:SAML-(?:CORE|BIND|PROF|MD)|SDP|IIP|XMLDSIG|XML-1\.0|RFC\d{4}|HTTP|BIZ|SP|IDP)"
    r"(?:-[A-Z0-9][A-Za-z0-9.]*)*$"
)
# Prefixes alone, and the short names of the SAML bindings (HTTP-POST, HTTP-Redirect) that
# captures and decode print.
NOT_RULES = {"SP", "IDP", "BIZ", "SDP", "IIP", "HTTP", "HTTP-POST", "HTTP-Redirect"}


def _cited_in_code() -> dict[str, list[str]]:
    """Every rule-shaped string literal in the code of the three parts, with where it stands."""
    cited: dict[str, list[str]] = {}
    for package in ("harness", "mock_idp", "reference_sp"):
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix == ".py":
                tree = ast.parse(path.read_text(encoding="utf-8"))
                literals = [
                    (node.value, node.lineno)
                    for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)
                ]
            elif path.suffix == ".html":
                words = re.finditer(r"\b[A-Z][A-Z0-9]+-[A-Z0-9][A-Za-z0-9.-]*", path.read_text())
                literals = [(m.group(0).rstrip("."), 0) for m in words]
            else:
                continue
            for value, line in literals:
                if RULE_ID.match(value) and value not in NOT_RULES:
                    cited.setdefault(value, []).append(f"{path.relative_to(ROOT)}:{line}")
    return cited


def test_every_rule_cited_in_the_code_is_registered() -> None:
    cited = _cited_in_code()
    unknown = {rule_id: where for rule_id, where in cited.items() if rule_id not in REQUIREMENTS}
    assert not unknown
    # The scan sees the refusals of all three parts, not only the definitions.
    assert {"BIZ-SIGNIN-1", "SAML-PROF-4.1.4.3", "IDP-LOGIN", "SDP-G03"} <= cited.keys()


def test_checks_flaws_mutators_and_deviations_cite_registered_rules() -> None:
    cited = {
        **{f"check {c.id}": c.requirement for c in catalog.ALL},
        **{f"sp flaw {f.name}": f.rule for f in sp_flaws.FLAWS.values()},
        **{f"idp flaw {f.name}": f.rule for f in idp_flaws.FLAWS},
        **{f"mutator {m.name}": m.rule for m in MUTATORS},
        **{f"deviation {code}": rule_id for code, (rule_id, _) in KNOWN_DEVIATIONS.items()},
    }
    assert {who: rule_id for who, rule_id in cited.items() if rule_id not in REQUIREMENTS} == {}


def test_a_check_takes_its_level_and_clause_from_the_registry() -> None:
    for check in catalog.ALL:
        registered = REQUIREMENTS[check.requirement]
        assert (check.level, check.clause) == (registered.level, registered.text), check.id
        assert check.clause


def test_every_registered_rule_has_a_source_and_a_clause() -> None:
    for registered in REQUIREMENTS.values():
        assert registered.source and registered.text.endswith("."), registered.id


def test_an_unknown_id_is_refused_with_the_nearest_known_one() -> None:
    with pytest.raises(UnknownRequirementError, match="did you mean 'BIZ-ADMIN-1'"):
        rule("BIZ-ADMIN")
    assert requirement("SAML-PROF-4.1.4.3").level == "MUST"


def test_a_flaw_citing_an_unknown_rule_fails_when_defined() -> None:
    with pytest.raises(UnknownRequirementError):
        sp_flaws.Flaw("accept-anything", "SP-NOT-A-RULE", "accepts anything")
    with pytest.raises(UnknownRequirementError):
        idp_flaws.Flaw("send-anything", "sends anything", "IDP-NOT-A-RULE")


def test_an_idp_flaw_that_sends_one_mutation_is_named_after_its_mutator() -> None:
    for flaw in idp_flaws.FLAWS:
        if len(flaw.mutators) == 1:
            assert flaw.name == flaw.mutators[0].name, flaw.name
