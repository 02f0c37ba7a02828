"""Chatwoot's flat filter payload (store.filters.chatwoot): the tree it gives, and its errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from store.filters import FilterError, parse_filter

FIXTURES = Path(__file__).parent.parent / "fixtures" / "filters"


def item(key: str, op: str, values: Any, joiner: str | None = None, **more: Any) -> dict[str, Any]:
    """One payload item."""
    return {
        "attribute_key": key,
        "filter_operator": op,
        "values": values,
        "query_operator": joiner,
        **more,
    }


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    """A normalised condition."""
    return {"field": field, "op": op} | ({} if value is None else {"value": value})


EC = leaf("country", "eq", "EC")
PE = leaf("country", "eq", "PE")


def test_a_segment_from_the_chatwoot_ui() -> None:
    payload = orjson.loads((FIXTURES / "chatwoot__segment.json").read_bytes())
    assert parse_filter(payload) == {
        "or": [
            {
                "and": [
                    {"or": [EC, PE]},
                    leaf("tag", "none", ["Borrar"]),
                    leaf("last_activity_at", "older_than", "30d"),
                ]
            },
            leaf("custom.plan", "eq", "gold"),
        ]
    }


@pytest.mark.parametrize(
    ("payload", "tree"),
    [
        (
            {
                "payload": [
                    item("name", "equal_to", ["en"], "AND"),
                    item("country_code", "equal_to", ["us"]),
                ]
            },
            {"and": [leaf("name", "eq", "en"), leaf("country", "eq", "us")]},
        ),
        (
            [
                item("city", "contains", ["a"], "and"),
                item("city", "contains", ["b"], "or"),
                item("city", "contains", ["c"], "and"),
                item("city", "contains", ["d"]),
            ],
            {
                "or": [
                    {"and": [leaf("city", "contains", "a"), leaf("city", "contains", "b")]},
                    {"and": [leaf("city", "contains", "c"), leaf("city", "contains", "d")]},
                ]
            },
        ),
        (
            [
                item("city", "equal_to", ["a"], "or"),
                item("city", "equal_to", ["b"], "and"),
                item("city", "equal_to", ["c"], "or"),
                item("city", "equal_to", ["d"], "and"),
            ],
            {
                "or": [
                    leaf("city", "eq", "a"),
                    {"and": [leaf("city", "eq", "b"), leaf("city", "eq", "c")]},
                    leaf("city", "eq", "d"),
                ]
            },
        ),
        ([item("country_code", "equal_to", ["EC", "PE"])], {"or": [EC, PE]}),
        (
            [item("name", "not_equal_to", ["a", "b"])],
            {"and": [leaf("name", "neq", "a"), leaf("name", "neq", "b")]},
        ),
        (
            [item("name", "does_not_contain", ["a", "b"])],
            {"and": [leaf("name", "not_contains", "a"), leaf("name", "not_contains", "b")]},
        ),
        ([item("email", "starts_with", "ana")], leaf("email", "starts_with", "ana")),
        ([item("labels", "equal_to", ["vip", "gold"])], leaf("tag", "any", ["vip", "gold"])),
        ([item("labels", "not_equal_to", ["Borrar"])], leaf("tag", "none", ["Borrar"])),
        ([item("phone_number", "is_present", [])], leaf("phone", "present")),
        ([item("identifier", "is_not_present", None)], leaf("identifier", "absent")),
        ([item("company_name", "contains", ["acme"])], leaf("company", "contains", "acme")),
        ([item("company", "contains", ["acme"])], leaf("company", "contains", "acme")),
        (
            [item("created_at", "is_greater_than", ["2026-10-01"])],
            leaf("created_at", "gt", "2026-10-01"),
        ),
        (
            [item("last_activity_at", "is_less_than", ["2026-10-01"])],
            leaf("last_activity_at", "lt", "2026-10-01"),
        ),
        ([item("created_at", "days_before", ["7"])], leaf("created_at", "older_than", "7d")),
        ([item("created_at", "days_before", 7)], leaf("created_at", "older_than", "7d")),
        ([item("seats", "is_greater_than", ["10"])], leaf("custom.seats", "gt", 10)),
        (
            [item("seats", "is_less_than", [2.5], custom_attribute_type="contact_attribute")],
            leaf("custom.seats", "lt", 2.5),
        ),
        (
            [item("name", "equal_to", ["x"], custom_attribute_type="contact_attribute")],
            leaf("custom.name", "eq", "x"),
        ),
        ([item("last_incoming_at", "within", ["7d"])], leaf("last_incoming_at", "within", "7d")),
        (
            [item("channel", "any", ["telegram", "sms"])],
            leaf("channel", "any", ["telegram", "sms"]),
        ),
        ([item("tag", "all", ["a", "b"])], leaf("tag", "all", ["a", "b"])),
        ([item("custom.plan", "EQUAL_TO", ["gold"], "and")], leaf("custom.plan", "eq", "gold")),
        ({"payload": []}, None),
        ([], None),
    ],
)
def test_payloads_give_the_normalised_tree(payload: Any, tree: dict[str, Any] | None) -> None:
    assert parse_filter(payload) == tree


def test_the_three_forms_give_the_same_tree() -> None:
    chatwoot = [
        item("labels", "equal_to", ["vip"], "and"),
        item("country_code", "equal_to", ["EC", "PE"], "and"),
        item("labels", "not_equal_to", ["Borrar"], "and"),
        item("last_activity_at", "days_before", ["30"], "and"),
        item("plan", "equal_to", ["gold"], None),
    ]
    text = "tag:vip (country:EC OR country:PE) tag!=Borrar last_activity>30d custom.plan:gold"
    json_tree = {
        "and": [
            {"field": "tag", "op": "any", "value": ["vip"]},
            {"or": [EC, PE]},
            {"field": "tag", "op": "none", "value": "Borrar"},
            {"field": "last_activity_at", "op": "older_than", "value": 30},
            {"field": "custom.plan", "op": "eq", "value": "gold"},
        ]
    }
    assert parse_filter(chatwoot) == parse_filter(text) == parse_filter(json_tree)
    assert parse_filter({"payload": chatwoot}) == parse_filter(json_tree)


OPERATORS = (
    "operators: equal_to, not_equal_to, contains, does_not_contain, starts_with, is_present,"
    " is_not_present, is_greater_than, is_less_than, days_before"
)


@pytest.mark.parametrize(
    ("payload", "message", "token"),
    [
        (
            [item("blocked", "equal_to", [True])],
            "payload[0]: cannot filter on 'blocked'"
            " (contactgate has no blocked contacts to filter on)",
            "blocked",
        ),
        (
            [item("name", "equal_to", ["x"], "and"), item("name", "foo", ["x"])],
            f"payload[1]: unknown filter_operator 'foo' ({OPERATORS})",
            "foo",
        ),
        ([item("name", None, ["x"])], f"payload[0]: unknown filter_operator ({OPERATORS})", None),
        (
            [item("name", "equal_to", ["x"], "xor"), item("name", "equal_to", ["y"])],
            "payload[0]: query_operator must be and / or, got 'xor'",
            "xor",
        ),
        (
            [item("name", "is_greater_than", ["a", "b"])],
            "payload[0]: is_greater_than takes one value, got \"['a', 'b']\"",
            "['a', 'b']",
        ),
        ([item("name", "equal_to", [])], "payload[0]: equal_to needs values, got '[]'", "[]"),
        ([item("name", "equal_to", None)], "payload[0]: equal_to needs values, got 'None'", "None"),
        (
            [item("", "equal_to", ["x"])],
            "payload[0]: attribute_key must be a field name, got ''",
            "",
        ),
        (
            [item("labels", "contains", ["x"])],
            "payload[0]: wrong operator 'contains'"
            " (tag takes: any, all, none, present, absent, eq, neq)",
            "contains",
        ),
        (
            [item("created_at", "is_greater_than", ["yesterday"])],
            "payload[0]: not a date 'yesterday' (use 2026-10-01 or 2026-10-01T10:00:00Z)",
            "yesterday",
        ),
        (
            [item("created_at", "days_before", ["soon"])],
            "payload[0]: not a duration 'soon' (use 30m, 12h, 7d, 2w or a number of days,"
            " up to 36500 days)",
            "soon",
        ),
        (
            [{**item("name", "equal_to", ["x"]), "bogus": 1}],
            "payload[0]: unknown key 'bogus' (keys: attribute_key, filter_operator, values,"
            " query_operator, custom_attribute_type, attribute_model)",
            "bogus",
        ),
        (["name"], "payload[0]: a payload item must be an object, got 'name'", "name"),
        ({"payload": "x"}, "payload must be a list of conditions, got 'x'", "x"),
        (
            {"payload": [], "page": 1},
            "a Chatwoot filter has only a 'payload' key, got 'payload, page'",
            "payload, page",
        ),
        (
            [item("name", "equal_to", ["x"], "and")] * 101,
            "too many payload items '101' (at most 100)",
            "101",
        ),
    ],
)
def test_errors_name_the_item_and_the_bad_token(
    payload: Any, message: str, token: str | None
) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(payload)
    assert (str(caught.value), caught.value.token, caught.value.position) == (message, token, None)
