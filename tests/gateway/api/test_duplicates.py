"""/duplicates through real HTTP on both databases: the seeded workspace's planted pairs found
and nothing else, the JSON of a pair, pages, the merge preview link, dismissing."""

from __future__ import annotations

from gateway.provision import known_kinds
from store.channels import upsert_channel
from tests import dupes_seed
from tests.gateway.api.support import WS, Api, audit_rows, contact, error, stable, workspace_id


async def seeded() -> tuple[int, dict[str, int]]:
    mail = await upsert_channel(
        WS, "email", "email-acme", {"signing_key": "k" * 16}, known_kinds=known_kinds()
    )
    ws = await workspace_id()
    return ws, await dupes_seed.seed(ws, mail)


def pair_ids(body: dict) -> list[tuple[int, int]]:
    return [(p["a"]["id"], p["b"]["id"]) for p in body["pairs"]]


async def test_lists_the_planted_pairs_and_nothing_else(api: Api) -> None:
    ws, ids = await seeded()
    reply = await api("GET", "/duplicates", role="agent")
    assert reply.status == 200, reply.body
    planted = dupes_seed.expected(ids)
    got = {
        (p["a"]["id"], p["b"]["id"]): [(r["kind"], r["value"]) for r in p["reasons"]]
        for p in reply.body["pairs"]
    }
    assert set(got) & set(planted) == set(planted)  # found = planted (8)
    assert set(got) - set(planted) == set()  # wrongly paired = 0
    assert got == planted
    a, b = ids["ines_a"], ids["ines_b"]
    assert stable(reply.body["pairs"][0]) == {
        "a": contact(a, ws, source="manual", name="Inés Mora", city="Cuenca", identifier="X-1"),
        "b": contact(b, ws, source="manual", name="Ines Mora", city="Cuenca", identifier="X-1"),
        "score": 90,
        "reasons": [
            {"kind": "identifier", "value": "X-1"},
            {"kind": "name_city", "value": "Inés Mora, Cuenca"},
        ],
        "merge_preview": f"/api/v1/contacts/{a}/merge/{b}",
    }
    assert (reply.body["total"], reply.body["next_cursor"]) == (8, None)


async def test_the_merge_preview_link_opens_the_preview(api: Api) -> None:
    _ws, ids = await seeded()
    listed = await api("GET", "/duplicates", role="admin")
    link = listed.body["pairs"][1]["merge_preview"]
    preview = await api("GET", link.removeprefix("/api/v1"), role="admin")
    assert preview.status == 200, preview.body
    assert (preview.body["primary"]["id"], preview.body["secondary"]["id"]) == tuple(
        sorted((ids["mail_form"], ids["mail_chan"]))
    )


async def test_pages_and_bad_parameters(api: Api) -> None:
    await seeded()
    seen, cursor = [], None
    for _ in range(3):
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = await api("GET", "/duplicates", role="agent", params=params)
        assert page.status == 200 and page.body["total"] == 8
        seen += pair_ids(page.body)
        cursor = page.body["next_cursor"]
    assert cursor is None and len(set(seen)) == 8
    bad = await api("GET", "/duplicates", params={"cursor": "nope"})
    assert (bad.status, bad.body) == (
        404,
        error("not_found", "no such page: the cursor is not one this server gave out"),
    )
    assert (await api("GET", "/duplicates", params={"limit": "0"})).status == 422
    assert (await api("GET", "/duplicates", params={"limit": "ten"})).status == 400


async def test_dismiss_takes_ids_or_references_and_the_pair_stays_gone(api: Api) -> None:
    _ws, ids = await seeded()
    a, b = sorted((ids["jose_acme"], ids["jose_ACME"]))
    body = {"a": "email:jose@gmail.com", "b": f"#{ids['jose_acme']}"}
    done = await api("POST", "/duplicates/dismiss", role="admin", json=body)
    assert (done.status, done.body) == (200, {"a": a, "b": b, "already": False})
    again = await api("POST", "/duplicates/dismiss", role="admin", json={"a": b, "b": a})
    assert (again.status, again.body) == (200, {"a": a, "b": b, "already": True})
    listed = await api("GET", "/duplicates", role="agent")
    assert (a, b) not in pair_ids(listed.body) and listed.body["total"] == 7
    assert await audit_rows() == [("token:admin-bot", "duplicate.dismiss", f"#{a}", {"other": b})]


async def test_dismiss_refusals(api: Api) -> None:
    _ws, ids = await seeded()
    one = ids["crm_a"]
    same = await api("POST", "/duplicates/dismiss", json={"a": one, "b": f"#{one}"})
    assert (same.status, same.body) == (
        422,
        error("invalid", f"#{one} and #{one} are one contact: nothing to dismiss"),
    )
    unknown = await api("POST", "/duplicates/dismiss", json={"a": one, "b": 999_999})
    assert (unknown.status, unknown.body) == (404, error("not_found", "no contact #999999"))
    assert (await api("POST", "/duplicates/dismiss", json={"a": one})).status == 422
    extra = {"a": one, "b": ids["crm_b"], "c": 1}
    assert (await api("POST", "/duplicates/dismiss", json=extra)).status == 422
    agent = await api("POST", "/duplicates/dismiss", role="agent", json={"a": 1, "b": 2})
    assert agent.status == 403
    assert await audit_rows() == []
