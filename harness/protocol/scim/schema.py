"""SCIM schemas as data (RFC 7643 §2, §4, §7, §8.7): attribute characteristics drive validation,
filtering, PATCH and the ``returned`` rules, and are served as-is at ``/Schemas``.

Names are matched without regard to case everywhere (RFC 7643 §2.1), and every lookup returns the
canonical spelling so that stored documents and responses use one spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

AttributeType = Literal[
    "string", "boolean", "decimal", "integer", "dateTime", "reference", "binary", "complex"
]
Mutability = Literal["readOnly", "readWrite", "immutable", "writeOnly"]
Returned = Literal["always", "never", "default", "request"]
Uniqueness = Literal["none", "server", "global"]

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


@dataclass(frozen=True)
class Attribute:
    """One attribute definition with its characteristics (RFC 7643 §2.2 defaults)."""

    name: str
    type: AttributeType = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = "readWrite"
    returned: Returned = "default"
    uniqueness: Uniqueness = "none"
    description: str = ""
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    _by_lower: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({a.name.lower(): a for a in self.sub_attributes})

    def sub(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name`` (any case), or None."""
        return self._by_lower.get(name.lower())

    @property
    def is_complex(self) -> bool:
        return self.type == "complex"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
        }
        if self.type in ("string", "reference", "binary"):
            out["caseExact"] = self.case_exact
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            out["referenceTypes"] = list(self.reference_types)
        out["mutability"] = self.mutability
        out["returned"] = self.returned
        out["uniqueness"] = self.uniqueness
        if self.sub_attributes:
            out["subAttributes"] = [a.to_json() for a in self.sub_attributes]
        return out


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    _by_lower: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({a.name.lower(): a for a in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        return self._by_lower.get(name.lower())

    def to_json(self, location: str) -> dict[str, Any]:
        return {
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_json() for a in self.attributes],
            "meta": {"resourceType": "Schema", "location": location},
        }


@dataclass(frozen=True)
class ResolvedAttribute:
    """Where an attribute path lands: the schema that owns it, the attribute, and optionally
    one of its sub-attributes. ``key`` is the canonical top-level key in a resource document
    (URN-prefixed attributes of an extension live under the extension's URN key)."""

    schema: Schema
    attribute: Attribute
    sub_attribute: Attribute | None
    is_core: bool

    @property
    def target(self) -> Attribute:
        return self.sub_attribute or self.attribute

    @property
    def dotted(self) -> str:
        """Canonical path: ``name.givenName``, or ``urn:...:User:manager.value`` for extensions."""
        base = self.attribute.name if self.is_core else f"{self.schema.id}:{self.attribute.name}"
        return f"{base}.{self.sub_attribute.name}" if self.sub_attribute else base


@dataclass(frozen=True)
class ResourceType:
    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[tuple[Schema, bool], ...] = ()  # (extension schema, required)

    @property
    def schema_ids(self) -> tuple[str, ...]:
        return (self.schema.id, *(ext.id for ext, _ in self.extensions))

    def extension(self, urn: str) -> Schema | None:
        return next((ext for ext, _ in self.extensions if ext.id.lower() == urn.lower()), None)

    def schema_for(self, urn: str) -> Schema | None:
        if urn.lower() == self.schema.id.lower():
            return self.schema
        return self.extension(urn)

    def resolve(
        self, attr: str, sub: str | None = None, urn: str | None = None
    ) -> ResolvedAttribute | None:
        """Resolve ``[urn:]attr[.sub]`` without regard to case; common attributes (id,
        externalId, meta) belong to every resource. None when nothing matches."""
        if urn is None or urn.lower() == self.schema.id.lower():
            schema = self.schema
            attribute = COMMON_BY_LOWER.get(attr.lower()) or schema.attribute(attr)
            is_core = True
        else:
            found = self.extension(urn)
            if found is None:
                return None
            schema = found
            attribute = schema.attribute(attr)
            is_core = False
        if attribute is None:
            return None
        sub_attribute = None
        if sub is not None:
            sub_attribute = attribute.sub(sub)
            if sub_attribute is None:
                return None
        return ResolvedAttribute(schema, attribute, sub_attribute, is_core)

    def split_urn(self, path: str) -> tuple[str | None, str]:
        """Split a possibly URN-qualified path into (schema URN, rest).

        ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`` ->
        (enterprise URN, ``manager.value``); a bare URN of an extension -> (URN, "")."""
        if not path.lower().startswith("urn:"):
            return None, path
        lowered = path.lower()
        for schema_id in sorted(self.schema_ids, key=len, reverse=True):
            sid = schema_id.lower()
            if lowered == sid:
                return schema_id, ""
            if lowered.startswith(sid + ":"):
                return schema_id, path[len(sid) + 1 :]
        head, _, rest = path.rpartition(":")
        return head, rest

    def to_json(self, location: str) -> dict[str, Any]:
        return {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": [
                {"schema": ext.id, "required": required} for ext, required in self.extensions
            ],
            "meta": {"resourceType": "ResourceType", "location": location},
        }


