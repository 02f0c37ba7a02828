"""Contact filters, public face: parse any of the three forms to a tree, compile it to SQL.

Inside: tree.py (the vocabulary: fields, operators, limits, FilterError; validation), text.py
(the chat syntax), chatwoot.py (Chatwoot's payload), parse.py (any form to a tree), sql.py (a
tree to a parameterised WHERE). The grammar's tables are exported too: the API derives its JSON
Schemas of filters from them (gateway/api/filter_schema.py).
"""

from store.filters.chatwoot import ANY_OF, ATTRIBUTES, MAX_ITEMS, NONE_OF, OPERATORS, REFUSED
from store.filters.parse import parse_filter
from store.filters.sql import compile_filter
from store.filters.tree import (
    CUSTOM_KEY_MAX,
    CUSTOM_PREFIXES,
    FIELD_ALIASES,
    KINDS,
    MAX_CONDITIONS,
    MAX_DAYS,
    MAX_DEPTH,
    MAX_NAMES,
    MAX_VALUE,
    OP_ALIASES,
    OPS,
    FilterError,
    leaves,
    tag_keys,
)

__all__ = [
    "ANY_OF",
    "ATTRIBUTES",
    "CUSTOM_KEY_MAX",
    "CUSTOM_PREFIXES",
    "FIELD_ALIASES",
    "KINDS",
    "MAX_CONDITIONS",
    "MAX_DAYS",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_NAMES",
    "MAX_VALUE",
    "NONE_OF",
    "OPERATORS",
    "OPS",
    "OP_ALIASES",
    "REFUSED",
    "FilterError",
    "compile_filter",
    "leaves",
    "parse_filter",
    "tag_keys",
]
