"""SAML behaviour an IdP vendor documents as its default although a rule of saml2int asks
otherwise: judged a named deviation (a pass that says so), never a failure, for that vendor
only. The same behaviour from any other IdP fails its check.
"""

from __future__ import annotations

from harness.checks.model import Observed
from harness.verdicts import Verdict

# (vendor, check id) -> the documented default, and where it is documented.
SAML_DEVIATIONS: dict[tuple[str, str], str] = {
    ("entra", "idp.response.response-signed"): (
        "Entra ID signs only the assertion by default (Microsoft Graph tokenIssuancePolicy: "
        "TokenResponseSigningPolicy 'TokenOnly'; the app's SAML signing option 'Sign SAML "
        "assertion')"
    ),
    ("ping", "idp.response.response-signed"): (
        "PingFederate signs the assertion by default and the Response only when the SP "
        "connection's signature policy asks for it"
    ),
}


def named_deviation(verdict: Verdict, vendor: str) -> Verdict:
    """``verdict`` as a named deviation when ``vendor`` documents what failed it."""
    documented = SAML_DEVIATIONS.get((vendor, verdict.check.id))
    if verdict.failure is None or documented is None:
        return verdict
    held = Observed(
        f"deviation: {verdict.failure.message} (documented {vendor} behaviour)",
        expected=verdict.failure.expected,
        evidence={**verdict.failure.evidence, "documented": documented},
    )
    return Verdict(verdict.check, None, verdict.duration_s, verdict.line, held=held)
