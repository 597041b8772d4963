"""What a sign-in's evidence shows of the SAML Response behind it: the Response as the mock IdP
sent it, its assertion in clear (the IdP knows what it encrypted, so a report never shows an
EncryptedAssertion alone), the mutators applied with the rule each breaks, and the fields a
reader compares first (Audience, Recipient, Destination, Issuer, NameID, validity windows),
next to what the SP expected (its entity ID, its ACS, the ID of its AuthnRequest)."""

from __future__ import annotations

from typing import Any

from lxml import etree

from harness.protocol.saml import constants as c
from harness.protocol.saml.mutators import get_mutator
from harness.protocol.xml import XMLSecurityError, parse_xml
from mock_idp.journal import Journal, JournalEntry

MAX_SHOWN = 20_000  # characters of a message kept as evidence
FIELD_SHOWN = 400  # characters of one field's value

_SAML = c.SAML


def pretty_xml(xml: str, limit: int = MAX_SHOWN) -> str:
    """``xml`` indented where it parses (never resolving what a hostile payload declares)."""
    try:  # the evidence only
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        root = etree.fromstring(xml.encode(), parser)
        return etree.tostring(root, pretty_print=True, encoding="unicode")[:limit]
    except etree.XMLSyntaxError:
        return xml[:limit]


def _text(root: etree._Element | None, path: str) -> str | None:
    found = root.find(path, {"saml": _SAML, "samlp": c.SAMLP}) if root is not None else None
    if found is None or found.text is None:
        return None
    return found.text.strip()[:FIELD_SHOWN]


def _attr(root: etree._Element | None, path: str, name: str) -> str | None:
    found = root.find(path, {"saml": _SAML, "samlp": c.SAMLP}) if root is not None else None
    value = found.get(name) if found is not None else None
    return value[:FIELD_SHOWN] if value is not None else None


def _parsed(xml: str | None) -> etree._Element | None:
    if not xml:
        return None
    try:
        return parse_xml(xml.encode())
    except XMLSecurityError:
        return None


def message_fields(response_xml: str | None, assertion_xml: str | None) -> dict[str, str]:
    """The fields of a Response and of its assertion (in clear) that rules judge, by name;
    fields the message lacks are left out."""
    response = _parsed(response_xml)
    assertion = _parsed(assertion_xml)
    if assertion is None and response is not None:
        assertion = response.find(c.q(_SAML, "Assertion"))
    confirmation = "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"
    fields = {
        "Audience": _text(assertion, "saml:Conditions/saml:AudienceRestriction/saml:Audience"),
        "Recipient": _attr(assertion, confirmation, "Recipient"),
        "Destination": response.get("Destination") if response is not None else None,
        "InResponseTo": response.get("InResponseTo") if response is not None else None,
        "Issuer": _text(assertion, "saml:Issuer") or _text(response, "saml:Issuer"),
        "NameID": _text(assertion, "saml:Subject/saml:NameID"),
        "NameID Format": _attr(assertion, "saml:Subject/saml:NameID", "Format"),
        "Status": _attr(response, "samlp:Status/samlp:StatusCode", "Value"),
        "Conditions NotBefore": _attr(assertion, "saml:Conditions", "NotBefore"),
        "Conditions NotOnOrAfter": _attr(assertion, "saml:Conditions", "NotOnOrAfter"),
        "SubjectConfirmation NotOnOrAfter": _attr(assertion, confirmation, "NotOnOrAfter"),
        "SessionIndex": _attr(assertion, "saml:AuthnStatement", "SessionIndex"),
        "Response signed": _signed(response),
        "Assertion signed": _signed(assertion),
        "Assertion encrypted": _encrypted(response),
    }
    return {name: value for name, value in fields.items() if value is not None}


def _signed(root: etree._Element | None) -> str | None:
    if root is None:
        return None
    return "yes" if root.find(c.q(c.DS, "Signature")) is not None else "no"


def _encrypted(response: etree._Element | None) -> str | None:
    if response is None:
        return None
    return "yes" if response.find(c.q(_SAML, "EncryptedAssertion")) is not None else "no"


def response_sent(entry: JournalEntry | None) -> dict[str, Any]:
    """The Response of ``entry`` as evidence: pretty-printed where it parses, the assertion as
    it was before encryption, and the mutators applied with the rule each breaks."""
    if entry is None or entry.xml is None:
        return {}
    mutations = [
        {"mutator": name, "rule": get_mutator(name).rule, "does": get_mutator(name).description}
        for name in entry.mutators
    ]
    sent: dict[str, Any] = {"response_sent": pretty_xml(entry.xml), "mutations": mutations}
    plaintext = entry.details.get("assertion_before_encryption")
    if isinstance(plaintext, str):
        sent["assertion_decrypted"] = pretty_xml(plaintext)
    return sent


def last_response(journal: Journal, since: int = 0) -> JournalEntry | None:
    """The last Response the IdP sent after the journal's entry ``since``."""
    found = journal.entries(kind="Response", direction="out", since=since)
    return found[-1] if found else None


def expected_by_sp(
    journal: Journal, entry: JournalEntry, sp_entity_id: str, since: int
) -> dict[str, str]:
    """What the SP expected of the Response: its entity ID (the Audience), its ACS (Recipient
    and Destination), and the ID of the AuthnRequest it sent in this sign-in (InResponseTo)."""
    expected = {"SP entity ID": sp_entity_id}
    acs = entry.details.get("acs")
    if isinstance(acs, str):
        expected["SP ACS URL"] = acs
    requests = journal.entries(kind="AuthnRequest", direction="in", since=since)
    asked = [r.message_id for r in requests if r.seq < entry.seq and r.message_id]
    if asked:
        expected["AuthnRequest ID"] = str(asked[-1])[:FIELD_SHOWN]
    return expected


def sign_in_evidence(journal: Journal, since: int, sp_entity_id: str) -> dict[str, Any]:
    """The evidence of the Response sent to the SP since the journal's entry ``since``: the
    message (its assertion in clear) and its fields beside what the SP expected."""
    entry = last_response(journal, since)
    if entry is None:
        return {}
    plaintext = entry.details.get("assertion_before_encryption")
    fields = message_fields(entry.xml, plaintext if isinstance(plaintext, str) else None)
    fields |= expected_by_sp(journal, entry, sp_entity_id, since)
    return {"fields": fields, **response_sent(entry)}


def journal_seq(journal: Journal) -> int:
    """The journal's newest entry (0: none): what a later sign-in's evidence starts after."""
    last = journal.last()
    return last.seq if last is not None else 0
