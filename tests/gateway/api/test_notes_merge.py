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


def diff(field: str, p: Any, s: Any, keeps: str, *, pickable: bool = False) -> dict[str, Any]:
    """A FieldDiff as the API shows it."""
    return {"field": field, "primary": p, "secondary": s, "keeps": keeps, "pickable": pickable}


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
                diff("name", "Ana", "Ana María", "primary", pickable=True),
                diff("email", "ana@example.com", None, "primary"),
                diff("phone", None, "+593991234567", "secondary"),
                diff("company", None, "Acme", "secondary"),
                diff("city", "Quito", None, "primary"),
            ],
            "identities": 0,
            "messages": 0,
            "notes": 1,
            "tags": ["vip"],
            "reset_tag": None,
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
        {
            **contact(
                1,
                ws,
                name="Ana María",
                email="ana@example.com",
                phone="+593991234567",
                company="Acme",
                city="Quito",
                tags=["vip"],
            ),
            "moved_tags": ["vip"],
            "reset_tag_stayed": None,
        },
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


async def _vip_and_doomed(api: Api) -> None:
    """#1 Vera, a kept VIP; #2 her duplicate, tagged for the reset (`bórrar`) and `lead`."""
    await api.create(name="Vera", email="vera@example.com")
    await api.create(name="Vera D.", city="Quito")
    await api("POST", "/contacts/1/tags", json={"tags": ["vip"]})
    await api("POST", "/contacts/2/tags", json={"tags": ["bórrar", "lead"]})


async def _tagged_for_reset(api: Api) -> list[int]:
    """The ids of the live contacts the monthly reset (tagged) would delete."""
    found = await api("GET", "/contacts", params={"filter": "tag:Borrar"})
    return [c["id"] for c in found.body["contacts"]]


async def test_the_reset_tag_moves_only_when_the_body_picks_it(api: Api) -> None:
    ws = await workspace_id()
    await _vip_and_doomed(api)
    assert await _tagged_for_reset(api) == [2]
    shown = await api("GET", "/contacts/1/merge/2", role="admin")
    assert (shown.status, shown.body["tags"], shown.body["reset_tag"]) == (200, ["lead"], "bórrar")
    held = await api("POST", "/contacts/1/merge", role="admin", json={"secondary": 2})
    vera = {"name": "Vera", "email": "vera@example.com", "city": "Quito"}
    assert (held.status, stable(held.body)) == (
        200,
        {
            **contact(1, ws, **vera, tags=["lead", "vip"]),
            "moved_tags": ["lead"],
            "reset_tag_stayed": "bórrar",
        },
    )
    assert await _tagged_for_reset(api) == []
    assert (await api("POST", "/contacts/2/unmerge", role="admin")).status == 200
    picked = await api(
        "POST", "/contacts/1/merge", role="admin", json={"secondary": 2, "move_reset_tag": True}
    )
    assert (picked.status, stable(picked.body)) == (
        200,
        {
            **contact(1, ws, **vera, tags=["bórrar", "lead", "vip"]),
            "moved_tags": ["bórrar", "lead"],
            "reset_tag_stayed": None,
        },
    )
    assert await _tagged_for_reset(api) == [1]
    undone = await api("POST", "/contacts/2/unmerge", role="admin")
    assert (undone.status, stable(undone.body)) == (
        200,
        {
            "primary": contact(1, ws, name="Vera", email="vera@example.com", tags=["vip"]),
            "secondary": contact(2, ws, name="Vera D.", city="Quito", tags=["bórrar", "lead"]),
        },
    )


BLANKS_PHONE = (
    "cannot pick the primary's phone: it is empty and would blank the secondary's value"
    " (a pick never blanks a value)"
)


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
        (
            "/contacts/1/merge",
            {"secondary": 2, "picks": {"phone": "primary"}},
            422,
            error("invalid", BLANKS_PHONE),
        ),
        (
            "/contacts/1/merge",
            {"secondary": 2, "move_reset_tag": "yes"},
            422,
            error("invalid", "move_reset_tag must be true or false"),
        ),
        (
            "/contacts/1/merge",
            {"secondary": 2, "move_tags": True},
            422,
            error(
                "invalid", "unknown field(s): move_tags; expected secondary, picks, move_reset_tag"
            ),
        ),
        ("/contacts/1/unmerge", None, 409, error("conflict", "contact #1 has no merge to undo")),
    ]
    for path, body, status, expected in cases:
        reply = await api("POST", path, json=body) if body is not None else await api("POST", path)
        assert (path, body, reply.status, reply.body) == (path, body, status, expected)
    await api("POST", "/contacts/1/merge", json={"secondary": "phone:0991234567"})
    again = await api("POST", "/contacts/1/merge", json={"secondary": "2"})
    assert (again.status, again.body["error"]) == (409, "conflict")
