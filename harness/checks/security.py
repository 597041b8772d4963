"""Judging the security cases by identity: who, if anyone, the SP's me probe names after the
case's response, told apart as nobody, the subject the IdP signed, the attacker's choice, or
someone else. An out-of-band fetch or an answer too slow fails whatever the identity.

A case is judged only against its positive control: P01 (both signed, every field right) must
have signed the user in through the same flow in this world, and the mutated response must
have reached the SP; otherwise it is skipped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from harness.checks.model import Check, CheckFailed, CheckSkipped, CheckWarned, Observed
from harness.checks.security_catalogue import CASES, SecurityCase, Variant
from harness.protocol.requirements import requirement
from harness.signin import SignInAttempt, same_user


@dataclass
class CaseRun:
    """What one variant of a case did at the SP."""

    case: SecurityCase
    variant: Variant
    signed_subject: str  # the NameID the IdP signed (the user signing in at the IdP)
    attacker: str  # the user the attacker wants to be
    attempt: SignInAttempt
    control: SignInAttempt | None  # P01 (or the flow's unmutated sign-in) in this world
    answer_s: float = 0.0  # how long the SP took to answer the posted response
    out_of_band: list[dict[str, Any]] = field(default_factory=list)  # fetches it caused
    off_site: str | None = None  # where the SP sent the browser off-site, if it did
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> str | None:
        return self.attempt.identity

    def who(self) -> str:
        identity = self.identity
        if identity is None:
            return "nobody signed in"
        if same_user(identity, self.attacker) and self.attacker != self.signed_subject:
            return f"signed in as the attacker's choice ({identity})"
        if same_user(identity, self.signed_subject):
            return f"signed in as the signed subject ({identity})"
        return f"signed in as {identity}"

    def found(self) -> dict[str, Any]:
        case = self.case
        out = {
            "case": {
                "id": case.id,
                "title": case.title,
                "kind": case.kind,
                "variant": self.variant.name,
                "references": [case.rule, *case.references],
            },
            "observed": self.who(),
            "exchange": self.attempt.exchange,
            **self.evidence,
        }
        if self.answer_s:
            out["answer_s"] = round(self.answer_s, 3)
        if self.out_of_band:
            out["out_of_band"] = self.out_of_band
        return out


def _unjudgeable(run: CaseRun) -> str | None:
    attempt = run.attempt
    if attempt.me_failed is not None:
        return attempt.me_failed
    if not attempt.delivered:
        return f"the response never reached the SP: {attempt.describe()}"
    control = run.control
    if control is None:
        return "no positive control: P01 did not run through this flow"
    if not control.signed_in:
        return f"the positive control P01 failed ({control.describe()}): nothing can be judged"
    return None


def _harm(run: CaseRun) -> None:
    """Failures whatever the identity: a fetch the SP made, an answer too slow."""
    if run.out_of_band:
        fetched = run.out_of_band[0]
        raise CheckFailed(
            f"the SP fetched the out-of-band URL the response named ({fetched.get('path')})",
            expected="no request to the out-of-band listener",
            observed=f"{len(run.out_of_band)} request(s) received",
            evidence=run.found(),
        )
    limit = run.case.slow_after_s
    if limit is not None and run.answer_s > limit:
        raise CheckFailed(
            f"the SP took {run.answer_s:.1f} s to answer (limit {limit:.0f} s)",
            expected=f"an answer within {limit:.0f} s",
            observed=f"{run.answer_s:.1f} s",
            evidence=run.found(),
        )


def _signs_in(run: CaseRun) -> Observed | None:
    if run.attempt.signed_in:
        return Observed(run.who(), "signed in", run.found())
    if run.attempt.me_failed is not None:
        raise CheckSkipped(run.attempt.me_failed, evidence=run.found())
    raise CheckFailed(
        f"{run.case.id} must sign the user in: {run.attempt.describe()}",
        expected=f"signed in as {run.signed_subject}",
        observed=run.who(),
        evidence=run.found(),
    )


def _observes(run: CaseRun) -> Observed:
    if run.attempt.signed_in:
        observed = f"accepted ({run.who()})"
    elif run.identity is None:
        observed = "refused (" + run.attempt.describe() + ")"
    else:
        observed = run.who()
    return Observed(observed, "the SP's policy", run.found())


def _refuses(run: CaseRun) -> Observed:
    identity = run.identity
    if identity is None:
        return Observed("refused: nobody signed in", "refused, no session", run.found())
    case = run.case
    forged = same_user(identity, run.attacker) and run.attacker != run.signed_subject
    signed_subject = not forged and same_user(identity, run.signed_subject)
    if signed_subject and case.if_signed_subject == "pass":
        return Observed(run.who(), "never the attacker's choice", run.found())
    if signed_subject and case.if_signed_subject == "warn":
        raise CheckWarned(
            f"the SP accepted the altered response of {case.id}, though it signed in only the "
            "subject the IdP signed (not a forgery; a strict SP refuses the message)",
            expected="refused, no session",
            observed=run.who(),
            evidence=run.found(),
        )
    what = "forged sign-in" if forged else "a session exists"
    raise CheckFailed(
        f"{what} after a response the SP must refuse ({case.id}: {run.variant.name})",
        expected="refused, no session",
        observed=run.who(),
        evidence=run.found(),
    )


_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _over_tls(run: CaseRun) -> Observed:
    acs = run.evidence.get("acs")
    if not acs:
        raise CheckSkipped("the SP's metadata names no HTTP-POST AssertionConsumerService")
    parts = urlsplit(str(acs))
    if run.evidence.get("in_process"):
        raise CheckSkipped(f"the SP runs in-process ({acs}): no transport to judge")
    if parts.scheme == "https":
        return Observed(f"the ACS is {acs}", "https", {"acs": acs})
    if parts.hostname in _LOOPBACK:
        raise CheckSkipped(f"the ACS is on loopback ({acs}): a test deployment, TLS not judged")
    raise CheckFailed(
        "the SP takes SAML responses over plain HTTP",
        expected="an https AssertionConsumerService",
        observed=str(acs),
        evidence={"acs": acs},
    )


def _stays_on_site(run: CaseRun) -> Observed:
    if run.attempt.left_site is not None:
        raise CheckFailed(
            f"the SP sent the browser off-site to {run.attempt.left_site!r} after sign-in",
            expected="a landing on the SP's own site (or a refusal)",
            observed=run.attempt.left_site,
            evidence=run.found(),
        )
    where = run.attempt.landed_on or "refused"
    return Observed(f"stayed on the SP ({where}; {run.who()})", "no off-site redirect", run.found())


def _alike(run: CaseRun) -> Observed:
    """E02: every broken ciphertext refused, and refused the same way (status and reason)."""
    probes = run.evidence.get("oracle_probes", [])
    if not probes:
        raise CheckSkipped("no broken ciphertext reached the SP", evidence=run.found())
    lost = [p["part"] for p in probes if not p.get("delivered")]
    if lost:  # an answer to a message the SP never saw says nothing of its decryption
        raise CheckSkipped(
            f"the broken ciphertext never reached the SP ({', '.join(lost)})",
            evidence=run.found(),
        )
    signed = [p for p in probes if p.get("identity")]
    if signed:
        raise CheckFailed(
            f"a session exists after a ciphertext that cannot decrypt ({signed[0]['part']})",
            expected="refused, no session",
            observed=f"signed in as {signed[0]['identity']}",
            evidence=run.found(),
        )
    answers = {(p.get("status"), p.get("reason")) for p in probes}
    if len(answers) > 1:
        told = "; ".join(f"{p['part']}: {p.get('status')} {p.get('reason')}" for p in probes)
        raise CheckFailed(
            "the SP answers broken ciphertexts differently, telling which part is wrong",
            expected="one answer for every broken ciphertext",
            observed=told,
            evidence=run.found(),
        )
    status, reason = answers.pop()
    return Observed(f"all refused alike ({status} {reason})", "one answer", run.found())


def judge_case(run: CaseRun) -> Observed | None:
    """The verdict of one variant of a security case."""
    case = run.case
    if case.expect == "tls":
        return _over_tls(run)
    if case.expect == "uniform":
        why = _unjudgeable(run)
        if why is not None:
            raise CheckSkipped(why, evidence=run.found())
        return _alike(run)
    if case.id == "P01":
        return _signs_in(run)
    why_not = _unjudgeable(run)
    _harm(run)
    if why_not is not None:
        raise CheckSkipped(why_not, evidence=run.found())
    if case.expect == "on-site":
        return _stays_on_site(run)
    if case.expect == "signed-in":
        return _signs_in(run)
    if case.expect == "observed":
        return _observes(run)
    return _refuses(run)


def _check(case: SecurityCase, variant: Variant) -> Check:
    rule = requirement(variant.rule or case.rule)
    # A policy is observed, never failed: the check asks for nothing beyond the report, unless
    # harm can be seen (a fetch, a hang), which fails at the rule's level.
    level = "MAY" if case.expect == "observed" and not case.can_harm else rule.level
    title = f"{case.id} {case.title}"
    if len(case.variants) > 1:
        title += f" [{variant.name}]"
    return Check(case.check_id(variant), rule.id, level, title, rule.text, judge_case)


SECURITY_CHECKS: dict[str, Check] = {
    case.check_id(variant): _check(case, variant) for case in CASES for variant in case.variants
}
