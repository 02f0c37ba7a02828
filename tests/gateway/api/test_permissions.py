"""The role matrix of SPEC section 5: every route x agent/admin/owner, table-driven.

The minimum roles are written out here (not read from the route table), so changing a route's
role in gateway/api/routes.py without changing this table fails.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.api.routes import ROUTES
from store.access import allows
from tests.gateway.api.people import person
from tests.gateway.api.support import ROLES, Api, error

_n = itertools.count(1)
Request = tuple[str, dict[str, Any]]  # the concrete path and the keyword arguments of Api.__call__
Builder = Callable[[Api], Awaitable[Request]]


async def _contact(api: Api, **fields: Any) -> int:
    return int((await api.create(name=f"Person {next(_n)}", **fields))["id"])


async def _import_job(api: Api) -> Request:
    started = await api("POST", "/imports", **CSV)
    assert started.status == 202, started.body
    return f"/imports/{started.body['id']}", {}


async def _two(api: Api) -> tuple[int, int]:
    return await _contact(api), await _contact(api)


async def _merged(api: Api) -> Request:
    a, b = await _two(api)
    assert (await api("POST", f"/contacts/{a}/merge", json={"secondary": b})).status == 200
    return f"/contacts/{b}/unmerge", {}


async def _note(api: Api) -> Request:
    cid = await _contact(api)
    note = await api("POST", f"/contacts/{cid}/notes", json={"body": "hello"})
    return f"/notes/{note.body['id']}", {}


async def _tag(api: Api) -> Request:
    tag = f"tag{next(_n)}"
    await api("POST", f"/contacts/{await _contact(api)}/tags", json={"tags": [tag]})
    return f"/tags/{tag}", {}


async def _view(api: Api, suffix: str = "") -> Request:
    name = f"view {next(_n)}"
    saved = await api("POST", "/views", json={"name": name, "filter": "tag:vip"})
    assert saved.status == 201, saved.body
    return f"/views/{name}{suffix}", {}


async def _bulk_delete(api: Api) -> Request:
    company = f"Doomed{next(_n)}"
    await _contact(api, company=company)
    return "/contacts/bulk-delete", {"json": {"q": company, "confirm": 1}}


async def _fixed(path: str, **kwargs: Any) -> Request:
    return path, kwargs


def fixed(path: str, **kwargs: Any) -> Builder:
    """A request that needs no data set up."""
    return lambda _api: _fixed(path, **kwargs)


def on_contact(suffix: str = "", **kwargs: Any) -> Builder:
    """A request on a fresh contact."""

    async def build(api: Api) -> Request:
        return f"/contacts/{await _contact(api)}{suffix}", kwargs

    return build


async def _message(api: Api) -> Request:
    cid = await person(api, "telegram", str(5_550_000 + next(_n)))
    return f"/contacts/{cid}/messages", {"json": {"text": "Hola"}}


async def _preview(api: Api) -> Request:
    a, b = await _two(api)
    return f"/contacts/{a}/merge/{b}", {}


async def _merge(api: Api) -> Request:
    a, b = await _two(api)
    return f"/contacts/{a}/merge", {"json": {"secondary": b}}


async def _dismiss(api: Api) -> Request:
    a, b = await _two(api)
    return "/duplicates/dismiss", {"json": {"a": a, "b": b}}


async def _reset_run(api: Api) -> Request:
    runs = await api("GET", "/reset/runs")
    if not runs.body["runs"]:
        started = await api("POST", "/reset/runs", json={"mode": "tagged"})
        assert started.status == 202, started.body
        return f"/reset/runs/{started.body['id']}", {}
    return f"/reset/runs/{runs.body['runs'][0]['id']}", {}


async def _run_export(api: Api) -> Request:
    path, kwargs = await _reset_run(api)
    for _ in range(2000):  # the export can be fetched once the run wrote it
        if (await api("GET", path)).body["state"] in ("done", "failed"):
            break
        await asyncio.sleep(0.005)
    return f"{path}/export", kwargs


async def _subscription(api: Api) -> int:
    made = await api("POST", "/event-subscriptions", json={"url": "http://127.0.0.1:9/hook"})
    assert made.status == 201, made.body
    return int(made.body["id"])


def on_subscription(suffix: str = "") -> Builder:
    """A request on a fresh event subscription (made with the owner's token)."""

    async def build(api: Api) -> Request:
        return f"/event-subscriptions/{await _subscription(api)}{suffix}", {}

    return build


async def _retention_start(api: Api) -> Request:
    ruled = await api("PUT", "/retention", json={"contacts_inactive_days": 3650})
    assert ruled.status == 200, ruled.body
    return "/retention/runs", {}


async def _retention_run(api: Api) -> Request:
    runs = await api("GET", "/retention/runs")
    if not runs.body["runs"]:
        path, _kwargs = await _retention_start(api)
        started = await api("POST", path)
        assert started.status == 202, started.body
        return f"/retention/runs/{started.body['id']}", {}
    return f"/retention/runs/{runs.body['runs'][0]['id']}", {}


CSV = {"data": b"name,email\nAna,ana@example.com\n", "headers": {"Content-Type": "text/csv"}}
# (method, path) -> (minimum role, a request that succeeds with that role)
MATRIX: dict[tuple[str, str], tuple[str, Builder]] = {
    ("GET", "/contacts"): ("agent", fixed("/contacts")),
    ("POST", "/contacts"): ("admin", fixed("/contacts", json={"name": "New"})),
    ("POST", "/contacts/search"): ("agent", fixed("/contacts/search", json={"q": "x"})),
    ("POST", "/contacts/bulk-delete"): ("admin", _bulk_delete),
    ("GET", "/contacts/{ref}"): ("agent", on_contact()),
    ("PATCH", "/contacts/{ref}"): ("admin", on_contact(json={"city": "Lima"})),
    ("DELETE", "/contacts/{ref}"): ("admin", on_contact()),
    ("POST", "/contacts/{ref}/tags"): ("agent", on_contact("/tags", json={"tags": ["a"]})),
    ("DELETE", "/contacts/{ref}/tags"): ("agent", on_contact("/tags", json={"tags": ["a"]})),
    ("GET", "/contacts/{ref}/notes"): ("agent", on_contact("/notes")),
    ("POST", "/contacts/{ref}/notes"): ("agent", on_contact("/notes", json={"body": "hi"})),
    ("DELETE", "/notes/{note_id}"): ("agent", _note),
    ("GET", "/contacts/{ref}/messages"): ("agent", on_contact("/messages")),
    ("POST", "/contacts/{ref}/messages"): ("agent", _message),
    ("GET", "/contacts/{ref}/merge/{other}"): ("admin", _preview),
    ("POST", "/contacts/{ref}/merge"): ("admin", _merge),
    ("POST", "/contacts/{ref}/unmerge"): ("admin", _merged),
    ("GET", "/contacts/{ref}/merges"): ("admin", on_contact("/merges")),
    ("GET", "/duplicates"): ("agent", fixed("/duplicates")),
    ("POST", "/duplicates/dismiss"): ("admin", _dismiss),
    ("GET", "/tags"): ("agent", fixed("/tags")),
    ("POST", "/tags/bulk"): (
        "admin",
        fixed("/tags/bulk", json={"action": "add", "tags": ["b"], "q": "nobody"}),
    ),
    ("DELETE", "/tags/{name}"): ("admin", _tag),
    ("GET", "/views"): ("agent", fixed("/views")),
    ("POST", "/views"): (
        "admin",
        fixed("/views", json={"name": "vips", "filter": "tag:vip", "replace": True}),
    ),
    ("GET", "/views/{name}"): ("agent", _view),
    ("GET", "/views/{name}/contacts"): (
        "agent",
        lambda api: _view(api, "/contacts"),
    ),
    ("DELETE", "/views/{name}"): ("admin", _view),
    ("POST", "/imports"): ("admin", fixed("/imports", **CSV)),
    ("GET", "/imports/{import_id}"): ("admin", _import_job),
    ("GET", "/exports"): ("admin", fixed("/exports", params={"columns": "email"})),
    ("GET", "/plan"): ("agent", fixed("/plan")),
    ("PUT", "/plan"): ("owner", fixed("/plan", json={"cap": 500})),
    ("GET", "/reset"): ("admin", fixed("/reset")),
    ("PUT", "/reset"): ("owner", fixed("/reset", json={"time": "22:30"})),
    ("GET", "/reset/preview"): ("admin", fixed("/reset/preview", params={"mode": "all"})),
    ("GET", "/reset/runs"): ("admin", fixed("/reset/runs")),
    ("POST", "/reset/runs"): ("owner", fixed("/reset/runs", json={"mode": "tagged"})),
    ("GET", "/reset/runs/{run_id}/export"): ("owner", _run_export),
    ("GET", "/reset/runs/{run_id}"): ("admin", _reset_run),
    ("GET", "/retention"): ("admin", fixed("/retention")),
    ("PUT", "/retention"): ("owner", fixed("/retention", json={"contacts_inactive_days": 365})),
    ("GET", "/retention/preview"): ("admin", fixed("/retention/preview")),
    ("GET", "/retention/runs"): ("admin", fixed("/retention/runs")),
    ("POST", "/retention/runs"): ("owner", _retention_start),
    ("GET", "/retention/runs/{run_id}"): ("admin", _retention_run),
    ("GET", "/events"): ("admin", fixed("/events")),
    ("GET", "/audit"): ("owner", fixed("/audit")),
    ("GET", "/contacts/{ref}/data"): ("admin", on_contact("/data")),
    ("POST", "/contacts/{ref}/erase"): ("admin", on_contact("/erase", json={"confirm": 1})),
    ("GET", "/audit/export"): ("owner", fixed("/audit/export")),
    ("POST", "/event-subscriptions"): (
        "owner",
        fixed("/event-subscriptions", json={"url": "https://crm.example/hook"}),
    ),
    ("GET", "/event-subscriptions"): ("owner", fixed("/event-subscriptions")),
    ("GET", "/event-subscriptions/{sub_id}"): ("owner", on_subscription()),
    ("DELETE", "/event-subscriptions/{sub_id}"): ("owner", on_subscription()),
    ("POST", "/event-subscriptions/{sub_id}/rotate"): ("owner", on_subscription("/rotate")),
    ("GET", "/event-subscriptions/{sub_id}/deliveries"): (
        "owner",
        on_subscription("/deliveries"),
    ),
    ("POST", "/event-subscriptions/{sub_id}/test"): ("owner", on_subscription("/test")),
}


def test_matrix_covers_every_route_with_the_declared_role() -> None:
    declared = {(r.method, r.path): r.role for r in ROUTES}
    assert declared == {key: role for key, (role, _b) in MATRIX.items()}


CASES = [pytest.param(m, p, role, id=f"{m} {p}") for (m, p), (role, _b) in MATRIX.items()]


@pytest.mark.parametrize(("method", "path", "minimum"), CASES)
async def test_role_matrix(api: Api, method: str, path: str, minimum: str) -> None:
    route = next(r for r in ROUTES if (r.method, r.path) == (method, path))
    build = MATRIX[(method, path)][1]
    seen = {}
    for role in ROLES:
        concrete, kwargs = await build(api)
        reply = await api(method, concrete, role=role, **kwargs)
        allowed = allows(role, minimum)
        if allowed:
            assert reply.status in route.ok, (role, reply.status, reply.body)
            seen[role] = "ok"
        else:
            assert reply.body == error(
                "forbidden", f"this needs the {minimum} role; you are {role}"
            )
            seen[role] = reply.status
    assert seen == {r: "ok" if allows(r, minimum) else 403 for r in ROLES}
