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
