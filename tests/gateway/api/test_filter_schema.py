"""Filters checked at the edge by the served schema: what a person writes is accepted, and a
refusal says what the filter parser says (schemas: gateway/api/filter_schema.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.api.support import Api


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def chatwoot(key: str, operator: str, values: list[Any]) -> dict[str, Any]:
    item = {"attribute_key": key, "filter_operator": operator, "values": values}
    return {"payload": [{**item, "query_operator": None}]}


async def search(api: Api, tree: dict[str, Any]) -> tuple[int, Any]:
    reply = await api("POST", "/contacts/search", json={"filter": tree})
    return reply.status, reply.body


@pytest.mark.parametrize(
    "tree",
    [
        leaf("created_at", "after", "2028-02-29"),  # a leap day
        leaf("created_at", "before", "2000-02-29T10:00:00Z"),  # divisible by 400
        leaf("last_incoming_at", "within", "7d"),
        {"and": [leaf("tag", "any", ["vip"]), {"or": [{"not": leaf("country", "eq", "EC")}]}]},
        chatwoot("created_at", "is_greater_than", ["2028-02-29"]),
    ],
)
async def test_filters_people_write_are_accepted(api: Api, tree: dict[str, Any]) -> None:
    status, body = await search(api, tree)
    assert (status, body["contacts"]) == (200, []), body


@pytest.mark.parametrize(
    ("tree", "words"),
    [
        (leaf("created_at", "after", "2027-02-29"), "date"),  # not a leap year
        (leaf("created_at", "after", "1900-02-29"), "date"),  # a century, not by 400
        (chatwoot("custom.vip", "within", ["7"]), "wrong operator 'within'"),
    ],
)
async def test_impossible_filters_are_refused_with_the_reason(
    api: Api, tree: dict[str, Any], words: str
) -> None:
    status, body = await search(api, tree)
    assert (status, body["error"]) == (422, "invalid")
    assert words in body["detail"], body["detail"]


def nested(levels: int) -> dict[str, Any]:
    """A tree `levels` nodes deep: groups around one condition."""
    tree = leaf("country", "eq", "EC")
    for i in range(levels - 1):
        tree = {("and", "or")[i % 2]: [tree]}
    return tree


async def test_trees_nest_ten_levels_at_most(api: Api) -> None:
    assert (await search(api, nested(10)))[0] == 200
    status, body = await search(api, nested(11))
    assert (status, body["error"]) == (422, "invalid")
    assert "nested too deeply (at most 10 levels)" in body["detail"], body["detail"]


async def test_a_whole_number_of_days_may_be_written_as_a_float(api: Api) -> None:
    """JSON Schema counts 7.0 as the integer 7, so the server does too."""
    assert (await search(api, leaf("last_incoming_at", "within", 7.0)))[0] == 200
