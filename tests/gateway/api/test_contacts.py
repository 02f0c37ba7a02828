"""/contacts: list, search, create-or-update (409), show by reference, patch, delete, bulk."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests import helpers as h
from tests.gateway.api.support import (
    Api,
    audit_rows,
    contact,
    error,
    stable,
    workspace_id,
)

PAGE_END = {"next_cursor": None, "total": None}
NO_FILTER = "bulk delete needs a filter or a search; to delete everything use reset"


async def _three(api: Api) -> list[dict[str, Any]]:
    return [
        await api.create(name="José Pérez", email="Jose@Example.com", phone="099 123 4567"),
        await api.create(name="María", company="Acme", custom={"plan": "gold", "seats": 3}),
        await api.create(identifier="ext-3", city="Quito"),
    ]


async def test_create_returns_201_and_the_whole_contact(api: Api) -> None:
    ws = await workspace_id()
    reply = await api(
        "POST",
        "/contacts",
        json={"name": " José ", "email": "Jose@Example.com", "phone": "099 123 4567"},
    )
    assert reply.status == 201
    assert stable(reply.body) == contact(
        1, ws, name="José", email="jose@example.com", phone="+593991234567"
    )
    assert reply.body["created_at"].endswith("Z")
    assert await audit_rows() == [
        ("token:owner-bot", "contact.create", "#1", {"fields": ["email", "name", "phone"]})
    ]


async def test_create_matching_email_updates_with_200(api: Api) -> None:
    ws = await workspace_id()
    await api.create(name="José", email="jose@example.com")
    reply = await api("POST", "/contacts", json={"email": "JOSE@example.com", "city": "Quito"})
    assert (reply.status, stable(reply.body)) == (
        200,
        contact(1, ws, name="José", email="jose@example.com", city="Quito"),
    )
    assert [r[1:3] for r in await audit_rows()] == [
        ("contact.create", "#1"),
        ("contact.update", "#1"),
    ]


async def test_create_with_email_of_another_contact_is_409_naming_it(api: Api) -> None:
    await api.create(name="Ana", email="ana@example.com")
    await api.create(name="Bea", identifier="b-1")
    reply = await api("POST", "/contacts", json={"identifier": "b-1", "email": "ana@example.com"})
    assert (reply.status, reply.body) == (
        409,
        error("conflict", "email ana@example.com already belongs to contact #1"),
    )
    patched = await api("PATCH", "/contacts/2", json={"phone": "+593991234567"})
    assert patched.status == 200
    clash = await api("PATCH", "/contacts/1", json={"phone": "0991234567"})
    assert (clash.status, clash.body) == (
        409,
        error("conflict", "phone +593991234567 already belongs to contact #2"),
    )


async def test_list_returns_every_contact_newest_activity_first(api: Api) -> None:
    ws = await workspace_id()
    await _three(api)
    reply = await api("GET", "/contacts", params={"sort": "name", "count": "true"})
    assert reply.status == 200
    assert stable(reply.body) == {
        "contacts": [
            contact(1, ws, name="José Pérez", email="jose@example.com", phone="+593991234567"),
            contact(2, ws, name="María", company="Acme", custom={"plan": "gold", "seats": 3}),
            contact(3, ws, identifier="ext-3", city="Quito"),
        ],
        "next_cursor": None,
        "total": 3,
    }


async def test_list_search_is_accent_insensitive(api: Api) -> None:
    ws = await workspace_id()
    await _three(api)
    reply = await api("GET", "/contacts", params={"q": "maria"})
    assert stable(reply.body) == {
        "contacts": [
            contact(2, ws, name="María", company="Acme", custom={"plan": "gold", "seats": 3})
        ],
        **PAGE_END,
    }


async def test_list_pages_with_cursor_and_limit(api: Api) -> None:
    for i in range(5):
        await api.create(name=f"Person {i}")
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"sort": "name", "limit": "2", **({"cursor": cursor} if cursor else {})}
        reply = await api("GET", "/contacts", params=params)
        assert reply.status == 200
        seen += [c["id"] for c in reply.body["contacts"]]
        pages += 1
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break
    assert (pages, seen) == (3, [1, 2, 3, 4, 5])


async def test_list_refuses_bad_parameters(api: Api) -> None:
    cases = {
        "limit=0": (422, error("invalid", "limit must be between 1 and 500")),
        "limit=501": (422, error("invalid", "limit must be between 1 and 500")),
        "limit=ten": (
            400,
            error("bad_request", "query parameter limit must be an integer, not 'ten'"),
        ),
        "count=maybe": (
            400,
            error("bad_request", "query parameter count must be true or false, not 'maybe'"),
        ),
        "q=a%00b": (
            400,
            error("bad_request", "query parameter q must not contain NUL characters"),
        ),
        "cursor=zzz": (
            404,
            error("not_found", "no such page: the cursor is not one this server gave out"),
        ),
    }
    for query, expected in cases.items():
        reply = await api("GET", f"/contacts?{query}")
        assert (query, reply.status, reply.body) == (query, *expected)
    reply = await api("GET", "/contacts", params={"sort": "shoe_size"})
    assert reply.status == 422
    assert reply.body["detail"].startswith("sort must be one of name, email, phone, company")
    assert reply.body["detail"].endswith("-activity, not 'shoe_size'")


async def test_limit_500_is_accepted(api: Api) -> None:
    reply = await api("GET", "/contacts", params={"limit": "500"})
    assert (reply.status, reply.body) == (200, {"contacts": [], **PAGE_END})


async def test_search_post_without_filter(api: Api) -> None:
    ws = await workspace_id()
    await _three(api)
    reply = await api("POST", "/contacts/search", json={"q": "quito", "limit": 10, "count": True})
    assert (reply.status, stable(reply.body)) == (
        200,
        {
            "contacts": [contact(3, ws, identifier="ext-3", city="Quito")],
            "next_cursor": None,
            "total": 1,
        },
    )


async def test_filter_in_query_string_and_json_forms(api: Api) -> None:
    await _three(api)
    await api("POST", "/contacts/1/tags", json={"tags": ["vip"]})
    text = await api("GET", "/contacts", params={"filter": "tag:vip"})
    tree = await api(
        "POST",
        "/contacts/search",
        json={"filter": {"and": [{"field": "tag", "op": "any", "value": ["vip"]}]}},
    )
    chatwoot = await api(
        "POST",
        "/contacts/search",
        json={
            "filter": {
                "payload": [
                    {
                        "attribute_key": "city",
                        "filter_operator": "equal_to",
                        "values": ["Quito"],
                        "query_operator": None,
                    }
                ]
            }
        },
    )
    as_json = await api(
        "GET", "/contacts", params={"filter": '{"field": "tag", "op": "any", "value": ["vip"]}'}
    )
    broken = await api("GET", "/contacts", params={"filter": "{tag"})
    assert [c["id"] for c in text.body["contacts"]] == [1]
    assert [c["id"] for c in as_json.body["contacts"]] == [1]
    assert (broken.status, broken.body["error"]) == (400, "bad_request")
    assert (tree.status, [c["id"] for c in tree.body["contacts"]]) == (200, [1])
    assert (chatwoot.status, [c["id"] for c in chatwoot.body["contacts"]]) == (200, [3])


async def test_bad_filter_is_422_naming_the_token(api: Api) -> None:
    reply = await api("GET", "/contacts", params={"filter": "tag:vip (country:EC"})
    assert reply.status == 422
    assert reply.body["error"] == "invalid"


async def test_show_by_id_and_typed_identifiers(api: Api) -> None:
    ws = await workspace_id()
    await _three(api)
    jose = contact(1, ws, name="José Pérez", email="jose@example.com", phone="+593991234567")
    for ref in ("1", "%231", "id:1", "email:JOSE@example.com", "phone:0991234567",
                "phone:%2B593991234567", quote("phone:+593 99 123 4567")):  # fmt: skip
        reply = await api("GET", f"/contacts/{ref}")
        assert (ref, reply.status, stable(reply.body)) == (ref, 200, {**jose, "identities": []})
    reply = await api("GET", "/contacts/identifier:ext-3")
    assert stable(reply.body) == {
        **contact(3, ws, identifier="ext-3", city="Quito"),
        "identities": [],
    }


async def test_show_by_username_of_an_identity(api: Api) -> None:
    channel = await h.channel("telegram")
    sent = await h.send_telegram(api.client, channel.key, h.telegram_update(4242, "hola"))
    assert sent.status == 200
    reply = await api("GET", "/contacts/username:4242")
    assert reply.status == 200
    assert (reply.body["name"], reply.body["source"], reply.body["channels"]) == (
        "User4242",
        "inbound",
        ["telegram"],
    )


async def test_show_refuses_unknown_and_unreadable_references(api: Api) -> None:
    cases = {
        "99": (404, error("not_found", "no contact #99")),
        "99999999999": (404, error("not_found", "no contact #99999999999")),
        "email:nobody@example.com": (
            404,
            error("not_found", "no contact with email 'nobody@example.com'"),
        ),
        "id:abc": (422, error("invalid", "a contact id is a number, not 'id:abc'")),
        "id:%C2%B2": (422, error("invalid", "a contact id is a number, not 'id:²'")),
        "phone:abc": (404, error("not_found", "no contact with phone 'abc'")),
        "a%00b": (400, error("bad_request", "ref must not contain NUL characters")),
    }
    for ref, expected in cases.items():
        reply = await api("GET", f"/contacts/{ref}")
        assert (ref, reply.status, reply.body) == (ref, *expected)
    reply = await api("GET", "/contacts/zebra")
    assert reply.status == 422
    assert reply.body["detail"].startswith("cannot read contact reference 'zebra'")


async def test_patch_changes_fields_and_merges_custom(api: Api) -> None:
    ws = await workspace_id()
    await _three(api)
    reply = await api(
        "PATCH",
        "/contacts/2",
        json={"city": "Lima", "company": None, "custom": {"seats": None, "tier": 1}},
    )
    assert (reply.status, stable(reply.body)) == (
        200,
        contact(2, ws, name="María", city="Lima", custom={"plan": "gold", "tier": 1}),
    )
    assert (await audit_rows())[-1] == (
        "token:owner-bot",
        "contact.update",
        "#2",
        {"fields": ["city", "company", "custom"]},
    )


async def test_patch_refuses_bad_input(api: Api) -> None:
    await _three(api)
    cases: list[tuple[Any, int, dict[str, str]]] = [
        ({}, 422, error("invalid", "nothing to change: send at least one field")),
        (
            {"shoe": "42"},
            422,
            error(
                "invalid",
                "unknown field(s): shoe; expected name, email, identifier, company, city,"
                " country, language, avatar_url, assignee, phone, custom",
            ),
        ),
        ({"name": 7}, 422, error("invalid", "name must be a string or null")),
        (
            {"email": "nope"},
            422,
            error("invalid", "email: an email address: local@domain.tld, no spaces"),
        ),
        ({"name": "x" * 256}, 422, error("invalid", "name is longer than 255 characters")),
        ({"custom": []}, 422, error("invalid", "custom must be an object")),
        (
            {"name": "a\x00b"},
            422,
            error("invalid", "text must not contain NUL characters (at $.name)"),
        ),
        ([1], 422, error("invalid", "the body must be a JSON object")),
    ]
    for body, status, expected in cases:
        reply = await api("PATCH", "/contacts/1", json=body)
        assert (body, reply.status, reply.body) == (body, status, expected)
    missing = await api("PATCH", "/contacts/77", json={"name": "x"})
    assert (missing.status, missing.body) == (404, error("not_found", "no contact #77"))


async def test_odd_unicode_round_trips(api: Api) -> None:
    name = "Zoë 🧑‍🚀 مريم e\u0301 \u202eevil"
    made = await api.create(name=name, custom={"ключ": "値 ✓"})
    shown = await api("GET", f"/contacts/{made['id']}")
    assert (shown.body["name"], shown.body["custom"]) == (name, {"ключ": "値 ✓"})


async def test_delete_removes_the_contact(api: Api) -> None:
    await _three(api)
    reply = await api("DELETE", "/contacts/email:jose@example.com")
    assert (reply.status, reply.body) == (200, {"deleted": 1})
    gone = await api("GET", "/contacts/1")
    assert (gone.status, gone.body) == (404, error("not_found", "no contact #1"))
    assert (await audit_rows())[-1] == (
        "token:owner-bot",
        "contact.delete",
        "#1",
        {"name": "José Pérez"},
    )
    again = await api("DELETE", "/contacts/1")
    assert (again.status, again.body) == (404, error("not_found", "no contact #1"))


async def test_bulk_delete_needs_the_confirmed_count(api: Api) -> None:
    await _three(api)
    await api.create(name="Other Acme", company="Acme")
    wrong = await api("POST", "/contacts/bulk-delete", json={"q": "acme", "confirm": 1})
    assert (wrong.status, wrong.body) == (
        409,
        error("conflict", "2 contacts match now, not the 1 confirmed"),
    )
    done = await api("POST", "/contacts/bulk-delete", json={"q": "acme", "confirm": 2})
    assert (done.status, done.body) == (200, {"deleted": 2})
    left = await api("GET", "/contacts", params={"sort": "name"})
    assert [c["id"] for c in left.body["contacts"]] == [1, 3]
    assert (await audit_rows())[-1] == (
        "token:owner-bot",
        "contact.bulk_delete",
        None,
        {"deleted": 2, "q": "acme", "filter": None},
    )


async def test_bulk_delete_refuses_bad_input(api: Api) -> None:
    cases: list[tuple[Any, int, dict[str, str]]] = [
        ({"q": "x"}, 422, error("invalid", "confirm is required")),
        ({"q": "x", "confirm": "1"}, 422, error("invalid", "confirm must be an integer")),
        ({"q": "x", "confirm": True}, 422, error("invalid", "confirm must be an integer")),
        (
            {"q": "x", "confirm": -1},
            422,
            error("invalid", "confirm must be between 0 and 2147483647"),
        ),
        ({"confirm": 0}, 422, error("invalid", NO_FILTER)),
        (
            {"q": "x", "confirm": 0, "all": 1},
            422,
            error("invalid", "unknown field(s): all; expected filter, q, confirm"),
        ),
    ]
    for body, status, expected in cases:
        reply = await api("POST", "/contacts/bulk-delete", json=body)
        assert (body, reply.status, reply.body) == (body, status, expected)
