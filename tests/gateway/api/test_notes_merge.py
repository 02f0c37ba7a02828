"""Notes and merges through the API."""

from __future__ import annotations

from typing import Any

from tests.gateway.api.support import (
    TIME,
    Api,
    audit_rows,
    contact,
    error,
    stable,
    workspace_id,
)


async def test_add_list_delete_notes(api: Api) -> None:
    await api.create(name="Ana", email="ana@example.com")
    first = await api("POST", "/contacts/1/notes", role="agent", json={"body": " Called 📞 "})
    second = await api("POST", "/contacts/email:ana@example.com/notes", json={"body": "Paid"})
    assert (first.status, stable(first.body)) == (
        201,
        {
            "id": 1,
            "contact_id": 1,
            "author": "token:agent-bot",
            "body": "Called 📞",
            "created_at": TIME,
        },
    )
    assert second.status == 201
    listed = await api("GET", "/contacts/1/notes", role="agent")
    assert (listed.status, stable(listed.body)) == (
        200,
        {
            "notes": [
                {
                    "id": 2,
                    "contact_id": 1,
                    "author": "token:owner-bot",
                    "body": "Paid",
                    "created_at": TIME,
                },
                {
                    "id": 1,
                    "contact_id": 1,
                    "author": "token:agent-bot",
                    "body": "Called 📞",
                    "created_at": TIME,
                },
            ]
        },
    )
    deleted = await api("DELETE", "/notes/1", role="agent")
    assert (deleted.status, deleted.body) == (200, {"deleted": 1})
    assert [n["id"] for n in (await api("GET", "/contacts/1/notes")).body["notes"]] == [2]
    assert [r[1:] for r in await audit_rows()][1:] == [
        ("note.add", "#1", {"note": 1}),
        ("note.add", "#1", {"note": 2}),
        ("note.delete", "#1", {"note": 1}),
    ]


async def test_note_errors(api: Api) -> None:
    await api.create(name="Ana")
    cases: list[tuple[Any, dict[str, str]]] = [
        ({}, error("invalid", "body is required")),
        ({"body": 5}, error("invalid", "body must be a string")),
        ({"body": "   "}, error("invalid", "body: a note needs some text")),
        (
            {"body": "x" * 10_001},
            error("invalid", "a note holds at most 10000 characters and no NUL"),
        ),
        ({"body": "a\u0000"}, error("invalid", "text must not contain NUL characters (at $.body)")),
        (
            {"body": "a", "pinned": True},
            error("invalid", "unknown field(s): pinned; expected body"),
        ),
    ]
    for body, expected in cases:
        reply = await api("POST", "/contacts/1/notes", json=body)
        assert (body, reply.status, reply.body) == (body, 422, expected)
    for path in ("/notes/99", "/notes/abc", "/notes/99999999999"):
        reply = await api("DELETE", path)
        assert reply.status == 404, path
    assert (await api("DELETE", "/notes/99")).body == error("not_found", "no note #99")
    missing = await api("GET", "/contacts/5/notes")
    assert (missing.status, missing.body) == (404, error("not_found", "no contact #5"))


NO_SECONDARY = "secondary is required"


async def _pair(api: Api) -> None:
    await api.create(name="Ana", email="ana@example.com", city="Quito")
    await api.create(name="Ana María", phone="0991234567", company="Acme")
    await api("POST", "/contacts/2/tags", json={"tags": ["vip"]})
    await api("POST", "/contacts/2/notes", json={"body": "from b"})


async def test_merge_preview(api: Api) -> None:
    ws = await workspace_id()
    await _pair(api)
    reply = await api("GET", "/contacts/1/merge/phone:0991234567", role="admin")
    assert (reply.status, stable(reply.body)) == (
        200,
        {
            "primary": contact(1, ws, name="Ana", email="ana@example.com", city="Quito"),
            "secondary": contact(
                2, ws, name="Ana María", phone="+593991234567", company="Acme", tags=["vip"]
            ),
            "diffs": [
                {"field": "name", "primary": "Ana", "secondary": "Ana María", "keeps": "primary"},
                {
                    "field": "email",
                    "primary": "ana@example.com",
                    "secondary": None,
                    "keeps": "primary",
                },
                {
                    "field": "phone",
                    "primary": None,
                    "secondary": "+593991234567",
                    "keeps": "secondary",
                },
                {"field": "company", "primary": None, "secondary": "Acme", "keeps": "secondary"},
                {"field": "city", "primary": "Quito", "secondary": None, "keeps": "primary"},
            ],
            "identities": 0,
            "messages": 0,
            "notes": 1,
            "tags": 1,
        },
    )


async def test_merge_with_picks_then_unmerge(api: Api) -> None:
    ws = await workspace_id()
    await _pair(api)
    merged = await api(
        "POST", "/contacts/1/merge", json={"secondary": 2, "picks": {"name": "secondary"}}
    )
    assert (merged.status, stable(merged.body)) == (
        200,
        contact(
            1,
            ws,
            name="Ana María",
            email="ana@example.com",
            phone="+593991234567",
            company="Acme",
            city="Quito",
            tags=["vip"],
        ),
    )
    old_id = await api("GET", "/contacts/2")
    assert old_id.body["id"] == 1
    merges = await api("GET", "/contacts/1/merges")
    assert stable(merges.body) == {
        "merges": [
            {
                "id": 1,
                "primary_id": 1,
                "secondary_id": 2,
                "secondary_name": "Ana María",
                "merged_by": "token:owner-bot",
                "merged_at": TIME,
            }
        ]
    }
    undone = await api("POST", "/contacts/2/unmerge")
    assert (undone.status, stable(undone.body)) == (
        200,
        {
            "primary": contact(1, ws, name="Ana", email="ana@example.com", city="Quito"),
            "secondary": contact(
                2, ws, name="Ana María", phone="+593991234567", company="Acme", tags=["vip"]
            ),
        },
    )
    assert [r[1:3] for r in await audit_rows()][-2:] == [
        ("contact.merge", "#1"),
        ("contact.unmerge", "#1"),
    ]


async def test_merge_errors(api: Api) -> None:
    await _pair(api)
    cases: list[tuple[str, Any, int, dict[str, str]]] = [
        ("/contacts/1/merge", {}, 422, error("invalid", NO_SECONDARY)),
        (
            "/contacts/1/merge",
            {"secondary": 1},
            409,
            error("conflict", "cannot merge contact #1 with itself"),
        ),
        (
            "/contacts/1/merge",
            {"secondary": 9},
            404,
            error("not_found", "no contact #9 in this workspace"),
        ),
        (
            "/contacts/1/merge",
            {"secondary": [2]},
            422,
            error("invalid", "secondary: the other contact: its id or a typed identifier"),
        ),
        (
            "/contacts/1/merge",
            {"secondary": 2, "picks": []},
            422,
            error("invalid", "picks must be an object"),
        ),
        (
            "/contacts/1/merge",
            {"secondary": 2, "picks": {"name": "both"}},
            422,
            error("invalid", "picks.name must be one of primary, secondary, not 'both'"),
        ),
        ("/contacts/1/unmerge", None, 409, error("conflict", "contact #1 has no merge to undo")),
    ]
    for path, body, status, expected in cases:
        reply = await api("POST", path, json=body) if body is not None else await api("POST", path)
        assert (path, body, reply.status, reply.body) == (path, body, status, expected)
    await api("POST", "/contacts/1/merge", json={"secondary": "phone:0991234567"})
    again = await api("POST", "/contacts/1/merge", json={"secondary": "2"})
    assert (again.status, again.body["error"]) == (409, "conflict")
