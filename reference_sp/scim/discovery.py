"""Discovery documents (RFC 7644 §4, RFC 7643 §5-§7): what this server supports, stated
truthfully, because IdPs and validators configure themselves from it."""

from __future__ import annotations

from typing import Any

from harness.protocol.scim.schema import RESOURCE_TYPES, SCHEMAS, SPC_SCHEMA

MAX_RESULTS = 1000  # largest page a list or search returns
DEFAULT_COUNT = 100  # page size when the client gives no count
MAX_BULK_OPERATIONS = 1000
MAX_PAYLOAD_BYTES = 1_048_576


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://github.com/sso-harness/sso-harness#scim",
        "patch": {"supported": True},
        "bulk": {
            "supported": True,
            "maxOperations": MAX_BULK_OPERATIONS,
            "maxPayloadSize": MAX_PAYLOAD_BYTES,
        },
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        # Passwords are accepted and discarded: this server authenticates through SAML only.
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A per-organisation bearer token in the Authorization header",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }


def resource_types(base: str) -> list[dict[str, Any]]:
    return [rt.to_json(f"{base}/ResourceTypes/{rt.name}") for rt in RESOURCE_TYPES]


def schemas(base: str) -> list[dict[str, Any]]:
    return [schema.to_json(f"{base}/Schemas/{schema.id}") for schema in SCHEMAS]