def _s(name: str, description: str = "", **kw: Any) -> Attribute:
    return Attribute(name=name, description=description, **kw)


def _multi(
    name: str, description: str, types: tuple[str, ...], value_type: AttributeType = "string"
) -> Attribute:
    """The common shape of emails, phoneNumbers, ims, photos, entitlements, roles, certs."""
    return Attribute(
        name=name,
        type="complex",
        multi_valued=True,
        description=description,
        sub_attributes=(
            _s(
                "value",
                f"The value of the {name} entry.",
                type=value_type,
                reference_types=("external",) if value_type == "reference" else (),
            ),
            _s("display", "A human-readable name, primarily used for display purposes."),
            _s("type", "A label indicating the attribute's function.", canonical_values=types),
            _s(
                "primary",
                "A Boolean value indicating the 'primary' or preferred attribute value.",
                type="boolean",
            ),
        ),
    )


COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    _s(
        "id",
        "Unique identifier for the SCIM resource as defined by the service provider.",
        case_exact=True,
        mutability="readOnly",
        returned="always",
        uniqueness="server",
    ),
    _s(
        "externalId",
        "A String that is an identifier for the resource as defined by the provisioning client.",
        case_exact=True,
    ),
    Attribute(
        name="meta",
        type="complex",
        mutability="readOnly",
        description="Resource metadata.",
        sub_attributes=(
            _s(
                "resourceType",
                "The name of the resource type.",
                case_exact=True,
                mutability="readOnly",
            ),
            _s("created", "When the resource was added.", type="dateTime", mutability="readOnly"),
            _s(
                "lastModified",
                "When the resource was last changed.",
                type="dateTime",
                mutability="readOnly",
            ),
            _s(
                "location",
                "The URI of the resource.",
                type="reference",
                case_exact=True,
                reference_types=("uri",),
                mutability="readOnly",
            ),
            _s(
                "version",
                "The version (ETag) of the resource.",
                case_exact=True,
                mutability="readOnly",
            ),
        ),
    ),
)
COMMON_BY_LOWER = {a.name.lower(): a for a in COMMON_ATTRIBUTES}

_NAME = Attribute(
    name="name",
    type="complex",
    description="The components of the user's real name.",
    sub_attributes=(
        _s("formatted", "The full name, formatted for display."),
        _s("familyName", "The family name of the User."),
        _s("givenName", "The given name of the User."),
        _s("middleName", "The middle name(s) of the User."),
        _s("honorificPrefix", "The honorific prefix(es) of the User."),
        _s("honorificSuffix", "The honorific suffix(es) of the User."),
    ),
)

