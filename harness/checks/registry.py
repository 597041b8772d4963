"""Every check, in one explicit list (nothing registers itself on import; a duplicate id is an
error at start)."""

from __future__ import annotations

from harness.checks import catalog
from harness.checks.idp_metadata import IDP_METADATA_CHECKS
from harness.checks.idp_requests import IDP_REQUEST_CHECKS
from harness.checks.idp_saml import IDP_LOGOUT_CHECKS, IDP_RESPONSE_CHECKS
from harness.checks.idp_scim import IDP_SCIM_CHECKS
from harness.checks.model import Check
from harness.checks.scim_conformance import CHECKS as SCIM_CONFORMANCE_CHECKS
from harness.checks.security import SECURITY_CHECKS

CHECKS: tuple[Check, ...] = (
    *catalog.ALL,
    *SECURITY_CHECKS.values(),
    *IDP_RESPONSE_CHECKS,
    *IDP_LOGOUT_CHECKS,
    *IDP_METADATA_CHECKS,
    *IDP_SCIM_CHECKS,
    *IDP_REQUEST_CHECKS,
    *SCIM_CONFORMANCE_CHECKS.values(),
)


def check_by_id() -> dict[str, Check]:
    found: dict[str, Check] = {}
    for check in CHECKS:
        if check.id in found:
            raise ValueError(f"duplicate check id {check.id!r}")
        found[check.id] = check
    return found
