"""Schemathesis hooks (SCHEMATHESIS_HOOKS) for the API tests: how to draw values of the
formats the schemas name but JSON Schema cannot spell, a phone number valid in the workspace's
region (EC; `phone` may be blank, `phone-number` not) and a filter of the text grammar. The
server checks them with the store's rules."""

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
schemathesis.openapi.format("phone-number", st.sampled_from([p for p in PHONES if p]))
schemathesis.openapi.format("contact-filter", st.sampled_from(FILTERS))


def _depth_and_count(node: object, depth: int = 1) -> tuple[int, int]:
    """(deepest level, conditions) of a JSON filter tree, counted as store.filters counts."""
    if not isinstance(node, dict):
        return depth, 0
    for group in ("and", "or"):
        if isinstance(node.get(group), list):
            found = [_depth_and_count(child, depth + 1) for child in node[group]]
            return max((d for d, _ in found), default=depth), sum(c for _, c in found)
    if "not" in node:
        return _depth_and_count(node["not"], depth + 1)
    return depth, 1


@schemathesis.hook
def filter_body(context: object, body: object) -> bool:
    """Two limits of a filter tree that JSON Schema cannot count (the schema's description and
    the server both state them): at most MAX_DEPTH levels and MAX_CONDITIONS conditions. Spelling
    the depth out as ten unrolled node schemas made generation too slow to run in the suite."""
    from store.filters import MAX_CONDITIONS, MAX_DEPTH

    tree = body.get("filter") if isinstance(body, dict) else None
    depth, count = _depth_and_count(tree)
    return depth <= MAX_DEPTH and count <= MAX_CONDITIONS
