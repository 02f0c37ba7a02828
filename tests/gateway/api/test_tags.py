"""Tags through the API: one contact, the workspace's list, delete, bulk add/remove."""

from __future__ import annotations

from typing import Any

from tests.gateway.api.support import Api, audit_rows, contact, error, stable, workspace_id


async def test_tag_and_untag_one_contact(api: Api) -> None:
    ws = await workspace_id()
    await api.create(name="Ana")
    added = await api("POST", "/contacts/1/tags", role="agent", json={"tags": ["VIP", "Borrar"]})
    assert (added.status, stable(added.body)) == (
        200,
        contact(1, ws, name="Ana", tags=["Borrar", "VIP"]),
    )
    same = await api("POST", "/contacts/1/tags", role="agent", json={"tags": ["borrar"]})
    assert same.body["tags"] == ["Borrar", "VIP"]
    removed = await api("DELETE", "/contacts/1/tags", role="agent", json={"tags": ["BORRAR"]})
    assert (removed.status, stable(removed.body)) == (
        200,
        contact(1, ws, name="Ana", tags=["VIP"]),
    )
    assert await audit_rows() == [
        ("token:owner-bot", "contact.create", "#1", {"fields": ["name"]}),
        ("token:agent-bot", "tag.add", "#1", {"tags": ["VIP", "Borrar"]}),
        ("token:agent-bot", "tag.add", "#1", {"tags": ["borrar"]}),
        ("token:agent-bot", "tag.remove", "#1", {"tags": ["BORRAR"]}),
    ]


async def test_list_and_delete_tags(api: Api) -> None:
    await api.create(name="Ana")
    await api.create(name="Bea")
    await api("POST", "/contacts/1/tags", json={"tags": ["vip", "lead"]})
    await api("POST", "/contacts/2/tags", json={"tags": ["VIP"]})
    listed = await api("GET", "/tags", role="agent")
    assert (listed.status, listed.body) == (
        200,
        {"tags": [{"name": "lead", "contacts": 1}, {"name": "vip", "contacts": 2}]},
    )
    deleted = await api("DELETE", "/tags/Vip")
    assert (deleted.status, deleted.body) == (200, {"deleted": "Vip", "contacts": 2})
    assert (await api("GET", "/tags")).body == {"tags": [{"name": "lead", "contacts": 1}]}
    missing = await api("DELETE", "/tags/vip")
    assert (missing.status, missing.body) == (404, error("not_found", "no tag 'vip'"))
    assert (await audit_rows())[-1] == ("token:owner-bot", "tag.delete", "Vip", {"contacts": 2})


async def test_tag_names_with_spaces_and_accents_in_the_path(api: Api) -> None:
    await api.create(name="Ana")
    await api("POST", "/contacts/1/tags", json={"tags": ["Cliente Año 2026"]})
    await api("POST", "/contacts/1/tags", json={"tags": ["a/b", "50%"]})
    deleted = await api("DELETE", "/tags/cliente%20ano%202026")
    assert (deleted.status, deleted.body) == (200, {"deleted": "cliente ano 2026", "contacts": 1})
    slash = await api("DELETE", "/tags/a%2Fb")
    percent = await api("DELETE", "/tags/50%25")
    assert (slash.body, percent.body) == (
        {"deleted": "a/b", "contacts": 1},
        {"deleted": "50%", "contacts": 1},
    )


async def test_bulk_tag_by_search(api: Api) -> None:
    await api.create(name="Ana", company="Acme")
    await api.create(name="Bea", company="Acme")
    await api.create(name="Cora", company="Other")
    added = await api(
        "POST", "/tags/bulk", json={"action": "add", "tags": ["acme", "Acme"], "q": "acme"}
    )
    assert (added.status, added.body) == (
        200,
        {"action": "add", "tags": ["acme"], "contacts": 2},
    )
    assert (await api("GET", "/tags")).body == {"tags": [{"name": "acme", "contacts": 2}]}
    removed = await api("POST", "/tags/bulk", json={"action": "remove", "tags": ["ACME"]})
    assert (removed.status, removed.body) == (
        200,
        {"action": "remove", "tags": ["ACME"], "contacts": 3},
    )
    assert (await api("GET", "/tags")).body == {"tags": [{"name": "acme", "contacts": 0}]}
    assert [r[1] for r in await audit_rows()][-2:] == ["tag.bulk", "tag.bulk"]


async def test_bulk_tag_by_filter(api: Api) -> None:
    await api.create(name="Ana", city="Quito")
    await api.create(name="Bea", city="Lima")
    reply = await api(
        "POST", "/tags/bulk", json={"action": "add", "tags": ["sierra"], "filter": "city:Quito"}
    )
    assert (reply.status, reply.body) == (
        200,
        {"action": "add", "tags": ["sierra"], "contacts": 1},
    )


async def test_tag_bodies_refused(api: Api) -> None:
    await api.create(name="Ana")
    cases: list[tuple[Any, dict[str, str]]] = [
        ({}, error("invalid", "tags is required")),
        ({"tags": "vip"}, error("invalid", "tags must be a list")),
        ({"tags": [1]}, error("invalid", "tags[0] must be a string")),
        ({"tags": []}, error("invalid", "tags: name at least one tag")),
        ({"tags": ["  "]}, error("invalid", "tags[0]: a tag name: 1-100 characters, not blank")),
        (
            {"tags": ["x" * 101]},
            error("invalid", "tags[0] is longer than 100 characters"),
        ),
        ({"tags": ["a"], "extra": 1}, error("invalid", "unknown field(s): extra; expected tags")),
    ]
    for body, expected in cases:
        for method in ("POST", "DELETE"):
            reply = await api(method, "/contacts/1/tags", json=body)
            assert (method, body, reply.status, reply.body) == (method, body, 422, expected)
    missing = await api("POST", "/contacts/9/tags", json={"tags": ["a"]})
    assert (missing.status, missing.body) == (404, error("not_found", "no contact #9"))


async def test_bulk_tag_bodies_refused(api: Api) -> None:
    cases: list[tuple[Any, dict[str, str]]] = [
        ({"tags": ["a"]}, error("invalid", "action is required")),
        (
            {"action": "toggle", "tags": ["a"]},
            error("invalid", "action must be one of add, remove, not 'toggle'"),
        ),
        ({"action": "add"}, error("invalid", "tags is required")),
        ({"action": "add", "tags": ["a"], "q": 5}, error("invalid", "q must be a string")),
        ({"action": "add", "tags": []}, error("invalid", "tags: name at least one tag")),
    ]
    for body, expected in cases:
        reply = await api("POST", "/tags/bulk", json=body)
        assert (body, reply.status, reply.body) == (body, 422, expected)
