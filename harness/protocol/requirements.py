"""The one registry of requirements: every rule id the project cites, with its clause.

Checks (``harness.checks.catalog``), flaws (the reference SP's and the mock IdP's), mutators,
refusals (the SP's error pages, the IdP's journal) and SCIM deviations all cite a rule by the id
registered here, so one rule has one name everywhere. :func:`rule` is how a definition cites
one: an unknown id fails at import, with the nearest known id.

Ids: ``SAML-CORE-*``, ``SAML-BIND-*``, ``SAML-PROF-*`` and ``SAML-MD-*`` cite the SAML 2.0
specifications by section; ``XMLDSIG-*`` and ``XML-1.0*`` the W3C recommendations; ``SDP-*``
the saml2int deployment profile v2.0 and ``IIP-*`` its implementation profile v1.1;
``RFC7643-*`` and ``RFC7644-*`` SCIM; ``BIZ-*`` the business-account rules of an SP integrated
with a corporate IdP; ``HTTP-*``, ``RFC9110``, ``SP-*`` and ``IDP-*`` rules of a web application on
either side.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Final, Literal

Level = Literal["MUST", "SHOULD", "MAY"]


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    source: str  # "SAML 2.0 Profiles §4.1.4.3", "RFC 7644 §3.6", "business rule"
    text: str  # the clause, in a sentence


class UnknownRequirementError(KeyError):
    """A rule id that the registry does not hold (a typo, or a rule not registered yet)."""


_CORE = "SAML 2.0 Core"
_BIND = "SAML 2.0 Bindings"
_PROF = "SAML 2.0 Profiles"
_MD = "SAML 2.0 Metadata"
_SDP = "saml2int v2.0"
_BIZ = "business rule"

_ALL: Final = (
    # SAML 2.0 Core
    Requirement(
        "SAML-CORE-1.2",
        "MUST",
        f"{_CORE} §1.2 (notation: namespace prefixes)",
        "An element is known by its namespace and local name; a prefix is only notation, so "
        "a familiar prefix bound to another namespace does not make an element SAML or XML-DSig.",
    ),
    Requirement(
        "SAML-CORE-1.3.3",
        "MUST",
        f"{_CORE} §1.3.3 (time values)",
        "A time value is an xs:dateTime in UTC, with no other time zone.",
    ),
    Requirement(
        "SAML-CORE-1.3.4",
        "MUST",
        f"{_CORE} §1.3.4 (ID and ID reference values)",
        "An ID value identifies one element: no two elements of a message share an ID.",
    ),
    Requirement(
        "SAML-CORE-2.3.3",
        "MUST",
        f"{_CORE} §2.3.3 (<Assertion>)",
        "An assertion carries Version 2.0, an ID, an IssueInstant and an Issuer.",
    ),
    Requirement(
        "SAML-CORE-2.3.4",
        "MUST",
        f"{_CORE} §2.3.4 (<EncryptedAssertion>)",
        "An EncryptedAssertion holds exactly one encrypted assertion, decrypted with the "
        "receiver's key.",
    ),
    Requirement(
        "SAML-CORE-2.5.1.2",
        "MUST",
        f"{_CORE} §2.5.1.2 (NotBefore, NotOnOrAfter)",
        "An assertion is valid only from NotBefore and before NotOnOrAfter.",
    ),
    Requirement(
        "SAML-CORE-2.5.1.4",
        "MUST",
        f"{_CORE} §2.5.1.4 (<AudienceRestriction>)",
        "An assertion restricted to audiences is invalid for a relying party not among them.",
    ),
    Requirement(
        "SAML-CORE-2.5.1.5",
        "MUST",
        f"{_CORE} §2.5.1.5 (<OneTimeUse>)",
        "An assertion with a OneTimeUse condition is used once: a second use is refused.",
    ),
    Requirement(
        "SAML-CORE-2.5.1",
        "MUST",
        f"{_CORE} §2.5.1 (<Conditions>)",
        "A condition the relying party does not understand makes the assertion invalid.",
    ),
    Requirement(
        "SAML-CORE-3.2.1",
        "MUST",
        f"{_CORE} §3.2.1 (RequestAbstractType)",
        "A request carries Version 2.0, an ID and an IssueInstant; a Destination, when present, "
        "is the location the request was received at.",
    ),
    Requirement(
        "SAML-CORE-3.2.2",
        "MUST",
        f"{_CORE} §3.2.2 (StatusResponseType)",
        "A response carries Version 2.0, an ID and an IssueInstant; its Destination is where it "
        "was received and its InResponseTo names a request the receiver made.",
    ),
    Requirement(
        "SAML-CORE-3.2.2.2",
        "MUST",
        f"{_CORE} §3.2.2.2 (<StatusCode>)",
        "Only a top-level StatusCode of Success reports success.",
    ),
    Requirement(
        "SAML-CORE-3.3.2.2.1",
        "MUST",
        f"{_CORE} §3.3.2.2.1 (<RequestedAuthnContext>)",
        "Comparison is exact, minimum, maximum or better.",
    ),
    Requirement(
        "SAML-CORE-3.4.1",
        "MUST",
        f"{_CORE} §3.4.1 (<AuthnRequest>)",
        "The IdP honours ForceAuthn, IsPassive and the requested AssertionConsumerService.",
    ),
    Requirement(
        "SAML-CORE-3.4.1.1",
        "MUST",
        f"{_CORE} §3.4.1.1 (<NameIDPolicy>)",
        "The NameID is issued in the Format the NameIDPolicy asks for, or the request fails.",
    ),
    Requirement(
        "SAML-CORE-3.7.1",
        "MUST",
        f"{_CORE} §3.7.1 (<LogoutRequest>)",
        "A LogoutRequest names the principal and, where known, the session index to end.",
    ),
    Requirement(
        "SAML-CORE-5.4",
        "MUST",
        f"{_CORE} §5.4 (XML Signature syntax and processing)",
        "A signature covers the whole element it signs, with an enveloped signature and "
        "exclusive canonicalisation.",
    ),
    Requirement(
        "SAML-CORE-5.4.1",
        "MUST",
        f"{_CORE} §5.4.1 (signing formats)",
        "A signed SAML element carries an enveloped ds:Signature as its child.",
    ),
    Requirement(
        "SAML-CORE-5.4.2",
        "MUST",
        f"{_CORE} §5.4.2 (references)",
        "The signature has one Reference, whose URI is the ID of the element it is a child of.",
    ),
    Requirement(
        "SAML-CORE-5.4.4",
        "SHOULD",
        f"{_CORE} §5.4.4 (transforms)",
        "A SAML signature uses only the enveloped-signature and exclusive canonicalisation "
        "transforms; a verifier may refuse any other as invalid, before running it.",
    ),
    Requirement(
        "SAML-CORE-5.4.5",
        "MUST",
        f"{_CORE} §5.4.5 (KeyInfo), {_MD} §2.4.1.1",
        "A signature is trusted for the key the peer's metadata declares, never for the "
        "certificate the message carries.",
    ),
    Requirement(
        "SAML-CORE-6.2",
        "MUST",
        f"{_CORE} §6.2 (combining signatures and encryption)",
        "An encrypted element is signed before it is encrypted; the decrypted plaintext is "
        "verified.",
    ),
    # SAML 2.0 Bindings
    Requirement(
        "SAML-CORE-8.3.7",
        "MUST",
        f"{_CORE} §8.3.7 (persistent identifier)",
        "A persistent NameID is the same for a principal at one SP at every sign-in; an email "
        "NameID stays the user's address: an SP keys its account on either.",
    ),
    Requirement(
        "SAML-BIND-3.4.3",
        "MUST",
        f"{_BIND} §3.4.3 (RelayState, HTTP-Redirect)",
        "RelayState is at most 80 bytes.",
    ),
    Requirement(
        "SAML-BIND-3.4.4",
        "MUST",
        f"{_BIND} §3.4.4 (HTTP-Redirect encoding)",
        "A redirected message is one SAMLRequest or SAMLResponse parameter.",
    ),
    Requirement(
        "SAML-BIND-3.4.4.1",
        "MUST",
        f"{_BIND} §3.4.4.1 (DEFLATE encoding)",
        "A redirected message is DEFLATE-compressed then base64-encoded; a signed one carries "
        "SigAlg and Signature over the query in its received order.",
    ),
    Requirement(
        "SAML-BIND-3.4.5.2",
        "MUST",
        f"{_BIND} §3.4.5.2 (HTTP-Redirect security)",
        "A signed redirected message carries the Destination it was sent to.",
    ),
    Requirement(
        "SAML-BIND-3.5.3",
        "MUST",
        f"{_BIND} §3.5.3 (RelayState, HTTP-POST)",
        "The responder returns the RelayState it received, unchanged.",
    ),
    Requirement(
        "SAML-BIND-3.5.4",
        "MUST",
        f"{_BIND} §3.5.4 (HTTP-POST encoding)",
        "A posted message is the base64 encoding of the XML in a SAMLRequest or SAMLResponse "
        "form field.",
    ),
    Requirement(
        "SAML-BIND-3.5.5.2",
        "MUST",
        f"{_BIND} §3.5.5.2 (HTTP-POST security)",
        "A signed posted message carries its Destination, and the receiver checks it is the "
        "location it was received at.",
    ),
    # SAML 2.0 Profiles
    Requirement(
        "SAML-PROF-4.1.2",
        "MUST",
        f"{_PROF} §4.1.2 (Web SSO profile overview)",
        "The response is delivered to the SP by HTTP-POST (or Artifact).",
    ),
    Requirement(
        "SAML-PROF-4.1.3.1",
        "MUST",
        f"{_PROF} §4.1.3.1 (SP issues an AuthnRequest)",
        "The SP sends its AuthnRequest to an SSO endpoint the IdP's metadata offers for the "
        "binding used.",
    ),
    Requirement(
        "SAML-PROF-4.1.4.1",
        "MUST",
        f"{_PROF} §4.1.4.1 (<AuthnRequest> usage)",
        "An AuthnRequest names its issuer and an AssertionConsumerService known for that SP.",
    ),
    Requirement(
        "SAML-PROF-4.1.4.2",
        "MUST",
        f"{_PROF} §4.1.4.2 (<Response> usage)",
        "The response and its assertions name the IdP as Issuer; an assertion has a bearer "
        "SubjectConfirmation with Recipient, NotOnOrAfter and InResponseTo, and an "
        "AudienceRestriction naming the SP.",
    ),
    Requirement(
        "SAML-PROF-4.1.4.3",
        "MUST",
        f"{_PROF} §4.1.4.3 (<Response> message processing rules)",
        "The SP checks Recipient against its ACS URL, NotOnOrAfter against its clock, "
        "InResponseTo against its request, and that it is in the Audience.",
    ),
    Requirement(
        "SAML-PROF-4.1.4.5",
        "MUST",
        f"{_PROF} §4.1.4.5 (POST-specific processing rules)",
        "Over HTTP-POST every assertion is protected by a trusted signature (on the assertion "
        "or the response), and the SP refuses a replayed bearer assertion.",
    ),
    Requirement(
        "SAML-PROF-4.1.5",
        "MUST",
        f"{_PROF} §4.1.5 (unsolicited responses)",
        "An unsolicited response carries no InResponseTo, and the SP accepts one only where it "
        "allows IdP-initiated sign-in.",
    ),
    Requirement(
        "SAML-PROF-4.4",
        "MUST",
        f"{_PROF} §4.4 (Single Logout)",
        "A completed single logout ends the session at the SP.",
    ),
    Requirement(
        "SAML-PROF-4.4.3.1",
        "MUST",
        f"{_PROF} §4.4.3.1 (LogoutRequest issued by session participant)",
        "A LogoutRequest comes from a participant of the session it names, to an endpoint its "
        "peer's metadata declares.",
    ),
    Requirement(
        "SAML-PROF-4.4.3.3",
        "SHOULD",
        f"{_PROF} §4.4.3.3 (IdP propagates logout)",
        "The IdP propagates a logout to every other session participant with a front-channel "
        "SingleLogoutService.",
    ),
    Requirement(
        "SAML-PROF-4.4.4.1",
        "MUST",
        f"{_PROF} §4.4.4.1 (<LogoutRequest> usage)",
        "A LogoutRequest is signed (or otherwise authenticated) and names the principal with "
        "the NameID of the session and its SessionIndex.",
    ),
    Requirement(
        "SAML-PROF-4.4.4.2",
        "MUST",
        f"{_PROF} §4.4.4.2 (<LogoutResponse> usage)",
        "A LogoutResponse is signed (or otherwise authenticated) and answers its request.",
    ),
    # SAML 2.0 Metadata
    Requirement(
        "SAML-PROF-4.4.4",
        "MUST",
        f"{_PROF} §4.4.4.1, §4.4.4.2 (<Issuer>)",
        "A LogoutRequest or LogoutResponse names its sender as Issuer, its entityID, with no "
        "Format or the entity Format.",
    ),
    Requirement(
        "SAML-MD-2.2.1",
        "MUST",
        f"{_MD} §2.2.1 (entityIDType), {_CORE} §8.3.6",
        "An entityID is an absolute URI of at most 1024 characters that names the entity.",
    ),
    Requirement(
        "SAML-MD-2.2.2",
        "MUST",
        f"{_MD} §2.2.2 (EndpointType)",
        "An endpoint has a Binding and a Location.",
    ),
    Requirement(
        "SAML-MD-2.2.3",
        "MUST",
        f"{_MD} §2.2.3 (IndexedEndpointType)",
        "An indexed endpoint's index is an unsigned short.",
    ),
    Requirement(
        "SAML-MD-2.3.2",
        "MUST",
        f"{_MD} §2.3.2 (<EntityDescriptor>)",
        "Metadata is an EntityDescriptor (or an EntitiesDescriptor) with an entityID.",
    ),
    Requirement(
        "SAML-MD-2.4.1",
        "MUST",
        f"{_MD} §2.3.1, §2.3.2, §2.4.1 (validUntil)",
        "Metadata is relied on only until its validUntil, on the document, the entity or the role.",
    ),
    Requirement(
        "SAML-MD-2.4.1.1",
        "MUST",
        f"{_MD} §2.4.1.1 (<KeyDescriptor>)",
        "A KeyDescriptor holds a usable key, for signing, encryption or both.",
    ),
    Requirement(
        "SAML-MD-2.4.3",
        "MUST",
        f"{_MD} §2.4.3 (<IDPSSODescriptor>)",
        "An IdP's metadata declares at least one SingleSignOnService.",
    ),
    Requirement(
        "SAML-MD-2.4.4",
        "MUST",
        f"{_MD} §2.4.4 (<SPSSODescriptor>)",
        "An SP's metadata declares at least one AssertionConsumerService.",
    ),
    # W3C
    Requirement(
        "XML-1.0",
        "MUST",
        "XML 1.0 (Fifth Edition)",
        "A document is well-formed XML.",
    ),
    Requirement(
        "XML-1.0-4.3.3",
        "MUST",
        "XML 1.0 (Fifth Edition) §4.3.3 (character encoding in entities)",
        "A document is in the encoding it declares, and a byte order mark agrees with it.",
    ),
    Requirement(
        "XMLDSIG-4",
        "MUST",
        "XML Signature Syntax and Processing §4 (core signature syntax)",
        "A signature's digests and signature value verify over the canonicalised references.",
    ),
    Requirement(
        "XMLDSIG-8.1.3",
        "MUST",
        "XML Signature Syntax and Processing §8.1.3 (see what is signed)",
        "An application acts on what the signature covers, as canonicalised: a comment, "
        "processing instruction or CDATA section inside signed text does not cut the value "
        "read short.",
    ),
    # saml2int v2.0
    Requirement(
        "SDP-G01",
        "MUST",
        f"{_SDP} SDP-G01",
        "Allow a clock skew of three to five minutes in either direction, and no more: a "
        "message further off is refused.",
    ),
    Requirement(
        "SDP-G03",
        "MUST",
        f"{_SDP} SDP-G03",
        "Refuse DTDs (so entities, external or expanding, never load), and bound what a "
        "message may cost to parse.",
    ),
    Requirement(
        "SDP-ALG01",
        "MUST",
        f"{_SDP} SDP-ALG01",
        "Sign with SHA-256 or stronger and encrypt with AES-GCM and RSA-OAEP; SHA-1, "
        "PKCS#1 v1.5 key transport and AES-CBC are weak or broken.",
    ),
    Requirement(
        "SDP-IDP09",
        "MUST",
        f"{_SDP} SDP-IDP09",
        "The IdP signs the Response itself.",
    ),
    Requirement(
        "SDP-IDP10",
        "MUST",
        f"{_SDP} SDP-IDP10",
        "A response holds exactly one assertion.",
    ),
    Requirement(
        "SDP-SP37",
        "MUST",
        f"{_SDP} SDP-SP37",
        "The SP accepts a message signed with any of the signing keys in the IdP's metadata, "
        "so that the IdP can roll its key over.",
    ),
    Requirement(
        "SDP-SP09",
        "MUST",
        f"{_SDP} SDP-SP09",
        "The SP's AssertionConsumerService is reached over TLS only.",
    ),
    Requirement(
        "SDP-SP11",
        "MUST",
        f"{_SDP} SDP-SP11",
        "The SP handles a Response whose status is not Success: no sign-in, and an error the "
        "user can read.",
    ),
    Requirement(
        "SDP-IDP11",
        "MUST",
        f"{_SDP} SDP-IDP11",
        "The IdP encrypts the assertion it posts to an SP that offers an encryption key.",
    ),
    Requirement(
        "SDP-SP10",
        "MUST",
        f"{_SDP} SDP-SP10",
        "The SP decrypts an EncryptedAssertion with its own key.",
    ),
    # SAML V2.0 Implementation Profile for Federation Interoperability v1.1
    Requirement(
        "IIP-G03",
        "MUST",
        "SAML2Int implementation profile v1.1 IIP-G03",
        "An implementation can refuse every message carrying a DTD, so no external DTD or "
        "entity is ever fetched.",
    ),
    Requirement(
        "IIP-SP13",
        "MUST",
        "SAML2Int implementation profile v1.1 IIP-SP13",
        "By default the SP refuses a Response that is not itself signed.",
    ),
    Requirement(
        "IIP-MD07",
        "MUST",
        "SAML2Int implementation profile v1.1 IIP-MD07",
        "An implementation verifies a signature with every key of the peer's metadata until one "
        "verifies.",
    ),
    Requirement(
        "IIP-ALG08",
        "MUST",
        "SAML2Int implementation profile v1.1 IIP-ALG08",
        "Algorithms can be blocked, by default MD5, RSA-MD5 and RSA-1_5 key transport.",
    ),
    # SCIM
    Requirement(
        "RFC7643-2.3.2",
        "MUST",
        "RFC 7643 §2.3.2 (Boolean)",
        "A boolean is the JSON literal true or false.",
    ),
    Requirement(
        "RFC7643-2.3.8",
        "MUST",
        "RFC 7643 §2.3.8 (Complex)",
        "A complex attribute's value is a JSON object of sub-attributes.",
    ),
    Requirement(
        "RFC7643-3",
        "MUST",
        "RFC 7643 §3 (resources)",
        "A resource's schemas are those its resource type declares.",
    ),
    Requirement(
        "RFC7644-3",
        "MUST",
        "RFC 7644 §3 (SCIM protocol)",
        "What the IdP provisioned is what the SP's SCIM endpoint holds.",
    ),
    Requirement(
        "RFC7644-3.1",
        "MUST",
        "RFC 7644 §3.1 (background)",
        "Bodies are sent as application/scim+json.",
    ),
    Requirement(
        "RFC7644-3.5.2",
        "MUST",
        "RFC 7644 §3.5.2 (modifying with PATCH)",
        "A PATCH is a PatchOp message whose operations are add, remove or replace, applied "
        "all or none.",
    ),
    Requirement(
        "RFC7644-3.5.2.1",
        "MUST",
        "RFC 7644 §3.5.2.1 (add)",
        "An add operation's value matches the target attribute's type and plurality.",
    ),
    Requirement(
        "RFC7644-3.5.2.2",
        "MUST",
        "RFC 7644 §3.5.2.2 (remove)",
        "A remove operation names its target by path, with a value filter to pick members.",
    ),
    Requirement(
        "RFC7644-3.6",
        "MUST",
        "RFC 7644 §3.6 (deleting resources)",
        "A deleted resource is gone: a later read answers 404.",
    ),
    Requirement(
        "RFC7644-3.12",
        "MUST",
        "RFC 7644 §3.12 (error handling)",
        "An error is answered with its HTTP status and a SCIM error body, with a scimType where "
        "one applies.",
    ),
    # SCIM: what the scim_conformance suite judges of an SP's SCIM server
    Requirement(
        "RFC7643-2.2",
        "MUST",
        "RFC 7643 §2.2 (attribute characteristics: returned)",
        'An attribute whose "returned" is "never" (a password) is never in a response.',
    ),
    Requirement(
        "RFC7643-4.1.1",
        "MUST",
        "RFC 7643 §4.1.1 (userName)",
        'userName is "caseExact" false: a filter matches it and uniqueness judges it without '
        "regard to case.",
    ),
    Requirement(
        "RFC7643-6",
        "MUST",
        "RFC 7643 §6 (ResourceType)",
        "/ResourceTypes lists each resource type with its name, endpoint and schema.",
    ),
    Requirement(
        "RFC7643-7",
        "MUST",
        "RFC 7643 §7 (schema definition)",
        "/Schemas lists the schemas the service supports, each with its id and attributes.",
    ),
    Requirement(
        "RFC7644-2",
        "MUST",
        "RFC 7644 §2 (authentication and authorization)",
        "A request without valid credentials is refused with 401 and no data.",
    ),
    Requirement(
        "RFC7644-3.3",
        "MUST",
        "RFC 7644 §3.3 (creating resources)",
        "A created resource is answered 201 with its representation (id, meta) and a Location "
        "header; a duplicate (a taken userName) is 409 Conflict.",
    ),
    Requirement(
        "RFC7644-3.4.1",
        "MUST",
        "RFC 7644 §3.4.1 (retrieving a known resource)",
        "GET on a resource's endpoint answers 200 with that resource.",
    ),
    Requirement(
        "RFC7644-3.4.2.2",
        "MUST",
        "RFC 7644 §3.4.2.2 (filtering)",
        "A filter returns exactly the resources it matches; every operator (eq, ne, co, sw, ew, "
        "pr, gt, ge, lt, le, and, or, not), grouping and value paths; attribute names and "
        "operators are case-insensitive.",
    ),
    Requirement(
        "RFC7644-3.4.2.3",
        "MUST",
        "RFC 7644 §3.4.2.3 (sorting)",
        "A service that supports sorting orders results by sortBy, ascending unless sortOrder "
        "says descending.",
    ),
    Requirement(
        "RFC7644-3.4.2.4",
        "MUST",
        "RFC 7644 §3.4.2.4 (pagination)",
        "startIndex is 1-based (below 1 means 1) and count caps a page (0: none, totalResults "
        "only); walking the pages returns each result once.",
    ),
    Requirement(
        "RFC7644-3.4.2.5",
        "MUST",
        "RFC 7644 §3.4.2.5 (attributes)",
        "attributes returns only those named (and those returned always); excludedAttributes "
        "omits those named.",
    ),
    Requirement(
        "RFC7644-3.5.1",
        "MUST",
        "RFC 7644 §3.5.1 (replacing with PUT)",
        "PUT replaces the resource's attributes with those sent and answers the new state.",
    ),
    Requirement(
        "RFC7644-3.5.2.3",
        "MUST",
        "RFC 7644 §3.5.2.3 (replace)",
        "A replace operation sets the attribute its path names, with a value filter picking "
        "elements; without a path, the value's attributes.",
    ),
    Requirement(
        "RFC7644-3.7",
        "MUST",
        "RFC 7644 §3.7 (bulk operations)",
        "A Bulk request's operations are carried out, and a bulkId names in later operations "
        "the resource an earlier one created.",
    ),
    Requirement(
        "RFC7644-3.14",
        "MUST",
        "RFC 7644 §3.14 (versioning)",
        "A service that supports ETags answers meta.version as the ETag header, 304 to a "
        "matching If-None-Match and 412 to a stale If-Match.",
    ),
    Requirement(
        "RFC7644-4",
        "MUST",
        "RFC 7644 §4 (service provider configuration endpoints)",
        "/ServiceProviderConfig says which of patch, bulk, filter, sort and etag the service "
        "supports, each with a boolean 'supported'.",
    ),
    Requirement(
        "RFC7644-4-READONLY",
        "SHOULD",
        "RFC 7644 §4 (discovery endpoints, retrieved with GET); RFC 9110 §15.5.6",
        "/ServiceProviderConfig, /ResourceTypes and /Schemas are read with GET: a write (POST, "
        "PUT, PATCH, DELETE) is refused with 405 Method Not Allowed.",
    ),
    Requirement(
        "RFC7644-4-FILTER",
        "SHOULD",
        "RFC 7644 §4 (/ServiceProviderConfig)",
        'If a "filter" is provided, the service provider SHOULD respond with HTTP status code '
        "403 (Forbidden) to ensure that clients cannot incorrectly assume that any matching "
        "conditions specified in a filter are true.",
    ),
    Requirement(
        "RFC7644-3.12-SYNTAX",
        "SHOULD",
        "RFC 7644 §3.12 (error handling, Table 9: invalidSyntax)",
        'A request body that cannot be parsed is 400 with scimType "invalidSyntax": the request '
        "body message structure was invalid or did not conform to the request schema.",
    ),
    Requirement(
        "RFC7644-3.12-VALUE",
        "SHOULD",
        "RFC 7644 §3.12 (error handling, Table 9: invalidValue)",
        'A value not compatible with its attribute\'s type is 400 with scimType "invalidValue": '
        "a required value was missing, or the value specified was not compatible with the "
        "operation or attribute type.",
    ),
    Requirement(
        "RFC7644-3.12-UNIQUENESS",
        "MUST",
        "RFC 7644 §3.3 (creating resources), §3.12 (Table 9: uniqueness)",
        "If the service provider determines that the creation of the requested resource "
        'conflicts with existing resources (e.g., a "User" resource with a duplicate '
        '"userName"), the service provider MUST return HTTP status code 409 (Conflict) with a '
        '"scimType" error code of "uniqueness".',
    ),
    Requirement(
        "RFC7644-3.12-MUTABILITY",
        "MUST",
        "RFC 7644 §3.5.2 (modifying with PATCH), §3.12 (Table 9: mutability)",
        'A client MUST NOT modify an attribute that has mutability "readOnly"; an operation not '
        'compatible with an attribute\'s mutability is 400 with scimType "mutability".',
    ),
    Requirement(
        "RFC7644-3.12-NOTARGET",
        "MUST",
        "RFC 7644 §3.5.2.3 (replace), §3.12 (Table 9: noTarget)",
        "If the target location is a multi-valued attribute for which a value selection filter "
        '("valuePath") has been supplied and no record match was made, the service provider '
        'SHALL indicate failure by returning HTTP status code 400 and a "scimType" error code '
        'of "noTarget".',
    ),
    Requirement(
        "RFC7644-3.5.1-READONLY",
        "MUST",
        "RFC 7644 §3.5.1 (replacing with PUT)",
        "readOnly: any values provided (e.g., meta.resourceType) SHALL be ignored; a PUT whose "
        "body carries another id or meta replaces the resource at its URL and keeps its id and "
        "meta.",
    ),
    Requirement(
        "RFC7644-3.8",
        "SHOULD",
        "RFC 7644 §3.8 (data input/output formats)",
        'A service provider accepts a request body sent as "application/json" as well as '
        '"application/scim+json" (clients such as Okta send the former).',
    ),
    Requirement(
        "RFC7644-3.4.3",
        "MUST",
        "RFC 7644 §3.4.3 (querying resources using HTTP POST)",
        "A POST to an endpoint's \"/.search\" (or the root's, over every resource type) with a "
        "SearchRequest body is a query: it answers a ListResponse of the resources its filter "
        "matches.",
    ),
    Requirement(
        "RFC7644-3.11",
        "SHOULD",
        "RFC 7644 §3.11 (/Me authenticated subject alias)",
        "/Me answers the resource of the authenticated subject; a service provider that does "
        "not support this feature SHOULD respond with HTTP status code 501 (Not Implemented).",
    ),
    Requirement(
        "RFC7644-3.7.3",
        "MUST",
        "RFC 7644 §3.7.3 (response and error handling)",
        "failOnErrors: an integer specifying the number of errors that the service provider "
        "will accept before the operation is terminated and an error response is returned; the "
        "operations after it are not carried out.",
    ),
    Requirement(
        "RFC7644-3.7.4",
        "MUST",
        "RFC 7644 §3.7.4 (maximum operations)",
        "The service provider defines the maximum number of operations and the maximum payload "
        "size of a Bulk request; if either limit is exceeded, the service provider MUST return "
        "HTTP response code 413 (Payload Too Large).",
    ),
    Requirement(
        "RFC7644-3.5.2.1-NOOP",
        "SHOULD",
        "RFC 7644 §3.5.2.1 (add)",
        "If the target location already contains the value specified, no changes SHOULD be "
        "made to the resource, and a success response SHOULD be returned.",
    ),
    Requirement(
        "RFC7643-2.4",
        "MUST",
        "RFC 7643 §2.4 (multi-valued attributes)",
        'The primary attribute value "true" MUST appear no more than once.',
    ),
    Requirement(
        "SP-SCIM-CONCURRENT",
        "MUST",
        "RFC 7644 §3.5.2 (each PATCH applied whole)",
        "Concurrent PATCH requests adding members to one group lose none of them.",
    ),
    Requirement(
        "SP-SCIM-ROBUST",
        "MUST",
        "DESIGN: servers under hostile load",
        "No SCIM request, however large, makes the server fail (5xx) or hang: it is processed "
        "or refused with a 4xx.",
    ),
    # Business-account rules
    Requirement(
        "BIZ-SIGNIN-1",
        "MUST",
        _BIZ,
        "Only active users provisioned over SCIM by the organisation's IdP, and assigned to the "
        "application, sign in; the NameID (email or unspecified format) is matched to userName "
        "without regard to case.",
    ),
    Requirement(
        "BIZ-SIGNIN-2",
        "MUST",
        _BIZ,
        "An assertion from one organisation's IdP never signs in another organisation's user.",
    ),
    Requirement(
        "BIZ-DEEPLINK-1",
        "SHOULD",
        f"{_BIND} §3.4.3, §3.5.3 (RelayState)",
        "After sign-in the SP lands the user where the RelayState asked (an own path only).",
    ),
    Requirement(
        "BIZ-SESSION-1",
        "MUST",
        _BIZ,
        "A session stays open while its user is active, provisioned and not signed out.",
    ),
    Requirement(
        "BIZ-DEPROV-1",
        "MUST",
        _BIZ,
        "Deactivating or deleting a user in the IdP ends the user's open sessions at once.",
    ),
    Requirement(
        "BIZ-DEPROV-2",
        "MUST",
        _BIZ,
        "Deprovisioning revokes the user's device activations: check-ins answer revoked.",
    ),
    Requirement(
        "BIZ-ADMIN-1",
        "MUST",
        _BIZ,
        "A user administers the business account exactly while active and a member of the "
        "organisation's admin group, for sessions already open too.",
    ),
    Requirement(
        "BIZ-LICENSE-1",
        "MUST",
        _BIZ,
        "Each active provisioned user holds a seat while seats are free, waits when the pool "
        "is exhausted, and returns the seat at once when deprovisioned.",
    ),
    Requirement(
        "BIZ-ACTIVATION-1",
        "MUST",
        _BIZ,
        "A device activates through SSO only for a licensed user of a per-user subscription "
        "with client version 18 or later.",
    ),
    # Web application hardening
    Requirement(
        "SP-CSRF",
        "MUST",
        "OWASP CSRF prevention",
        "A state-changing form is accepted only from the SP's own pages (same origin and a "
        "token bound to the session).",
    ),
    Requirement(
        "HTTP-BODY",
        "MUST",
        "RFC 9110 §15.5.14, §15.5.16 (413, 415)",
        "A request body beyond the endpoint's limit, of a media type it does not take, or "
        "malformed is refused before any work is done.",
    ),
    Requirement(
        "RFC9110",
        "MUST",
        "RFC 9110 (HTTP semantics)",
        "A request names a resource that exists, with a method it allows.",
    ),
    Requirement(
        "SP-JOURNAL",
        "MUST",
        "the SP's journal",
        "The SP's journal answers only the holder of its token, one bounded page at a time.",
    ),
    Requirement(
        "IDP-API",
        "MUST",
        "the mock IdP's control API",
        "A control-API call is carried out exactly as asked or refused whole, naming the field "
        "at fault.",
    ),
    Requirement(
        "SP-REDIRECT",
        "MUST",
        "OWASP unvalidated redirects",
        "After sign-in the SP follows a RelayState only to a path of its own, never to another "
        "site or a script URL.",
    ),
    Requirement(
        "SP-LIFETIME",
        "SHOULD",
        "the SP's session policy",
        "An assertion valid for years, or an authentication days old, is refused: a forged or "
        "stolen assertion should not outlive the sign-in it claims.",
    ),
    Requirement(
        "SP-NO-FETCH",
        "MUST",
        "OWASP XXE and SSRF prevention",
        "Reading a SAML message never makes the SP fetch a URL the message names: no external "
        "entity or DTD, no XSLT document(), no remote transform.",
    ),
    Requirement(
        "SP-NO-ORACLE",
        "MUST",
        "Jager and Somorovsky, How to break XML Encryption (CCS 2011)",
        "An EncryptedAssertion that does not decrypt is refused the same way whatever is wrong "
        "in it (padding, data or wrapped key): no answer tells an attacker which.",
    ),
    Requirement(
        "SP-ISSUER-FORMAT",
        "SHOULD",
        f"{_PROF} §4.1.4.2 (Issuer Format)",
        "The SP should refuse an assertion whose Issuer has a Format other than entity: the "
        "profile lets the IdP send only entity or no Format.",
    ),
    Requirement(
        "SP-ADDRESS",
        "MAY",
        f"{_PROF} §4.1.4.3 (Address)",
        "The SP may refuse a bearer assertion whose SubjectConfirmationData Address is not the "
        "browser's.",
    ),
    Requirement(
        "IDP-LOGIN",
        "MUST",
        "the IdP's own sign-in",
        "The IdP signs a person in only with the right password, for an active user.",
    ),
    Requirement(
        "IDP-SIGNED-REQUESTS",
        "MUST",
        f"{_MD} §2.4.3 (WantAuthnRequestsSigned)",
        "An IdP whose metadata says WantAuthnRequestsSigned requires AuthnRequests to be "
        "signed: it issues no assertion for an unsigned one.",
    ),
    Requirement(
        "IDP-LIFETIME",
        "SHOULD",
        "Golden SAML (CyberArk, 2017): lifetime limits bound a forged assertion",
        "An IdP issues assertions valid for minutes, not days: a stolen or forged one should "
        "not outlive the sign-in it was made for.",
    ),
    Requirement(
        "IDP-TLS",
        "SHOULD",
        "saml2int v2.0 SDP-SP09, applied to the IdP's endpoints",
        "The IdP's SSO and SLO endpoints are reached over TLS (https), as the SP's ACS is.",
    ),
)

REQUIREMENTS: Final[dict[str, Requirement]] = {r.id: r for r in _ALL}


def requirement(rule_id: str) -> Requirement:
    """The registered requirement; an unknown id raises, naming the nearest known one."""
    found = REQUIREMENTS.get(rule_id)
    if found is None:
        near = difflib.get_close_matches(rule_id, REQUIREMENTS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise UnknownRequirementError(f"unknown requirement id {rule_id!r}{hint}")
    return found


def rule(rule_id: str) -> str:
    """``rule_id``, checked against the registry: how definitions cite a rule at import."""
    return requirement(rule_id).id
