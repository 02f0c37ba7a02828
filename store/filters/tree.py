"""The filter tree: its vocabulary (fields, operators, limits, FilterError), validated and
normalised.

A tree is `{"and": [node, ...]}`, `{"or": [node, ...]}`, `{"not": node}` or a condition
`{"field": F, "op": OP, "value": V}`. The chat text syntax (store.filters.text) and Chatwoot's
flat payload (store.filters.chatwoot) parse to the same tree; store.filters.sql compiles it.
Compiled SQL takes every value as a `?` parameter; field names and operators only ever come
from the tables below.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from store import tags
from store.errors import Invalid
from store.fold import fold

MAX_DEPTH = 10
MAX_CONDITIONS = 100
MAX_VALUE = 500
MAX_NAMES = 100
MAX_DAYS = 36_500
CUSTOM_KEY_MAX = 64

TEXT_OPS = ("eq", "neq", "contains", "not_contains", "starts_with", "present", "absent")
ORDER_OPS = ("gt", "gte", "lt", "lte")
OPS: dict[str, tuple[str, ...]] = {
    "text": (*TEXT_OPS, *ORDER_OPS),
    "custom": (*TEXT_OPS, *ORDER_OPS),
    "phone": TEXT_OPS,
    "date": ("eq", "neq", *ORDER_OPS, "within", "older_than", "present", "absent"),
    "tag": ("any", "all", "none", "present", "absent"),
    "channel": ("any", "none", "present", "absent"),
    "search": ("contains",),
    "flag": ("eq", "neq"),
}
OP_ALIASES: dict[str, dict[str, str]] = {
    "date": {"before": "lt", "after": "gt"},
    "tag": {"eq": "any", "neq": "none"},
    "channel": {"eq": "any", "neq": "none"},
    "search": {"eq": "contains"},
}
TEXT_FIELDS = ("name", "email", "identifier", "company", "city", "country", "language")
KINDS: dict[str, str] = {
    **dict.fromkeys((*TEXT_FIELDS, "assignee", "source"), "text"),
    "phone": "phone",
    "tag": "tag",
    "channel": "channel",
    "last_channel": "channel",
    **dict.fromkeys(("created_at", "last_activity_at", "last_incoming_at"), "date"),
    "q": "search",
    "opted_out": "flag",
}
FIELD_ALIASES = {
    "tags": "tag",
    "last_in": "last_incoming_at",
    "last_activity": "last_activity_at",
    "last_seen": "last_activity_at",
    "created": "created_at",
}
CUSTOM_PREFIXES = ("custom.", "cf.")
FIELD_LIST = ", ".join([*KINDS, "custom.<key>"])
DURATION = re.compile(r"(\d{1,6})\s*([mhdw])", re.IGNORECASE)
UNIT_DAYS = {"m": 1 / 1440, "h": 1 / 24, "d": 1, "w": 7}
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?")
NO_VALUE: Any = object()  # a condition given without a value (present / absent)


class FilterError(Invalid):
    """A filter that cannot be used: the message names the bad token, where it is and why."""

    def __init__(
        self,
        problem: str,
        token: str | None = None,
        *,
        position: int | None = None,
        why: str = "",
        where: str = "",
    ) -> None:
        self.problem, self.why, self.where = problem, why, where
        safe = None if token is None else str(token)[:80].encode("utf-8", "backslashreplace")
        self.token = None if safe is None else safe.decode("utf-8")
        self.position = position
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.where}: {self.problem}" if self.where else self.problem
        if self.token is not None:
            text += f" {self.token!r}"
        if self.position is not None:
            text += f" at position {self.position}"
        return f"{text} ({self.why})" if self.why else text

    def at(self, position: int | None) -> FilterError:
        """The same error, located at a character offset of the text form."""
        return FilterError(
            self.problem, self.token, position=position, why=self.why, where=self.where
        )

    def inside(self, where: str) -> FilterError:
        """The same error, prefixed with the place in the tree or payload it comes from."""
        place = f"{where}.{self.where}" if where and self.where else where or self.where
        return FilterError(
            self.problem, self.token, position=self.position, why=self.why, where=place
        )


def shown(value: Any) -> str:
    """A bad value as an error message quotes it: text as is, anything else as Python shows it."""
    return value if isinstance(value, str) else repr(value)[:80]


# -- validation ---------------------------------------------------------------------------------


def field_kind(name: Any) -> tuple[str, str]:
    """(canonical field name, kind) of a field name or alias; FilterError for an unknown one."""
    if not isinstance(name, str):
        raise FilterError("a field name must be text, not", shown(name))
    lowered = name.strip().lower()
    for prefix in CUSTOM_PREFIXES:
        if lowered.startswith(prefix):
            return f"custom.{_custom_key(name.strip()[len(prefix) :])}", "custom"
    field = FIELD_ALIASES.get(lowered, lowered)
    if field not in KINDS:
        raise FilterError("unknown field", name, why=f"fields: {FIELD_LIST}")
    return field, KINDS[field]


def _custom_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > CUSTOM_KEY_MAX or "\x00" in key or not _utf8(key):
        raise FilterError("bad custom field name", key, why=f"1-{CUSTOM_KEY_MAX} characters")
    return key


def check_op(field: str, kind: str, op: Any) -> str:
    """The canonical operator, if `op` applies to the field; FilterError otherwise."""
    name = op.strip().lower() if isinstance(op, str) else ""
    name = OP_ALIASES.get(kind, {}).get(name, name)
    if name not in OPS[kind]:
        allowed = ", ".join([*OPS[kind], *OP_ALIASES.get(kind, {})])
        raise FilterError("wrong operator", str(op), why=f"{field} takes: {allowed}")
    return name


def clean_value(field: str, kind: str, op: str, value: Any) -> Any:
    """The normalised value of a condition (NO_VALUE for present/absent); FilterError if bad."""
    if op in ("present", "absent"):
        if value is not NO_VALUE and value is not None:
            raise FilterError(f"{op} takes no value, got", shown(value))
        return NO_VALUE
    if value is NO_VALUE or value is None:
        raise FilterError(f"missing value for {field} {op}")
    if kind in ("tag", "channel"):
        return _names(value)
    if kind == "date":
        return duration(value) if op in ("within", "older_than") else _instant_text(value)
    if kind == "custom":
        return _custom_value(op, value)
    if kind == "flag":
        return _flag(value)
    text = _text(value)
    if kind == "phone" and not any(ch.isdigit() for ch in text):
        raise FilterError("a phone value needs digits, got", text)
    return text


def condition(field: Any, op: Any, value: Any = NO_VALUE) -> dict[str, Any]:
    """One normalised condition."""
    name, kind = field_kind(field)
    canonical = check_op(name, kind, op)
    cleaned = clean_value(name, kind, canonical, value)
    node: dict[str, Any] = {"field": name, "op": canonical}
    if cleaned is not NO_VALUE:
        node["value"] = cleaned
    return node


FLAG_WORDS = {"true": True, "yes": True, "si": True, "sí": True, "1": True,
              "false": False, "no": False, "0": False}  # fmt: skip


def _flag(value: Any) -> bool:
    """A yes/no value: true/false, yes/no, sí/no, 1/0."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, str | int) else ""
    if word not in FLAG_WORDS:
        raise FilterError("expected true or false, got", shown(value))
    return FLAG_WORDS[word]


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FilterError("expected a text value, got", shown(value))
    text = str(_number(value)) if not isinstance(value, str) else value.strip()
    if not text:
        raise FilterError("empty value", "")
    if len(text) > MAX_VALUE:
        raise FilterError("value too long", text[:40], why=f"at most {MAX_VALUE} characters")
    if "\x00" in text:
        raise FilterError("value contains a NUL character", text)
    if not _utf8(text):
        raise FilterError("value is not valid text", text[:40])
    return text


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _number(value: int | float) -> int | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError("not a finite number", shown(value))
    if isinstance(value, int) and abs(value) >= 2**53:
        return float(value)
    return value


