"""The text form of filters (store.filters.text): the tree each input gives, and every error."""

from __future__ import annotations

import random
from typing import Any

import pytest

from store.filters import FilterError, parse_filter


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    """A normalised condition."""
    return {"field": field, "op": op} | ({} if value is None else {"value": value})


def q(word: str) -> dict[str, Any]:
    """A search-box condition."""
    return leaf("q", "contains", word)


VIP = leaf("tag", "any", ["vip"])
EC = leaf("country", "eq", "EC")
PE = leaf("country", "eq", "PE")


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "tag:vip (country:EC OR country:PE) -tag:Borrar last_in<7d name~maria"
            " created>=2026-10-01",
            {
                "and": [
                    VIP,
                    {"or": [EC, PE]},
                    {"not": leaf("tag", "any", ["Borrar"])},
                    leaf("last_incoming_at", "within", "7d"),
                    leaf("name", "contains", "maria"),
                    leaf("created_at", "gte", "2026-10-01"),
                ]
            },
        ),
        ("maria", q("maria")),
        ('"maria jose"', q("maria jose")),
        ("maria jose", {"and": [q("maria"), q("jose")]}),
        ("tag:vip AND country:EC", {"and": [VIP, EC]}),
        ("tag:vip and country:EC or country:PE", {"or": [{"and": [VIP, EC]}, PE]}),
        ("country:EC OR country:PE tag:vip", {"or": [EC, {"and": [PE, VIP]}]}),
        ("(country:EC oR country:PE) tag:vip", {"and": [{"or": [EC, PE]}, VIP]}),
        ("NOT tag:vip", {"not": VIP}),
        ("not (country:EC OR country:PE)", {"not": {"or": [EC, PE]}}),
        ("-(-tag:vip)", VIP),
        ("((tag:vip))", VIP),
        ("tag:vip (country:EC country:PE)", {"and": [VIP, EC, PE]}),
        ("oregon notes andes", {"and": [q("oregon"), q("notes"), q("andes")]}),
        ("name:* -email:*", {"and": [leaf("name", "present"), {"not": leaf("email", "present")}]}),
        ("phone!=*", leaf("phone", "absent")),
        ('name:"*"', leaf("name", "eq", "*")),
        ("city=Quito", leaf("city", "eq", "Quito")),
        ("city!=Quito", leaf("city", "neq", "Quito")),
        ("company~acme", leaf("company", "contains", "acme")),
        ("company^ac", leaf("company", "starts_with", "ac")),
        (
            "name>m name>=m name<m name<=m",
            {"and": [leaf("name", o, "m") for o in ("gt", "gte", "lt", "lte")]},
        ),
        ("tags:vip", VIP),
        ("tag!=vip", leaf("tag", "none", ["vip"])),
        ("tag:*", leaf("tag", "present")),
        ("channel:whatsapp", leaf("channel", "any", ["whatsapp"])),
        ('last_channel!="Soporte web"', leaf("last_channel", "none", ["Soporte web"])),
        ("last_in<7d", leaf("last_incoming_at", "within", "7d")),
        ("last_in<=7", leaf("last_incoming_at", "within", "7d")),
        ("last_in>30d", leaf("last_incoming_at", "older_than", "30d")),
        ("last_activity<12H", leaf("last_activity_at", "within", "12h")),
        ("last_seen>=2w", leaf("last_activity_at", "older_than", "2w")),
        ("created<30m", leaf("created_at", "within", "30m")),
        ("created<2026-10-01", leaf("created_at", "lt", "2026-10-01")),
        ("created:2026-10-01", leaf("created_at", "eq", "2026-10-01")),
        (
            "created>=2026-10-01T10:00:00-05:00",
            leaf("created_at", "gte", "2026-10-01T15:00:00+00:00"),
        ),
        ('created>"2026-10-01 10:00"', leaf("created_at", "gt", "2026-10-01T10:00:00+00:00")),
        ("custom.plan:gold", leaf("custom.plan", "eq", "gold")),
        ("cf.plan:gold", leaf("custom.plan", "eq", "gold")),
        ("CF.Plan:gold", leaf("custom.Plan", "eq", "gold")),
        ('custom."plan type":gold', leaf("custom.plan type", "eq", "gold")),
        ('custom."say \\"hi\\"":yes', leaf('custom.say "hi"', "eq", "yes")),
        ("custom.seats>10", leaf("custom.seats", "gt", 10)),
        ("custom.seats<=-2.5", leaf("custom.seats", "lte", -2.5)),
        ("custom.seats:10", leaf("custom.seats", "eq", "10")),
        ('name:"say \\"hi\\" \\\\ bye"', leaf("name", "eq", 'say "hi" \\ bye')),
        ("name:a:b", leaf("name", "eq", "a:b")),
        ("email:maria@example.com", leaf("email", "eq", "maria@example.com")),
        ("q:maria", q("maria")),
        ("Country:EC", EC),
        ("  ", None),
    ],
)
def test_text_parses_to_the_normalised_tree(text: str, tree: dict[str, Any] | None) -> None:
    assert parse_filter(text) == tree


