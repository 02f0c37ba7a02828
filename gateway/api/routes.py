"""The API's route table (method, path, minimum role, schemas) and its registration."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from gateway.api import (
    audit,
    contacts,
    duplicates,
    exports,
    imports,
    merge,
    messages,
    notes,
    openapi,
    person,
    plan,
    reset,
    retention,
    subscriptions,
    tags,
    views,
)
from gateway.api.auth import authenticate
from gateway.api.common import PREFIX, ApiError, ApiHandler, bad_request, error_for
from gateway.api.validate import BODY_SCHEMA, BadParameter, check_query
from gateway.http import Handler, error_response, guarded
from store.access import require
from store.errors import DomainError

LIST = ("q", "filter", "sort", "cursor", "limit", "count")


@dataclass(frozen=True, slots=True)
class Route:
    """One API operation: who may call it, what it takes and returns (for OpenAPI)."""

    method: str
    path: str  # under PREFIX, aiohttp/OpenAPI template syntax
    handler: ApiHandler
    role: str  # the minimum role: agent < admin < owner
    summary: str
    ok: dict[int, str]  # success status -> response schema (or media kind) name
    body: str | None = None  # request schema name, or "csv"
    query: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()  # statuses beyond the ones derived from the inputs

    @property
    def path_params(self) -> list[str]:
        """Names of the `{…}` parameters of the path."""
        return re.findall(r"{(\w+)}", self.path)


def _r(
    method: str,
    path: str,
    handler: ApiHandler,
    role: str,
    ok: str | dict[int, str],
    *,
    body: str | None = None,
    query: tuple[str, ...] = (),
    errors: tuple[int, ...] = (),
) -> Route:
    statuses = ok if isinstance(ok, dict) else {200: ok}
    summary = (handler.__doc__ or "").rsplit(": ", 1)[-1].strip()
    summary = summary[:1].upper() + summary[1:]
    return Route(method, path, handler, role, summary, statuses, body, query, errors)


ROUTES: tuple[Route, ...] = (
    _r("GET", "/contacts", contacts.list_contacts, "agent", "ContactPage", query=LIST),
    _r("POST", "/contacts", contacts.create, "admin", {201: "Contact", 200: "Contact"},
       body="ContactInput", errors=(409,)),
    _r("POST", "/contacts/search", contacts.search, "agent", "ContactPage", body="SearchRequest"),
    _r("POST", "/contacts/bulk-delete", contacts.bulk_delete, "admin", "Deleted",
       body="BulkDeleteRequest", errors=(409,)),
    _r("GET", "/contacts/{ref}", contacts.show, "agent", "ContactDetail"),
    _r("PATCH", "/contacts/{ref}", contacts.patch, "admin", "Contact", body="ContactPatch",
       errors=(409,)),
    _r("DELETE", "/contacts/{ref}", contacts.delete, "admin", "Deleted"),
    _r("POST", "/contacts/{ref}/tags", tags.add, "agent", "Contact", body="TagsRequest"),
    _r("DELETE", "/contacts/{ref}/tags", tags.remove, "agent", "Contact", body="TagsRequest"),
    _r("GET", "/contacts/{ref}/notes", notes.list_notes, "agent", "NoteList"),
    _r("POST", "/contacts/{ref}/notes", notes.add, "agent", {201: "Note"}, body="NoteRequest"),
    _r("GET", "/contacts/{ref}/messages", messages.list_messages, "agent", "MessagePage",
       query=("cursor", "limit")),
    _r("POST", "/contacts/{ref}/messages", messages.send, "agent",
       {201: "Message", 202: "Message"}, body="MessageRequest", errors=(409, 429, 502, 504)),
    _r("GET", "/contacts/{ref}/data", person.archive, "admin", {200: "zip"}),
    _r("POST", "/contacts/{ref}/erase", person.erase_person, "admin", "Erasure",
       body="EraseRequest", errors=(409,)),
    _r("DELETE", "/notes/{note_id}", notes.delete, "agent", "Deleted"),
    _r("GET", "/contacts/{ref}/merge/{other}", merge.preview, "admin", "MergePreview",
       errors=(409,)),
    _r("POST", "/contacts/{ref}/merge", merge.merge, "admin", "MergeResult", body="MergeRequest",
       errors=(409,)),
    _r("POST", "/contacts/{ref}/unmerge", merge.unmerge, "admin", "Unmerged", errors=(409,)),
    _r("GET", "/contacts/{ref}/merges", merge.list_merges, "admin", "MergeList"),
    _r("GET", "/duplicates", duplicates.list_duplicates, "agent", "DuplicatePage",
       query=("cursor", "limit")),
    _r("POST", "/duplicates/dismiss", duplicates.dismiss, "admin", "DuplicateDismissed",
       body="DismissRequest", errors=(404,)),
    _r("GET", "/tags", tags.list_tags, "agent", "TagList"),
    _r("POST", "/tags/bulk", tags.bulk_tag, "admin", "BulkTagResult", body="BulkTagRequest"),
    _r("DELETE", "/tags/{name}", tags.delete_tag, "admin", "TagDeleted"),
    _r("GET", "/views", views.list_views, "agent", "ViewList"),
    _r("POST", "/views", views.save, "admin", {201: "View"}, body="ViewRequest", errors=(409,)),
    _r("GET", "/views/{name}", views.show, "agent", "View"),
    _r("GET", "/views/{name}/contacts", views.run, "agent", "ContactPage",
       query=("cursor", "limit", "count")),
    _r("DELETE", "/views/{name}", views.delete, "admin", "DeletedName"),
    _r("POST", "/imports", imports.create, "admin", {202: "ImportJob"}, body="csv",
       query=("dry_run", "on_conflict")),
    _r("GET", "/imports/{import_id}", imports.show, "admin", "ImportJob"),
    _r("GET", "/exports", exports.create, "admin", {200: "file"},
       query=("format", "columns", "filter", "view", "q"), errors=(404,)),
    _r("GET", "/plan", plan.usage, "agent", "PlanUsage"),
    _r("PUT", "/plan", plan.set_cap, "owner", "PlanUsage", body="CapRequest"),
    _r("GET", "/reset", reset.status, "admin", "ResetStatus"),
    _r("PUT", "/reset", reset.change, "owner", "ResetStatus", body="ResetChange"),
    _r("GET", "/reset/preview", reset.preview, "admin", "ResetPreview", query=("mode",)),
    _r("GET", "/reset/runs", reset.list_runs, "admin", "ResetRunList", query=("limit",)),
    _r("POST", "/reset/runs", reset.run, "owner", {202: "ResetRun"}, body="RunRequest",
       errors=(409,)),
    _r("GET", "/reset/runs/{run_id}", reset.show_run, "admin", "ResetRun"),
    _r("GET", "/reset/runs/{run_id}/export", reset.run_export, "owner", {200: "zip"},
       errors=(409,)),
    _r("GET", "/retention", retention.show, "admin", "Retention"),
    _r("PUT", "/retention", retention.change, "owner", "Retention", body="RetentionChange"),
    _r("GET", "/retention/preview", retention.preview, "admin", "RetentionPreview",
       query=retention.KEYS),
    _r("GET", "/retention/runs", retention.list_runs, "admin", "RetentionRunList",
       query=("limit",)),
    _r("POST", "/retention/runs", retention.run, "owner", {202: "RetentionRun"}, errors=(409,)),
    _r("GET", "/retention/runs/{run_id}", retention.show_run, "admin", "RetentionRun"),
    _r("GET", "/audit", audit.list_lines, "owner", "AuditPage",
       query=(*audit.FILTERS, "cursor", "limit"), errors=(404,)),
    _r("GET", "/audit/export", audit.export, "owner", {200: "file"}, query=audit.FILTERS,
       errors=(404,)),  # an unknown `contact`
    _r("GET", "/events", reset.list_events, "admin", "EventList",
       query=("after", "limit", "undelivered")),
    _r("POST", "/event-subscriptions", subscriptions.create, "owner",
       {201: "SubscriptionCreated"}, body="SubscriptionInput"),
    _r("GET", "/event-subscriptions", subscriptions.list_subscriptions, "owner",
       "SubscriptionList"),
    _r("GET", "/event-subscriptions/{sub_id}", subscriptions.show, "owner", "Subscription"),
    _r("DELETE", "/event-subscriptions/{sub_id}", subscriptions.remove, "owner", "Deleted"),
    _r("POST", "/event-subscriptions/{sub_id}/rotate", subscriptions.rotate, "owner",
       "SecretRotated"),
    _r("GET", "/event-subscriptions/{sub_id}/deliveries", subscriptions.deliveries, "owner",
       "DeliveryList", query=("before", "limit")),
    _r("POST", "/event-subscriptions/{sub_id}/test", subscriptions.send_test, "owner",
       {202: "Delivery"}),
)  # fmt: skip


def endpoint(route: Route) -> Handler:
    """The aiohttp handler of a route: authenticate, check the role, run, map errors."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            caller = await authenticate(request)
            require(caller.actor, route.role)
            check_query(request.query, route.query)
            if route.body and route.body != "csv":
                request[BODY_SCHEMA] = (route.body, caller.region)
            return await route.handler(request, caller)
        except BadParameter as exc:
            return error_for(bad_request(str(exc)))
        except (ApiError, DomainError) as exc:
            return error_for(exc)

    handle.__name__ = handle.__qualname__ = route.handler.__name__
    return guarded(handle)


