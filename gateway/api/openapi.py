"""The OpenAPI 3.1 document, built from the route table and the hand-written schemas."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from gateway.api.common import PREFIX
from gateway.api.parameters import PATH, QUERY
from gateway.api.schemas import SCHEMAS, ref
from gateway.http import Handler
from store.files import IDENTIFYING, SYNONYMS

if TYPE_CHECKING:
    from gateway.api.routes import Route

ERRORS = {
    400: "The request cannot be read: not JSON, wrong content type, a malformed parameter.",
    401: "No bearer token, a malformed one, or an unknown or revoked one.",
    403: "The token's role is below the operation's `x-required-role`.",
    404: "The contact, note, view or tag named does not exist in this workspace.",
    409: "The change collides with existing data; the detail names what it collides with.",
    413: "The body is over the limit (1 MiB for JSON, the import limit for CSV).",
    422: "The input breaks a rule; the detail says which.",
    429: "The provider is rate-limiting the channel; Retry-After says how long, when it said.",
    502: "The provider refused the channel's credentials or the message, or cannot be reached;"
    " the detail names the provider and what it said.",
    504: "The provider did not answer in time; the message may or may not have been delivered.",
}
ROLES_TEXT = "Roles: agent < admin < owner; each operation states its minimum in x-required-role."
IDENTIFYING_HEADERS = [alias for field in IDENTIFYING for alias in SYNONYMS[field]]
CSV = {
    "type": "string",
    "description": "A CSV file (UTF-8 with or without BOM, or Latin-1) whose first line, the"
    " header, names the columns: at least one of name, email, phone, identifier (or a synonym:"
    " nombre, correo, teléfono…), each column once. The pattern spells the simplest such file:"
    " one identifying column, then the rows.",
    "pattern": f"^\\ufeff?({'|'.join(IDENTIFYING_HEADERS)})([\\r\\n][^\\u0000]*)?$",
}
FILE = {
    "description": "The export file (CSV streamed, UTF-8 with BOM; or PDF).",
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    },
}

ARCHIVE = {
    "description": "A ZIP archive (streamed).",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
}


# What a created (201/202) or listed resource lets a client call next: response schema ->
# (the path parameter it fills, the paths it serves, where its value is in the body).
LINKS = {
    "Contact": ("ref", "/contacts/", "$response.body#/id"),
    "Note": ("note_id", "/notes/", "$response.body#/id"),
    "View": ("name", "/views/", "$response.body#/name"),
    "TagList": ("name", "/tags/", "$response.body#/tags/0/name"),
    "ResetRun": ("run_id", "/reset/runs/", "$response.body#/id"),
    "ImportJob": ("import_id", "/imports/", "$response.body#/id"),
}


def document(routes: Iterable[Route]) -> dict[str, Any]:
    """The whole OpenAPI document."""
    routes = list(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        op = operation(route)
        for status, links in _links(route, routes).items():
            op["responses"][str(status)]["links"] = links
        paths.setdefault(PREFIX + route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "contactgate API",
            "version": "1",
            "description": f"Contacts, tags, notes, merges, views, import, export, plan. "
            f"Errors are JSON {{error, detail}}. {ROLES_TEXT}",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def operation(route: Route) -> dict[str, Any]:
    """One operation object."""
    module = route.handler.__module__.rsplit(".", 1)[-1]
    op: dict[str, Any] = {
        "operationId": _operation_id(route),
        "summary": route.summary,
        "description": f"{(route.handler.__doc__ or '').strip()}\n\nMinimum role: {route.role}.",
        "tags": [module],
        "x-required-role": route.role,
        "parameters": [
            *({"name": p, "in": "path", "required": True, **PATH[p]} for p in route.path_params),
            *({"name": q, "in": "query", "required": False, **QUERY[q]} for q in route.query),
        ],
        "responses": {**_successes(route), **_errors(route)},
    }
    if route.body == "csv":
        op["requestBody"] = {"required": True, "content": {"text/csv": {"schema": CSV}}}
    elif route.body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(route.body)}},
        }
    return op


def _successes(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, name in route.ok.items():
        if name == "file":
            out[str(status)] = FILE
        elif name == "zip":
            out[str(status)] = ARCHIVE
        else:
            content = {"application/json": {"schema": ref(name)}}
            out[str(status)] = {"description": _success_text(status), "content": content}
    return out


def _links(route: Route, routes: list[Route]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for status, name in route.ok.items():
        if name not in LINKS or (status == 200 and route.method != "GET"):
            continue
        param, under, where = LINKS[name]
        targets = [
            r
            for r in routes
            if param in r.path_params and r.path.startswith(under) and r.body != "MergeRequest"
        ]  # a merge names its second contact in the body: no link can fill that
        out[status] = {
            _operation_id(t): {"operationId": _operation_id(t), "parameters": {param: where}}
            for t in targets
        }
    return out


def _operation_id(route: Route) -> str:
    return f"{route.handler.__module__.rsplit('.', 1)[-1]}_{route.handler.__name__}"


def _success_text(status: int) -> str:
    return "Created." if status == 201 else "OK."


def error_statuses(route: Route) -> list[int]:
    """The error statuses an operation can answer with."""
    found = {401, 403, *route.errors}
    if route.path_params or route.query or route.body:
        found |= {400, 422}
    if "cursor" in (*route.query, *SCHEMAS.get(route.body or "", {}).get("properties", ())):
        found |= {404, 409}  # a cursor not given out names no page; one of another query
    if route.path_params:
        found.add(404)
    if route.body:
        found.add(413)
    return sorted(found)


def _errors(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in error_statuses(route):
        out[str(status)] = {
            "description": ERRORS[status],
            "content": {"application/json": {"schema": ref("Error")}},
        }
    out["401"]["headers"] = {
        "WWW-Authenticate": {"description": "Bearer challenge.", "schema": {"type": "string"}}
    }
    return out


def handler(routes: Iterable[Route]) -> Handler:
    """GET /api/v1/openapi.json (no token needed): the document, built once."""
    body = orjson.dumps(document(routes))

    async def serve(_request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    return serve