def _custom_value(op: str, value: Any) -> Any:
    if isinstance(value, bool) and op in ("eq", "neq"):
        return "true" if value else "false"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value)
    text = _text(value)
    if op in ORDER_OPS and NUMBER.fullmatch(text):
        return _number(float(text) if any(ch in text for ch in ".eE") else int(text))
    return text


def _names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_NAMES:
        raise FilterError("expected 1 to 100 names, got", str(len(items)))
    seen: dict[str, str] = {}
    for item in items:
        name = " ".join(_text(item).split())
        if len(name) > tags.MAX_TAG:
            raise FilterError("name too long", name[:40], why=f"at most {tags.MAX_TAG} characters")
        seen.setdefault(tags.key(name), name)
    return list(seen.values())


def _instant_text(value: Any) -> str:
    text = _text(value)
    if DURATION.fullmatch(text):
        why = "a duration goes with within / older_than"
        raise FilterError("expected a date, got the duration", text, why=why)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text)
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        moment = None
    if moment is None or not 1000 <= moment.year <= 9998:
        raise FilterError("not a date", text, why="use 2026-10-01 or 2026-10-01T10:00:00Z")
    return moment.date().isoformat() if len(text) == 10 else moment.isoformat()


def duration(value: Any) -> str:
    """A duration as `<n><unit>` (m, h, d, w); a bare number is days. FilterError if bad."""
    if isinstance(value, float) and value.is_integer():  # JSON's 7.0 is the integer 7
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value}d"
    text = _text(value).lower() if isinstance(value, str) else ""
    text = f"{text}d" if text.isdigit() else text
    found = DURATION.fullmatch(text)
    if not found or int(found[1]) * UNIT_DAYS[found[2].lower()] > MAX_DAYS:
        why = f"use 30m, 12h, 7d, 2w or a number of days, up to {MAX_DAYS} days"
        raise FilterError("not a duration", str(value), why=why)
    return f"{int(found[1])}{found[2].lower()}"


