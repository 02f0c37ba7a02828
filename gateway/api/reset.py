"""/reset and /events: the monthly reset (status, preview, mode, runs) and notifications."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.api.common import (
    download,
    json_response,
    only,
    path_id,
    plain,
    query_bool,
    query_int,
    query_text,
    read_json,
    text_field,
)
from gateway.api.schemas import MAX_AFTER
from store import events
from store import reset as resets
from store.auth import Caller
from store.errors import Invalid
from store.files.zipstream import zip_files
from store.reset import on_disk


async def status(request: web.Request, caller: Caller) -> web.Response:
    """GET /reset: the mode in force, any pending change, the next run, recent runs."""
    return json_response(plain(await resets.status(caller.actor)))


async def change(request: web.Request, caller: Caller) -> web.Response:
    """PUT /reset {"mode": "off|tagged|all", "time": "HH:MM"}: change the reset (owner)."""
    body = await read_json(request)
    only(body, ("mode", "time"))
    mode, time = text_field(body, "mode"), text_field(body, "time")
    if mode is None and time is None:
        raise Invalid("send mode (off, tagged or all), time (HH:MM), or both")
    result = None
    if time is not None:
        result = await resets.set_time(caller.actor, time)
    if mode is not None:
        result = await resets.set_mode(caller.actor, mode)
    return json_response(plain(result))


async def preview(request: web.Request, caller: Caller) -> web.Response:
    """GET /reset/preview: what a reset would delete now (counts and a sample), deleting nothing."""
    mode = query_text(request, "mode") or None
    return json_response(plain(await resets.preview(caller.actor, mode)))


async def run(request: web.Request, caller: Caller) -> web.Response:
    """POST /reset/runs {} or {"mode": "all|tagged"}: run this month's reset now (owner)."""
    body = await read_json(request)
    only(body, ("mode",))
    runner = request.app[keys.RESETS]
    if runner.running(caller.actor.workspace_id):
        raise resets.RunBusy("a reset of this workspace is already running")
    claimed = await resets.claim_now(caller.actor, runner.config, text_field(body, "mode"))
    runner.start(claimed)
    return json_response(plain(await resets.get_run(caller.actor, claimed.id)), status=202)


async def list_runs(request: web.Request, caller: Caller) -> web.Response:
    """GET /reset/runs: the workspace's reset runs, newest first."""
    limit = query_int(request, "limit", 50, low=1, high=500)
    return json_response({"runs": plain(await resets.list_runs(caller.actor, limit=limit))})


async def show_run(request: web.Request, caller: Caller) -> web.Response:
    """GET /reset/runs/{run_id}: one reset run with its counts and export location."""
    return json_response(plain(await resets.get_run(caller.actor, path_id(request, "run_id"))))


async def list_events(request: web.Request, caller: Caller) -> web.Response:
    """GET /events: notifications (cap 80/100 %, reset soon/done/failed) after an id."""
    after = query_int(request, "after", 0, low=0, high=MAX_AFTER)
    limit = query_int(request, "limit", 100, low=1, high=500)
    undelivered = query_bool(request, "undelivered") if "undelivered" in request.query else False
    found = await events.list_events(
        caller.actor, after=after, limit=limit, undelivered=undelivered
    )
    return json_response({"events": plain(found)})


async def run_export(request: web.Request, caller: Caller) -> web.StreamResponse:
    """GET /reset/runs/{run_id}/export: the run's export files as one ZIP (owner)."""
    run_id = path_id(request, "run_id")
    files = await on_disk.run_files(caller.actor, run_id)
    return await download(request, zip_files(files), "application/zip", f"reset-run{run_id}.zip")
