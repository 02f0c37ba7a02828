"""Chatwoot's flat contact filter (`{"payload": [...]}`) as a tree of store.filters.tree.

Each item is `{attribute_key, filter_operator, values, query_operator}`; its query_operator
joins it to the next item, and AND binds tighter than OR, as in SQL: `a AND b OR c` is
`(a AND b) OR c`.
"""

from __future__ import annotations

from typing import Any

from store.filters.tree import (
    KINDS,
    NO_VALUE,
    OP_ALIASES,
    OPS,
    FilterError,
    condition,
    field_kind,
    shown,
)

OPERATORS = {
    "equal_to": "eq",
    "not_equal_to": "neq",
    "contains": "contains",
    "does_not_contain": "not_contains",
    "starts_with": "starts_with",
    "is_present": "present",
    "is_not_present": "absent",
    "is_greater_than": "gt",
    "is_less_than": "lt",
    "days_before": "older_than",
}
OUR_OPERATORS = {op for ops in OPS.values() for op in ops} | {
    alias for aliases in OP_ALIASES.values() for alias in aliases
}
ATTRIBUTES = {
    "phone_number": "phone",
    "country_code": "country",
    "company_name": "company",
    "labels": "tag",
}
REFUSED = {"blocked": "contactgate has no blocked contacts to filter on"}
ITEM_KEYS = (
    "attribute_key",
    "filter_operator",
    "values",
    "query_operator",
    "custom_attribute_type",
    "attribute_model",
)
ANY_OF = ("eq", "contains", "starts_with")  # several values: any of them
NONE_OF = ("neq", "not_contains")  # several values: none of them
MAX_ITEMS = 100


def from_chatwoot(payload: dict[str, Any] | list[Any]) -> dict[str, Any] | None:
    """The filter tree of a Chatwoot payload (a dict with "payload", or the list itself)."""
    items = payload.get("payload") if isinstance(payload, dict) else payload
    if isinstance(payload, dict) and set(payload) != {"payload"}:
        raise FilterError("a Chatwoot filter has only a 'payload' key, got", ", ".join(payload))
    if not isinstance(items, list):
        raise FilterError("payload must be a list of conditions, got", shown(items))
    if len(items) > MAX_ITEMS:
        raise FilterError("too many payload items", str(len(items)), why=f"at most {MAX_ITEMS}")
    groups: list[list[dict[str, Any]]] = [[]]
    for i, item in enumerate(items):
        try:
            node, joiner = _item(item, last=i == len(items) - 1)
        except FilterError as exc:
            raise exc.inside(f"payload[{i}]") from None
        groups[-1].append(node)
        if joiner == "or":
            groups.append([])
    ors = [g[0] if len(g) == 1 else {"and": g} for g in groups if g]
    return None if not ors else ors[0] if len(ors) == 1 else {"or": ors}


def _item(item: Any, *, last: bool) -> tuple[dict[str, Any], str]:
    """One payload item as a tree node, and how it joins the next item ("and" / "or")."""
    if not isinstance(item, dict):
        raise FilterError("a payload item must be an object, got", shown(item))
    unknown = [str(k) for k in item if k not in ITEM_KEYS]
    if unknown:
        raise FilterError("unknown key", unknown[0], why=f"keys: {', '.join(ITEM_KEYS)}")
    field = _field(item.get("attribute_key"), item.get("custom_attribute_type"))
    op = _operator(item.get("filter_operator"))
    node = _conditions(field, op, item.get("values"), str(item.get("filter_operator")))
    return node, "and" if last else _joiner(item.get("query_operator"))


def _field(key: Any, custom_type: Any) -> str:
    if not isinstance(key, str) or not key.strip():
        raise FilterError("attribute_key must be a field name, got", shown(key))
    key = key.strip()
    if key in REFUSED:
        raise FilterError("cannot filter on", key, why=REFUSED[key])
    if custom_type:
        return f"custom.{key}"
    name = ATTRIBUTES.get(key, key)
    if name in KINDS or name.startswith(("custom.", "cf.")):
        return field_kind(name)[0]
    return f"custom.{key}"


def _operator(name: Any) -> str:
    text = name.strip().lower() if isinstance(name, str) else ""
    op = OPERATORS.get(text, text if text in OUR_OPERATORS else "")
    if not op:
        why = f"operators: {', '.join(OPERATORS)}"
        raise FilterError(
            "unknown filter_operator", shown(name) if name is not None else None, why=why
        )
    return op


def _joiner(name: Any) -> str:
    text = name.strip().lower() if isinstance(name, str) else "and" if name is None else ""
    if text not in ("and", "or"):
        raise FilterError("query_operator must be and / or, got", shown(name))
    return text


def _conditions(field: str, op: str, values: Any, typed: str) -> dict[str, Any]:
    """The condition(s) of one item; several values mean any of them (or none of them)."""
    if op in ("present", "absent"):
        return condition(field, op, NO_VALUE)
    items = values if isinstance(values, list) else [values]
    if not items or any(v is None for v in items):
        raise FilterError(f"{typed} needs values, got", shown(values))
    if field_kind(field)[1] in ("tag", "channel") or len(items) == 1:
        return condition(field, op, items if len(items) > 1 else items[0])
    if op not in (*ANY_OF, *NONE_OF):
        raise FilterError(f"{typed} takes one value, got", shown(values))
    nodes = [condition(field, op, v) for v in items]
    return {"or" if op in ANY_OF else "and": nodes}