def normalise(tree: Any) -> dict[str, Any] | None:
    """Validate a JSON tree and return its normal form (aliases resolved, groups flattened)."""
    if tree is None or tree == {} or tree == {"and": []}:
        return None
    return _node(tree, 1, "", [0])


def _node(tree: Any, depth: int, path: str, count: list[int]) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise FilterError("nested too deeply", None, where=path, why=f"at most {MAX_DEPTH} levels")
    if not isinstance(tree, dict):
        raise FilterError("a filter node must be an object, got", shown(tree), where=path)
    groups = [k for k in ("and", "or", "not") if k in tree]
    if groups:
        if len(tree) != 1:
            keys = ", ".join(map(str, tree))
            raise FilterError("a group has one key (and, or, not), got", keys, where=path)
        return _group(groups[0], tree[groups[0]], depth, path, count)
    unknown = sorted(set(tree) - {"field", "op", "value"})
    if unknown or "field" not in tree or "op" not in tree:
        why = (
            "a condition is {field, op, value}; a group is {and: [...]}, {or: [...]} or {not: ...}"
        )
        raise FilterError(
            "bad filter node with keys", ", ".join(map(str, tree)), where=path, why=why
        )
    count[0] += 1
    if count[0] > MAX_CONDITIONS:
        raise FilterError(
            "too many conditions", str(count[0]), where=path, why=f"at most {MAX_CONDITIONS}"
        )
    try:
        return condition(tree["field"], tree["op"], tree.get("value", NO_VALUE))
    except FilterError as exc:
        raise exc.inside(path) from None


def _group(op: str, body: Any, depth: int, path: str, count: list[int]) -> dict[str, Any]:
    here = f"{path}.{op}" if path else op
    if op == "not":
        inner = _node(body, depth + 1, here, count)
        return inner.get("not", {"not": inner})
    if not isinstance(body, list) or not body:
        raise FilterError(f"'{op}' needs a non-empty list of nodes, got", shown(body), where=path)
    children: list[dict[str, Any]] = []
    for i, child in enumerate(body):
        node = _node(child, depth + 1, f"{here}[{i}]", count)
        children.extend(node.get(op, [node]))
    return children[0] if len(children) == 1 else {op: children}


def leaves(tree: Any) -> list[dict[str, Any]]:
    """Every condition of a normalised tree."""
    if not isinstance(tree, dict):
        return []
    if "field" in tree:
        return [tree]
    found = [leaf for key in ("and", "or") for c in tree.get(key) or [] for leaf in leaves(c)]
    return found + leaves(tree.get("not"))


def tag_keys(tree: Any) -> set[str]:
    """The folded tag names a normalised tree mentions."""
    return {
        fold(str(v).strip())
        for leaf in leaves(tree)
        if leaf["field"] == "tag" and isinstance(leaf.get("value"), list)
        for v in leaf["value"]
    }
