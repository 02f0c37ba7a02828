"""/retention: the workspace's retention rules (show, change, preview) and their runs."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import keys
from gateway.api.common import json_response, path_id, plain, query_int, read_json
from gateway.api.validate import only
from store import reset as resets
from store.auth import Caller
from store.reset import retention
from store.reset.rules import MAX_DAYS

KEYS = retention.KEYS


async def show(request: web.Request, caller: Caller) -> web.Response:
    """GET /retention: the rules in force (null = off) and the next run."""
    return json_response(plain(await retention.show(caller.actor)))


async def change(request: web.Request, caller: Caller) -> web.Response:
    """PUT /retention {"contacts_inactive_days": N|null, "messages_older_than_days": N|null}:
    change the retention rules (owner)."""
    body = await read_json(request)
    only(body, KEYS)
    changes: dict[str, Any] = {k: body[k] for k in KEYS if k in body}
    return json_response(plain(await retention.set_rules(caller.actor, changes)))


async def preview(request: web.Request, caller: Caller) -> web.Response:
    """GET /retention/preview: what the rules (or the days given) would delete today."""
    changes = {
        k: query_int(request, k, 0, low=1, high=MAX_DAYS) for k in KEYS if k in request.query
    }
    return json_response(plain(await retention.preview(caller.actor, changes)))


async def run(request: web.Request, caller: Caller) -> web.Response:
    """POST /retention/runs: run today's retention now, export first (owner)."""
    runner = request.app[keys.RESETS]
    if runner.running(caller.actor.workspace_id):
        raise resets.RunBusy("a reset or retention run of this workspace is already running")
    claimed = await retention.claim_now(caller.actor, runner.config)
    runner.start(claimed)
    return json_response(plain(await retention.get(caller.actor, claimed.id)), status=202)


async def list_runs(request: web.Request, caller: Caller) -> web.Response:
    """GET /retention/runs: the workspace's retention runs, newest first."""
    limit = query_int(request, "limit", 50, low=1, high=500)
    found = await resets.list_runs(caller.actor, limit=limit, kind=retention.KIND)
    return json_response({"runs": plain(found)})


async def show_run(request: web.Request, caller: Caller) -> web.Response:
    """GET /retention/runs/{run_id}: one retention run with its counts and export location."""
    return json_response(plain(await retention.get(caller.actor, path_id(request, "run_id"))))
