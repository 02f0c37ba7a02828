"""/audit: the workspace's audit log for its owner, filtered and cursor-paged, or as CSV."""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import download, json_response, page_limit, plain, query_text
from store import audit_log
from store.auth import Caller

FILTERS = ("actor", "action", "contact", "since", "until")


async def list_lines(request: web.Request, caller: Caller) -> web.Response:
    """GET /audit?actor=&action=&contact=&since=&until=&cursor=&limit=: audit lines, newest
    first."""
    query = await _query(request, caller)
    found = await audit_log.page(
        caller.actor, query, cursor=query_text(request, "cursor") or None,
        limit=page_limit(request),
    )  # fmt: skip
    return json_response({"lines": plain(found.lines), "next_cursor": found.next_cursor})


async def export(request: web.Request, caller: Caller) -> web.StreamResponse:
    """GET /audit/export?actor=&action=&contact=&since=&until=: the matching lines as CSV."""
    chunks = audit_log.csv_export(caller.actor, await _query(request, caller))
    return await download(request, chunks, "text/csv; charset=utf-8", "audit.csv")


async def _query(request: web.Request, caller: Caller) -> audit_log.AuditQuery:
    zone = await audit_log.workspace_zone(caller.actor)
    since, until = query_text(request, "since"), query_text(request, "until")
    ref = query_text(request, "contact").strip()
    return audit_log.AuditQuery(
        actor=query_text(request, "actor").strip() or None,
        action=query_text(request, "action").strip() or None,
        contact_id=await audit_log.contact_for(caller.actor, ref, caller.region) if ref else None,
        since=audit_log.parse_time(since, zone) if since else None,
        until=audit_log.parse_time(until, zone) if until else None,
    )