def test_text_and_json_give_the_same_tree() -> None:
    text = 'tag:vip (country:EC OR country:PE) -tag:Borrar last_in<7d cf.plan:"gold plus"'
    json_tree = {
        "and": [
            {"field": "tags", "op": "eq", "value": "vip"},
            {"or": [{"field": "country", "op": "eq", "value": "EC"}, PE]},
            {"not": {"field": "tag", "op": "any", "value": ["Borrar"]}},
            {"field": "last_in", "op": "within", "value": 7},
            {"field": "custom.plan", "op": "eq", "value": "gold plus"},
        ]
    }
    assert parse_filter(text) == parse_filter(json_tree)


FIELDS = (
    "fields: name, email, identifier, company, city, country, language, assignee, source, phone,"
    " tag, channel, last_channel, created_at, last_activity_at, last_incoming_at, q, opted_out,"
    " custom.<key>"
)
WANT_ATOM = "expected '(' or '-' or NOT or a \"quoted\" value or a field or a word"


@pytest.mark.parametrize(
    ("text", "message", "position", "token"),
    [
        ("tag:vip contry:EC", f"unknown field 'contry' at position 8 ({FIELDS})", 8, "contry"),
        (
            "tag:vip (country:EC OR",
            f"unexpected end of filter at position 22 ({WANT_ATOM})",
            22,
            None,
        ),
        ('name:"abc', "unclosed quote '\"abc' at position 5", 5, '"abc'),
        (
            "name:",
            'unexpected end of filter at position 5 (expected a "quoted" value or a value)',
            5,
            None,
        ),
        ("(a", "unexpected end of filter at position 2 (expected ')')", 2, None),
        ("a)", "unexpected ')' at position 1 (expected the end)", 1, ")"),
        ("()", f"unexpected ')' at position 1 ({WANT_ATOM})", 1, ")"),
        ("tag:vip or", f"unexpected end of filter at position 10 ({WANT_ATOM})", 10, None),
        (
            "tag>vip",
            "wrong operator '>' at position 3"
            " (tag takes: any, all, none, present, absent, eq, neq)",
            3,
            ">",
        ),
        ("q>maria", "wrong operator '>' at position 1 (q takes: contains, eq)", 1, ">"),
        (
            "last_in:7d",
            "a duration needs < or > '7d' at position 8"
            " (last_in<7d means within 7 days, last_in>30d more than 30 days ago)",
            8,
            "7d",
        ),
        (
            "created>banana",
            "not a date 'banana' at position 8 (use 2026-10-01 or 2026-10-01T10:00:00Z)",
            8,
            "banana",
        ),
        (
            "last_in<100000w",
            "not a duration '100000w' at position 8"
            " (use 30m, 12h, 7d, 2w or a number of days, up to 36500 days)",
            8,
            "100000w",
        ),
        (
            "(" * 11 + "a" + ")" * 11,
            "parentheses nested too deeply '(' at position 10 (at most 10 levels)",
            10,
            "(",
        ),
        ("-" * 11 + "a", "nested too deeply at position 1 (at most 10 levels)", 1, None),
        (
            "a OR OR b",
            "misplaced keyword 'OR' at position 5 (to search for the word, quote it: \"OR\")",
            5,
            "OR",
        ),
        (
            "AND a",
            "misplaced keyword 'AND' at position 0 (to search for the word, quote it: \"AND\")",
            0,
            "AND",
        ),
        ("custom.:x", "bad custom field name '' at position 0 (1-64 characters)", 0, ""),
        ("a\x00b", "NUL character '\\x00' at position 1", 1, "\x00"),
        (
            " ".join(["a"] * 101),
            "too many conditions at 'a' at position 200 (at most 100 conditions)",
            200,
            "a",
        ),
        ("x" * 2001, "filter too long 'x' at position 2000 (at most 2000 characters)", 2000, "x"),
        ('name:""', "empty value '' at position 5", 5, ""),
        ("phone:abc", "a phone value needs digits, got 'abc' at position 6", 6, "abc"),
        (
            'name~"' + "x" * 501 + '"',
            f"value too long '{'x' * 40}' at position 5 (at most 500 characters)",
            5,
            "x" * 40,
        ),
        ("name:a'b%c_\\ -", f"unexpected end of filter at position 14 ({WANT_ATOM})", 14, None),
    ],
)
def test_errors_name_the_token_and_its_position(
    text: str, message: str, position: int, token: str | None
) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    assert (str(caught.value), caught.value.position, caught.value.token) == (
        message,
        position,
        token,
    )


def test_any_text_gives_a_tree_or_a_located_filter_error() -> None:
    pieces = ['"', "\\", "(", ")", "-", ":", "!=", "!", "~", "^", "<", ">=", "=", "*", " ", "\t",
              "OR", "and", "NOT", "tag", "name", "last_in", "created", "custom.", "cf.\"k\"", "7d",
              "30", "2026-10-01", "é", "\x00", "\ud800", "%", "_", "'", ";--", "q",
              "x" * 600]  # fmt: skip
    rng = random.Random(11)
    outcomes = {"tree": 0, "error": 0}
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 15)))
        try:
            tree = parse_filter(text)
        except FilterError as exc:
            assert exc.position is not None and 0 <= exc.position <= len(text), text
            outcomes["error"] += 1
        else:
            assert tree is None or parse_filter(tree) == tree, text
            outcomes["tree"] += 1
    assert outcomes["tree"] > 300 and outcomes["error"] > 300
