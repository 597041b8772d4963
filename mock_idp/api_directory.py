"""The control API's directory: ``/api/users`` and ``/api/groups`` (members and nesting).
Every change goes through the IdP's script surface, the harness's own path."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api_bodies import GroupBody, GroupPatch, MembersBody, UserBody, UserPatch
from .api_common import RouteFactory, read_json
from .idp import MockIdP


def user_routes(idp: MockIdP, route: RouteFactory) -> list[Route]:
    script = idp.script

    async def users(request: Request) -> Response:
        if request.method == "POST":
            body = await read_json(request, UserBody)
            return JSONResponse(script.add_user(body.to_user()).to_json(), status_code=201)
        return JSONResponse({"users": [u.to_json() for u in idp.directory.users()]})

    async def user(request: Request) -> Response:
        name = request.path_params["user_name"]
        if request.method == "GET":
            return JSONResponse(script.user(name).to_json())
        if request.method == "DELETE":
            script.remove_user(name)
            return Response(status_code=204)
        if request.method == "PUT":
            body = await read_json(request, UserBody)
            return JSONResponse(script.replace_user(name, body.to_user()).to_json())
        script.user(name)  # a 404 before the body is read
        patch = await read_json(request, UserPatch)
        return JSONResponse(script.update_user(name, patch.to_changes()).to_json())

    return [
        route("/users", users, "GET", "POST"),
        route("/users/{user_name}", user, "GET", "PUT", "PATCH", "DELETE"),
    ]


def group_routes(idp: MockIdP, route: RouteFactory) -> list[Route]:
    script = idp.script

    def group_json(name: str) -> dict[str, object]:
        group = script.group(name)
        return {
            "id": group.id,
            "displayName": group.display_name,
            "externalId": group.external_id,
            "assigned": group.assigned,
            "members": [u.user_name for u in idp.directory.members(group.display_name)],
            "memberGroups": list(group.member_groups),
        }

    async def groups(request: Request) -> Response:
        if request.method == "POST":
            body = await read_json(request, GroupBody)
            group = script.add_group(
                body.displayName,
                external_id=body.externalId,
                assigned=body.assigned,
                members=body.members,
                member_groups=body.memberGroups,
            )
            return JSONResponse(group_json(group.display_name), status_code=201)
        return JSONResponse(
            {"groups": [group_json(g.display_name) for g in idp.directory.groups()]}
        )

    async def group(request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "DELETE":
            script.remove_group(name)
            return Response(status_code=204)
        if request.method == "PATCH":
            script.group(name)  # a 404 before the body is read
            patch = await read_json(request, GroupPatch)
            name = script.update_group(
                name,
                display_name=patch.displayName,
                assigned=patch.assigned,
                member_groups=patch.memberGroups,
            ).display_name
        return JSONResponse(group_json(name))

    async def members(request: Request) -> Response:
        name = request.path_params["name"]
        script.group(name)
        body = await read_json(request, MembersBody)
        if request.method == "POST":
            for user_name in body.members:
                script.add_to_group(user_name, name)
        else:
            for user_name in body.members:
                script.remove_from_group(user_name, name)
        return JSONResponse(group_json(name))

    return [
        route("/groups", groups, "GET", "POST"),
        route("/groups/{name}", group, "GET", "PATCH", "DELETE"),
        route("/groups/{name}/members", members, "POST", "DELETE"),
    ]