USER = Schema(
    id=USER_SCHEMA,
    name="User",
    description="User Account",
    attributes=(
        _s(
            "userName",
            "Unique identifier for the User, typically used to authenticate to the service "
            "provider.",
            required=True,
            uniqueness="server",
        ),
        _NAME,
        _s("displayName", "The name of the User, suitable for display to end-users."),
        _s("nickName", "The casual way to address the user in real life."),
        _s(
            "profileUrl",
            "A fully qualified URL pointing to a page representing the User.",
            type="reference",
            reference_types=("external",),
        ),
        _s("title", "The user's title, such as 'Vice President'."),
        _s("userType", "Used to identify the relationship between the organization and the user."),
        _s("preferredLanguage", "Indicates the User's preferred written or spoken language."),
        _s("locale", "Used to indicate the User's default location."),
        _s("timezone", "The User's time zone in the 'Olson' time zone database format."),
        _s(
            "active", "A Boolean value indicating the User's administrative status.", type="boolean"
        ),
        _s("password", "The User's cleartext password.", mutability="writeOnly", returned="never"),
        _multi("emails", "Email addresses for the user.", ("work", "home", "other")),
        _multi(
            "phoneNumbers",
            "Phone numbers for the User.",
            ("work", "home", "mobile", "fax", "pager", "other"),
        ),
        _multi(
            "ims",
            "Instant messaging addresses for the User.",
            ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
        ),
        _multi("photos", "URLs of photos of the User.", ("photo", "thumbnail"), "reference"),
        Attribute(
            name="addresses",
            type="complex",
            multi_valued=True,
            description="A physical mailing address for this User.",
            sub_attributes=(
                _s("formatted", "The full mailing address, formatted for display."),
                _s("streetAddress", "The full street address component."),
                _s("locality", "The city or locality component."),
                _s("region", "The state or region component."),
                _s("postalCode", "The zip code or postal code component."),
                _s("country", "The country name component."),
                _s(
                    "type",
                    "A label indicating the attribute's function.",
                    canonical_values=("work", "home", "other"),
                ),
                _s("primary", "A Boolean value indicating the preferred address.", type="boolean"),
            ),
        ),
        Attribute(
            name="groups",
            type="complex",
            multi_valued=True,
            mutability="readOnly",
            description="A list of groups to which the user belongs.",
            sub_attributes=(
                _s("value", "The identifier of the User's group.", mutability="readOnly"),
                _s(
                    "$ref",
                    "The URI of the corresponding 'Group' resource.",
                    type="reference",
                    case_exact=True,
                    reference_types=("User", "Group"),
                    mutability="readOnly",
                ),
                _s("display", "A human-readable name.", mutability="readOnly"),
                _s(
                    "type",
                    "A label indicating the membership: 'direct' or 'indirect'.",
                    canonical_values=("direct", "indirect"),
                    mutability="readOnly",
                ),
            ),
        ),
        _multi("entitlements", "A list of entitlements for the User.", ()),
        _multi("roles", "A list of roles for the User.", ()),
        _multi("x509Certificates", "A list of certificates issued to the User.", (), "binary"),
    ),
)

GROUP = Schema(
    id=GROUP_SCHEMA,
    name="Group",
    description="Group",
    attributes=(
        # RFC 7644 §4.2's prose calls displayName REQUIRED; clients rely on it.
        _s("displayName", "A human-readable name for the Group.", required=True),
        Attribute(
            name="members",
            type="complex",
            multi_valued=True,
            description="A list of members of the Group.",
            sub_attributes=(
                _s("value", "Identifier of the member of this Group.", mutability="immutable"),
                _s(
                    "$ref",
                    "The URI of the member resource.",
                    type="reference",
                    case_exact=True,
                    reference_types=("User", "Group"),
                    mutability="immutable",
                ),
                _s("display", "A human-readable name of the member.", mutability="immutable"),
                _s(
                    "type",
                    "The type of the member.",
                    canonical_values=("User", "Group"),
                    mutability="immutable",
                ),
            ),
        ),
    ),
)

ENTERPRISE_USER = Schema(
    id=ENTERPRISE_USER_SCHEMA,
    name="EnterpriseUser",
    description="Enterprise User",
    attributes=(
        _s("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
        _s("costCenter", "Identifies the name of a cost center."),
        _s("organization", "Identifies the name of an organization."),
        _s("division", "Identifies the name of a division."),
        _s("department", "Identifies the name of a department."),
        Attribute(
            name="manager",
            type="complex",
            description="The User's manager.",
            sub_attributes=(
                _s("value", "The id of the SCIM resource representing the User's manager."),
                _s(
                    "$ref",
                    "The URI of the manager's User resource.",
                    type="reference",
                    case_exact=True,
                    reference_types=("User",),
                ),
                _s("displayName", "The displayName of the User's manager.", mutability="readOnly"),
            ),
        ),
    ),
)

USER_RESOURCE = ResourceType(
    name="User",
    endpoint="/Users",
    description="User Account",
    schema=USER,
    extensions=((ENTERPRISE_USER, False),),
)
GROUP_RESOURCE = ResourceType(name="Group", endpoint="/Groups", description="Group", schema=GROUP)

RESOURCE_TYPES: tuple[ResourceType, ...] = (USER_RESOURCE, GROUP_RESOURCE)
SCHEMAS: tuple[Schema, ...] = (USER, GROUP, ENTERPRISE_USER)


def resource_type_named(name: str) -> ResourceType | None:
    return next((rt for rt in RESOURCE_TYPES if rt.name.lower() == name.lower()), None)


def schema_by_id(schema_id: str) -> Schema | None:
    return next((s for s in SCHEMAS if s.id.lower() == schema_id.lower()), None)
