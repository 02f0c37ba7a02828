"""Schemathesis hooks (SCHEMATHESIS_HOOKS) for the API tests: how to draw values of the two
formats the schemas name but JSON Schema cannot spell, a phone number valid in the workspace's
region (EC) and a filter of the text grammar. The server checks both with the store's rules."""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

PHONES = ["", "+593991234567", "0991234567", "099 123 4568", "+14155552671", "+52 55 1234 5678"]
FILTERS = [
    "",
    "tag:vip",
    "country:EC",
    "jose",
    "tag:vip (country:EC OR country:PE) -tag:Borrar last_in<7d",
    "email:present",
]

schemathesis.openapi.format("phone", st.sampled_from(PHONES))
schemathesis.openapi.format("contact-filter", st.sampled_from(FILTERS))
TREES: list[object] = [
    {"field": "tag", "op": "any", "value": ["vip"]},
    {
        "and": [
            {"field": "country", "op": "eq", "value": "EC"},
            {"not": {"field": "tag", "op": "any", "value": ["Borrar"]}},
        ]
    },
    [{"attribute_key": "country_code", "filter_operator": "equal_to", "values": ["EC"]}],
    {"payload": [{"attribute_key": "labels", "filter_operator": "equal_to", "values": ["vip"]}]},
]


@schemathesis.hook
def map_body(_context: schemathesis.HookContext, body: object) -> object:
    """A JSON filter tree or payload (an object, or a list of objects) becomes a valid one of the
    same shape: JSON Schema cannot spell the filter grammar, so random trees would only test
    that the server refuses nonsense. Other bodies, and filters of other types, pass as drawn."""
    if not isinstance(body, dict):
        return body
    tree = body.get("filter")
    if isinstance(tree, dict) or (
        isinstance(tree, list) and tree and all(isinstance(i, dict) for i in tree)
    ):
        shapes = [t for t in TREES if isinstance(t, type(tree))]
        return {**body, "filter": shapes[len(str(tree)) % len(shapes)]}
    return body