def register(app: web.Application) -> None:
    """Add every API route, the OpenAPI document, and JSON 404/405 answers under PREFIX."""
    app.router.add_route("GET", f"{PREFIX}/openapi.json", guarded(openapi.handler(ROUTES)))
    app.router.add_route("*", f"{PREFIX}/openapi.json", guarded(_not_allowed(["GET"])))
    for path, routes in _by_path(ROUTES).items():
        pattern = PREFIX + any_segment(path)
        for route in routes:
            app.router.add_route(route.method, pattern, endpoint(route))
        app.router.add_route("*", pattern, guarded(_not_allowed([r.method for r in routes])))
    app.router.add_route("*", PREFIX + "{tail:.*}", guarded(_no_route))


def any_segment(path: str) -> str:
    """The aiohttp pattern of an OpenAPI path: each `{name}` takes a whole segment, whatever it
    holds once decoded (aiohttp's default `[^{}/]+` refuses braces; `%2F` stays in its segment
    and arrives as `/`)."""
    return re.sub(r"{(\w+)}", r"{\1:[^/]+}", path)


def _by_path(routes: Iterable[Route]) -> dict[str, list[Route]]:
    grouped: dict[str, list[Route]] = {}
    for route in routes:
        grouped.setdefault(route.path, []).append(route)
    return grouped


def _not_allowed(methods: list[str]) -> Handler:
    allow = ", ".join(methods)

    async def method_not_allowed(request: web.Request) -> web.StreamResponse:
        response = error_response(
            405, "method_not_allowed", f"{request.method} is not allowed here; use {allow}"
        )
        response.headers["Allow"] = allow
        return response

    return method_not_allowed


async def _no_route(request: web.Request) -> web.StreamResponse:
    return error_response(404, "not_found", f"no API route {request.path[:200]!r}")
