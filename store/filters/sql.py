"""Contact filters compiled to SQL: one parameterised boolean expression over `contact c`.

The tree comes from store.filters.tree (validated again here); every value is a `?` parameter
and field names and operators only ever come from the tables below or store.filters.tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers

from store import search, tags
from store.filters.tree import DURATION, KINDS, ORDER_OPS, UNIT_DAYS, FilterError, normalise
from store.fold import fold
from store.phone_keys import phone_key
from store.phones import to_e164
from store.where import Where, like_pattern


@dataclass(frozen=True, slots=True)
class _Ctx:
    ws: int
    dialect: str
    now: datetime
    region: str
    big_tags: frozenset[str] = frozenset()


def compile_filter(
    tree: dict[str, Any] | None,
    *,
    workspace_id: int,
    dialect: str,
    now: datetime,
    region: str,
    big_tags: frozenset[str] = frozenset(),
) -> Where:
    """One parameterised boolean expression over `contact c` (the tree is validated again).

    big_tags: folded tag names carried by many contacts. Their membership is tested row by row
    (`+c.id`) so that SQLite drives the query from a more selective condition instead of
    fetching every tagged contact; a rare tag keeps driving it.
    """
    node = normalise(tree)
    if node is None:
        return Where()
    return _compile(node, _Ctx(workspace_id, dialect, now, region, big_tags))


def _compile(node: dict[str, Any], ctx: _Ctx) -> Where:
    for op in ("and", "or"):
        if op in node:
            parts = [_compile(child, ctx) for child in sorted(node[op], key=_cost)]
            sql = f" {op.upper()} ".join(f"({p.sql})" for p in parts)
            return Where(sql, [v for p in parts for v in p.params])
    if "not" in node:
        child = node["not"]
        if child.get("field") == "tag" and child.get("op") == "any":  # the same as "none"
            return _tag_leaf("tag", "none", child["value"], ctx)
        inner = _compile(child, ctx)
        return Where(f"NOT COALESCE(({inner.sql}), FALSE)", inner.params)
    field, op, value = node["field"], node["op"], node.get("value")
    kind = "custom" if field.startswith("custom.") else KINDS[field]
    return LEAVES[kind](field, op, value, ctx)


# SQLite evaluates the terms of a scan in the order written: plain column tests first, then the
# Python fold, JSON, and last the subqueries (each builds a list or probes an index per row).
COSTS = {
    "date": 0, "phone": 1, "text": 2, "custom": 3, "channel": 4, "tag": 4, "flag": 4, "search": 5,
}  # fmt: skip


def _cost(node: dict[str, Any]) -> int:
    """How dear a node is to test on one row (a group costs its dearest part)."""
    children = node.get("and") or node.get("or") or [node.get("not")]
    if children != [None]:
        return max(_cost(child) for child in children)
    field = node["field"]
    kind = "custom" if field.startswith("custom.") else KINDS[field]
    cheap = field in ("name", "email") or (node["op"] in ("present", "absent") and kind != "tag")
    return 1 if cheap and kind != "custom" else COSTS[kind]


LIKE = "LIKE ? ESCAPE '\\'"
COMPARE = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _compare(expr: str, params: list[Any], op: str, value: Any) -> Where:
    """`expr` (with its params) against a value; NULL counts as unequal and not containing."""
    templates = {
        "neq": f"COALESCE({expr} <> ?, TRUE)",
        "contains": f"{expr} {LIKE}",
        "not_contains": f"COALESCE({expr} NOT {LIKE}, TRUE)",
        "starts_with": f"{expr} {LIKE}",
        "present": f"COALESCE({expr} <> '', FALSE)",
        "absent": f"COALESCE({expr} = '', TRUE)",
        **{k: f"{expr} {sign} ?" for k, sign in COMPARE.items()},
    }
    if op in ("present", "absent"):
        return Where(templates[op], params)
    if op in ("contains", "not_contains", "starts_with"):
        value = like_pattern(value, prefix=op == "starts_with")
    return Where(templates[op], [*params, value])


def _text_leaf(field: str, op: str, value: Any, ctx: _Ctx) -> Where:
    if op in ("present", "absent"):
        return _compare("c.name_key" if field == "name" else f"c.{field}", [], op, value)
    if field == "name":
        return _compare("c.name_key", [], op, fold(value))
    if field == "email":
        return _compare("c.email", [], op, value.lower())
    return _compare(folded(f"c.{field}", ctx.dialect), [], op, fold(value))


def folded(column: str, dialect: str) -> str:
    """SQL folding a column like store.fold.fold. Plain ASCII skips the fold function (lower()
    is exact there): on SQLite that keeps a million-row filter out of Python, on PostgreSQL
    out of unaccent (the 4-condition bench filter: 510 -> 370 ms)."""
    if dialect != "sqlite":
        return f"CASE WHEN {column} ~ '^[ -~]*$' THEN lower({column}) ELSE cg_fold({column}) END"
    return f"CASE WHEN {column} GLOB '*[^ -~]*' THEN cg_fold({column}) ELSE lower({column}) END"


def _phone_leaf(field: str, op: str, value: Any, ctx: _Ctx) -> Where:
    if op in ("present", "absent"):
        return _compare("c.phone", [], op, value)
    if op in ("eq", "neq"):
        e164 = to_e164(value, ctx.region)
        if e164 is None:
            raise FilterError("not a phone number", value, why=f"default region {ctx.region}")
        return _compare("c.phone_key", [], op, phone_key(e164))  # any variant of it
    digits = _phone_digits(value, ctx.region)
    prefix = "+" if op == "starts_with" else "%"
    sql = " OR ".join(["c.phone LIKE ?"] * len(digits))
    where = Where(f"({sql})", [f"{prefix}{d}%" for d in digits])
    if op == "not_contains":
        return Where(f"COALESCE(NOT {where.sql}, TRUE)", where.params)
    return where


def _phone_digits(value: str, region: str) -> list[str]:
    """The digits to look for in E.164 numbers: as typed, and a national 0… as +<code>…."""
    digits = "".join(ch for ch in value if ch.isdigit())
    code = phonenumbers.country_code_for_region(region.upper())
    if digits.startswith("0") and len(digits) > 1 and not value.lstrip().startswith("+") and code:
        return [digits, f"{code}{digits[1:]}"]
    return [digits]


def _date_leaf(field: str, op: str, value: Any, ctx: _Ctx) -> Where:
    col = f"c.{field}"
    if op in ("present", "absent"):
        return Where(f"{col} IS {'NOT ' if op == 'present' else ''}NULL")
    if op in ("within", "older_than"):
        sign = ">=" if op == "within" else "<"
        return Where(f"{col} {sign} ?", [_stamp(ctx.now - _delta(value), ctx)])
    start = _instant(value)
    if op in ORDER_OPS:
        return Where(f"{col} {COMPARE[op]} ?", [_stamp(start, ctx)])
    equal = Where(f"{col} = ?", [_stamp(start, ctx)])
    if len(value) == 10:  # a bare date is the whole day
        day = [_stamp(start, ctx), _stamp(start + timedelta(days=1), ctx)]
        equal = Where(f"{col} >= ? AND {col} < ?", day)
    return equal if op == "eq" else Where(f"COALESCE(NOT ({equal.sql}), TRUE)", equal.params)


def _instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _delta(value: str) -> timedelta:
    found = DURATION.fullmatch(value)
    assert found is not None  # normalise() checked it
    return timedelta(days=int(found[1]) * UNIT_DAYS[found[2]])


def _stamp(moment: datetime, ctx: _Ctx) -> Any:
    """A timestamp parameter; on SQLite the exact text tortoise stores, so text order is time."""
    moment = moment.astimezone(UTC)
    return moment.isoformat(" ") if ctx.dialect == "sqlite" else moment


TAGGED = (
    "SELECT ct.contact_id FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
    " WHERE t.workspace_id = ? AND t.key IN ({marks})"
)


def _tag_leaf(field: str, op: str, value: Any, ctx: _Ctx) -> Where:
    if op in ("present", "absent"):
        exists = "EXISTS (SELECT 1 FROM contact_tag ct WHERE ct.contact_id = c.id)"
        return Where(exists if op == "present" else f"NOT {exists}")
    keys = list(dict.fromkeys(tags.key(name) for name in value))
    if op == "all":
        parts = [_tag_leaf(field, "any", [k], ctx) for k in keys]
        return Where(" AND ".join(p.sql for p in parts), [v for p in parts for v in p.params])
    if op == "none" and ctx.dialect != "sqlite":  # an anti-join probe, not a hashed list
        probe = "EXISTS (SELECT 1 FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
        probe += (
            f" WHERE ct.contact_id = c.id AND t.workspace_id = ? AND t.key IN ({_marks(keys)}))"
        )
        return Where(f"NOT {probe}", [ctx.ws, *keys])
    column = "+c.id" if ctx.big_tags.intersection(keys) else "c.id"
    sql = f"{column} {'NOT ' if op == 'none' else ''}IN ({TAGGED.format(marks=_marks(keys))})"
    return Where(sql, [ctx.ws, *keys])


def _channel_leaf(field: str, op: str, value: Any, ctx: _Ctx) -> Where:
    if op in ("present", "absent"):
        if field == "last_channel":
            return Where(f"c.last_channel_id IS {'NOT ' if op == 'present' else ''}NULL")
        exists = "EXISTS (SELECT 1 FROM identity i WHERE i.contact_id = c.id)"
        return Where(exists if op == "present" else f"NOT {exists}")
    names = list(dict.fromkeys(fold(v) for v in value))
    marks = _marks(names)
    named = (
        f"ch.workspace_id = ? AND (cg_fold(ch.kind) IN ({marks}) OR cg_fold(ch.key) IN ({marks})"
        f" OR cg_fold(ch.name) IN ({marks}))"
    )
    params = [ctx.ws, *names, *names, *names]
    if field == "last_channel":
        sql = f"c.last_channel_id IN (SELECT ch.id FROM channel ch WHERE {named})"
        return Where(sql if op == "any" else f"COALESCE(NOT {sql}, TRUE)", params)
    sql = (
        f"c.id {'NOT ' if op == 'none' else ''}IN (SELECT i.contact_id FROM identity i"
        f" JOIN channel ch ON ch.id = i.channel_id WHERE i.workspace_id = ? AND {named})"
    )
    return Where(sql, [ctx.ws, *params])


def _flag_leaf(field: str, op: str, value: Any, ctx: _Ctx) -> Where:
    """opted_out: an identity of the contact sent an opt-out word (store.inbound.consent)."""
    del field, ctx
    exists = (
        "EXISTS (SELECT 1 FROM identity i WHERE i.contact_id = c.id AND i.opted_out_at IS NOT NULL)"
    )
    return Where(exists if bool(value) == (op == "eq") else f"NOT {exists}")


def _search_leaf(field: str, op: str, value: Any, ctx: _Ctx) -> Where:
    return search.match(value, ctx.ws, ctx.dialect)


NUMERIC_TEXT = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
SQLITE_NUMERIC = (
    "CASE WHEN t IN ('integer', 'real') THEN v WHEN t = 'text' AND trim(v) <> ''"
    " AND trim(v) NOT GLOB '*[^0-9.eE+-]*' AND trim(v) GLOB '*[0-9]*'"
    " THEN CAST(trim(v) AS REAL) END"
)
SQLITE_TEXT = "CASE t WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE cg_fold(v) END"
PG_NUMERIC = (
    "CASE WHEN jsonb_typeof(c.custom::jsonb -> ?::text) = 'number'"
    " THEN (c.custom::jsonb ->> ?::text)::numeric"
    " WHEN (c.custom::jsonb ->> ?::text) ~ ? THEN trim(c.custom::jsonb ->> ?::text)::numeric END"
)


def _custom_leaf(field: str, op: str, value: Any, ctx: _Ctx) -> Where:
    key = field[len("custom.") :]
    numeric = isinstance(value, int | float) and op in ("eq", "neq", *ORDER_OPS)
    if ctx.dialect == "postgres":
        if numeric:
            return _compare(f"({PG_NUMERIC})", [key, key, key, NUMERIC_TEXT, key], op, value)
        return _compare("cg_fold(c.custom::jsonb ->> ?::text)", [key], op, _fold_any(value))
    source, params = _sqlite_source(key)
    expr = f"(SELECT {SQLITE_NUMERIC if numeric else SQLITE_TEXT} FROM ({source}))"
    return _compare(expr, params, op, value if numeric else _fold_any(value))


def _sqlite_source(key: str) -> tuple[str, list[Any]]:
    """Rows (t, v): JSON type and value of a custom key (SQLite paths cannot escape a quote)."""
    if '"' in key or "\\" in key:
        return "SELECT j.type AS t, j.value AS v FROM json_each(c.custom) j WHERE j.key = ?", [key]
    path = f'$."{key}"'
    return "SELECT json_type(c.custom, ?) AS t, json_extract(c.custom, ?) AS v", [path, path]


def _fold_any(value: Any) -> Any:
    """A custom value as text compares it: folded; a number as its digits."""
    if isinstance(value, int | float):
        return str(value)
    return fold(value) if isinstance(value, str) else value


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))


LEAVES = {
    "text": _text_leaf,
    "phone": _phone_leaf,
    "date": _date_leaf,
    "tag": _tag_leaf,
    "channel": _channel_leaf,
    "search": _search_leaf,
    "custom": _custom_leaf,
    "flag": _flag_leaf,
}
