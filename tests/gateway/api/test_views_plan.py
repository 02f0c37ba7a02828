"""Saved views and the plan through the API."""

from __future__ import annotations

from typing import Any

from gateway.api.inputs import COLUMN, SORT_NAMES
from tests import helpers as h
from tests.gateway.api.support import TIME, Api, audit_rows, error, stable


async def test_save_list_show_run_delete_a_view(api: Api) -> None:
    await api.create(name="Ana", city="Quito")
    await api.create(name="Bea", city="Quito")
    await api.create(name="Cora", city="Lima")
    saved = await api(
        "POST",
        "/views",
        role="admin",
        json={"name": "Quiteños", "filter": "city:Quito", "columns": ["email"], "sort": "-name"},
    )
    assert saved.status == 201
    view = stable(saved.body)
    assert (view["name"], view["columns"], view["sort"], view["created_by"]) == (
        "Quiteños",
        ["name", "email"],
        "-name",
        "token:admin-bot",
    )
    assert view["created_at"] == TIME
    listed = await api("GET", "/views", role="agent")
    assert stable(listed.body) == {"views": [view]}
    shown = await api("GET", "/views/Quite%C3%B1os", role="agent")
    assert (shown.status, stable(shown.body)) == (200, view)
    first = await api("GET", "/views/Quiteños/contacts", role="agent", params={"limit": "1"})
    assert [c["name"] for c in first.body["contacts"]] == ["Bea"]
    rest = await api(
        "GET",
        "/views/Quiteños/contacts",
        params={"cursor": first.body["next_cursor"], "count": "true"},
    )
    assert ([c["name"] for c in rest.body["contacts"]], rest.body["total"]) == (["Ana"], 2)
    deleted = await api("DELETE", "/views/Quiteños", role="admin")
    assert (deleted.status, deleted.body) == (200, {"deleted": "Quiteños"})
    assert (await api("GET", "/views")).body == {"views": []}
    assert [r[1:3] for r in await audit_rows()][-2:] == [
        ("view.save", "Quiteños"),
        ("view.delete", "Quiteños"),
    ]


async def test_view_errors(api: Api) -> None:
    await api("POST", "/views", json={"name": "vips", "filter": "tag:vip"})
    cases: list[tuple[Any, int, dict[str, str]]] = [
        (
            {"name": "vips", "filter": "tag:vip"},
            409,
            error("conflict", "a view named 'vips' exists (replace it explicitly)"),
        ),
        ({"filter": "tag:vip"}, 422, error("invalid", "name is required")),
        (
            {"name": "x", "columns": "email"},
            422,
            error("invalid", "columns must be a list or null"),
        ),
        ({"name": "x", "replace": "yes"}, 422, error("invalid", "replace must be true or false")),
        (
            {"name": "x", "sort": "shoe"},
            422,
            error(
                "invalid",
                f"sort must be one of {', '.join(SORT_NAMES)}, -{', -'.join(SORT_NAMES)},"
                " not 'shoe'",
            ),
        ),
        (
            {"name": "x", "columns": ["shoe"]},
            422,
            error("invalid", f"columns[0]: {COLUMN['description']}"),
        ),
    ]
    for body, status, expected in cases:
        reply = await api("POST", "/views", json=body)
        assert (body, reply.status, reply.body) == (body, status, expected)
    replaced = await api("POST", "/views", json={"name": "vips", "filter": "", "replace": True})
    assert replaced.status == 201
    for method, path in (("GET", "/views/nope"), ("GET", "/views/nope/contacts"),
                         ("DELETE", "/views/nope")):  # fmt: skip
        reply = await api(method, path)
        assert (path, reply.status, reply.body) == (path, 404, error("not_found", "no view 'nope'"))


async def test_plan_usage_for_every_role_and_cap_for_owner(api: Api) -> None:
    usage = await api("GET", "/plan", role="agent")
    assert usage.status == 200
    body = dict(usage.body)
    period, days = body.pop("period"), body.pop("days_to_next_period")
    assert body == {
        "workspace": "acme",
        "cap": 1000,
        "used": 0,
        "carried_over": 0,
        "held_messages": 0,
        "held_senders": 0,
        "channels": [],
        "admitted_now": 0,
    }
    assert len(period) == 7 and 0 < days <= 31
    changed = await api("PUT", "/plan", json={"cap": 5})
    assert (changed.status, changed.body["cap"], changed.body["admitted_now"]) == (200, 5, 0)
    assert await h.rows(
        "SELECT actor, surface, action, target FROM audit_log WHERE action = 'plan.set_cap'"
    ) == [
        {"actor": "token:owner-bot", "surface": "api", "action": "plan.set_cap", "target": "acme"}
    ]


async def test_plan_cap_refused(api: Api) -> None:
    cases: list[tuple[Any, dict[str, str]]] = [
        ({}, error("invalid", "cap is required")),
        ({"cap": -1}, error("invalid", "cap must be between 0 and 2147483647")),
        ({"cap": 1.5}, error("invalid", "cap must be an integer")),
        ({"cap": 2**40}, error("invalid", "cap must be between 0 and 2147483647")),
        ({"cap": 5, "period": "x"}, error("invalid", "unknown field(s): period; expected cap")),
    ]
    for body, expected in cases:
        reply = await api("PUT", "/plan", json=body)
        assert (body, reply.status, reply.body) == (body, 422, expected)
