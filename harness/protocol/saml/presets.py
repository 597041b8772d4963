"""What each vendor's IdP sends by default, so an SP can be tried against the real shapes.

Sources: Microsoft Entra "Customize SAML token claims" and "SAML token reference" (claim URIs,
group object IDs, assertion-only signing), Okta "SAML app integration" (plain attribute names
with NameFormat unspecified, xs:string values, Issuer Format entity, response and assertion
signed), PingOne/PingFederate SAML application defaults (basic NameFormat, assertion signed).
Lifetimes are the vendors' documented defaults, rounded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from . import constants as c
from .signing import SignatureChoice


@dataclass(frozen=True)
class AttributeMapping:
    """``source`` is a user field: userName, email, givenName, familyName, displayName,
    externalId, id, groups, group_ids, or any extra attribute name."""

    source: str
    name: str
    name_format: str | None = None
    friendly_name: str | None = None


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    name_id_format: str
    attributes: tuple[AttributeMapping, ...]
    sign_assertion: bool = True
    sign_response: bool = True
    signature: SignatureChoice = field(default_factory=SignatureChoice)
    typed_attribute_values: bool = True
    issuer_format_entity: bool = False
    authn_context_class: str = c.AC_PASSWORD_PROTECTED
    not_before_skew: dt.timedelta = dt.timedelta(minutes=5)
    assertion_lifetime: dt.timedelta = dt.timedelta(minutes=5)
    session_lifetime: dt.timedelta | None = dt.timedelta(hours=8)
    metadata_name_id_formats: tuple[str, ...] = c.NAMEID_FORMATS
    sign_metadata: bool = False
    protocol_prefix: str = "samlp"
    assertion_prefix: str | None = "saml"  # None: the default namespace, as Entra writes it


_ENTRA_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
_ENTRA_MS = "http://schemas.microsoft.com/identity/claims/"

GENERIC = Preset(
    name="generic",
    description="a standards-minded IdP: emailAddress NameID, basic attribute names, signs both",
    name_id_format=c.NAMEID_EMAIL,
    attributes=(
        AttributeMapping("email", "email", c.ATTRNAME_BASIC),
        AttributeMapping("givenName", "givenName", c.ATTRNAME_BASIC),
        AttributeMapping("familyName", "familyName", c.ATTRNAME_BASIC),
        AttributeMapping("displayName", "displayName", c.ATTRNAME_BASIC),
        AttributeMapping("groups", "groups", c.ATTRNAME_BASIC),
    ),
)

ENTRA = Preset(
    name="entra",
    description="Microsoft Entra ID: claim URIs, group object IDs, only the assertion signed",
    name_id_format=c.NAMEID_EMAIL,
    attributes=(
        AttributeMapping("id", _ENTRA_MS + "objectidentifier"),
        AttributeMapping("displayName", _ENTRA_MS + "displayname"),
        AttributeMapping("givenName", _ENTRA_CLAIMS + "givenname"),
        AttributeMapping("familyName", _ENTRA_CLAIMS + "surname"),
        AttributeMapping("email", _ENTRA_CLAIMS + "emailaddress"),
        AttributeMapping("userName", _ENTRA_CLAIMS + "name"),
        AttributeMapping(
            "group_ids", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
        ),
    ),
    sign_assertion=True,
    sign_response=False,
    typed_attribute_values=False,
    authn_context_class=c.AC_PASSWORD,
    assertion_lifetime=dt.timedelta(minutes=70),
    session_lifetime=None,
    metadata_name_id_formats=(c.NAMEID_EMAIL, c.NAMEID_PERSISTENT, c.NAMEID_UNSPECIFIED),
    sign_metadata=True,
    assertion_prefix=None,
)

OKTA = Preset(
    name="okta",
    description="Okta: unspecified NameID, plain attribute names, response and assertion signed",
    name_id_format=c.NAMEID_UNSPECIFIED,
    attributes=(
        AttributeMapping("email", "email", c.ATTRNAME_UNSPECIFIED),
        AttributeMapping("givenName", "firstName", c.ATTRNAME_UNSPECIFIED),
        AttributeMapping("familyName", "lastName", c.ATTRNAME_UNSPECIFIED),
        AttributeMapping("groups", "groups", c.ATTRNAME_UNSPECIFIED),
    ),
    issuer_format_entity=True,
    protocol_prefix="saml2p",
    assertion_prefix="saml2",
    session_lifetime=None,
    metadata_name_id_formats=(c.NAMEID_UNSPECIFIED, c.NAMEID_EMAIL),
)

PING = Preset(
    name="ping",
    description="Ping Identity: emailAddress NameID, basic attribute names, assertion signed",
    name_id_format=c.NAMEID_EMAIL,
    attributes=(
        AttributeMapping("email", "email", c.ATTRNAME_BASIC),
        AttributeMapping("givenName", "given_name", c.ATTRNAME_BASIC),
        AttributeMapping("familyName", "family_name", c.ATTRNAME_BASIC),
        AttributeMapping("groups", "memberOf", c.ATTRNAME_BASIC),
    ),
    sign_response=False,
    session_lifetime=dt.timedelta(hours=8),
    metadata_name_id_formats=(c.NAMEID_EMAIL, c.NAMEID_UNSPECIFIED, c.NAMEID_PERSISTENT),
)


def _index(presets: tuple[Preset, ...]) -> dict[str, Preset]:
    index: dict[str, Preset] = {}
    for preset in presets:
        if preset.name in index:
            raise ValueError(f"duplicate preset {preset.name!r}")
        index[preset.name] = preset
    return index


PRESETS: dict[str, Preset] = _index((GENERIC, ENTRA, OKTA, PING))
