"""Provisioning cycles in a world: the mock IdP sends its directory to the SP's SCIM endpoint.

TRANSITIONAL: a plain RFC 7644 sync until the mock IdP's provisioning engine (with the vendor
dialects) lands; then this module calls that engine and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.protocol.scim.schema import GROUP_SCHEMA, USER_SCHEMA

if TYPE_CHECKING:
    from harness.world import World


def provision(world: World, cycle: str, dialect: str) -> None:
    with world.client(
        base_url=world.scim_url, headers={"Authorization": f"Bearer {world.scim_token}"}
    ) as http:
        wanted = {
            u.user_name.lower(): u
            for u in world.idp.directory.users()
            if u.user_name.split("@")[0] not in world.unassigned
        }
        existing = {
            r["userName"].lower(): r
            for r in http.get("/Users", params={"count": 1000}).json()["Resources"]
        }
        ids: dict[str, str] = {}
        for key, user in wanted.items():
            body: dict[str, Any] = {
                "schemas": [USER_SCHEMA],
                "userName": user.user_name,
                "active": user.active,
                "externalId": user.external_id,
                "name": {"givenName": user.given_name, "familyName": user.family_name},
                "emails": [
                    {"value": user.email or user.user_name, "type": "work", "primary": True}
                ],
            }
            if key in existing:
                ids[key] = existing[key]["id"]
                http.put(f"/Users/{ids[key]}", json=body).raise_for_status()
            else:
                ids[key] = http.post("/Users", json=body).raise_for_status().json()["id"]
        for key, resource in existing.items():
            if key not in wanted:
                http.delete(f"/Users/{resource['id']}")
        groups = {
            g["displayName"]: g
            for g in http.get("/Groups", params={"count": 1000}).json()["Resources"]
        }
        for group in world.idp.directory.groups():
            members = [
                {"value": ids[u.user_name.lower()]}
                for u in world.idp.directory.users()
                if group.display_name in u.groups and u.user_name.lower() in ids
            ]
            body = {
                "schemas": [GROUP_SCHEMA],
                "displayName": group.display_name,
                "members": members,
            }
            if group.display_name in groups:
                http.put(
                    f"/Groups/{groups[group.display_name]['id']}", json=body
                ).raise_for_status()
            else:
                http.post("/Groups", json=body).raise_for_status()
        names = {g.display_name for g in world.idp.directory.groups()}
        for name, resource in groups.items():
            if name not in names:
                http.delete(f"/Groups/{resource['id']}")
