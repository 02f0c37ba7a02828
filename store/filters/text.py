"""The compact text form of a filter, for chat: `tag:vip (country:EC OR country:PE) -tag:Borrar`.

Parsed with a LALR grammar (lark) into the JSON tree of store.filters.tree. Words side by side
are ANDed; AND binds tighter than OR; NOT or a leading `-` negates. Every error is a FilterError
that names the token and its 0-based position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer_NonRecursive, UnexpectedCharacters, UnexpectedInput
from lark.exceptions import VisitError

from store.filters import tree
from store.filters.tree import MAX_CONDITIONS, MAX_DEPTH, NO_VALUE, FilterError

MAX_TEXT = 2000
GRAMMAR = r"""
start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: unary (_AND? unary)*
?unary: atom | negation
negation: (NOT | NEG) unary
?atom: _LPAR or_expr _RPAR | condition | term
condition: (WORD | QFIELD) OP (VALUE | STRING)
term: WORD | STRING

_OR.2: /or(?=[\s()"]|$)/i
_AND.2: /and(?=[\s()"]|$)/i
NOT.2: /not(?=[\s()"]|$)/i
QFIELD.3: /(custom|cf)\."(?:[^"\\]|\\.)*"/i
NEG: "-"
_LPAR: "("
_RPAR: ")"
OP: /!=|>=|<=|[:=~^<>]/
WORD: /(?:[^\s()":=~^<>!\-]|!(?!=))(?:[^\s()":=~^<>!]|!(?!=))*/
VALUE: /[^\s()"]+/
STRING: /"(?:[^"\\]|\\.)*"/s
%ignore /\s+/
"""
EXPECTED = {
    "WORD": "a field or a word",
    "QFIELD": "a field or a word",
    "VALUE": "a value",
    "STRING": 'a "quoted" value',
    "OP": "an operator (: != ~ ^ > >= < <=)",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "NOT": "NOT",
    "NEG": "'-'",
    "_OR": "OR",
    "_AND": "AND",
    "$END": "the end",
}
KEYWORDS = ("and", "or", "not")
ESCAPE = re.compile(r"\\(.)", re.DOTALL)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)


def parse_text(text: str) -> dict[str, Any] | None:
    """The JSON tree of a text filter (not yet normalised); FilterError with a position."""
    if not text.strip():
        return None
    _check_shape(text)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    try:
        part: _Part = _Build().transform(tree)
    except VisitError as exc:
        raise exc.orig_exc from None
    return part.node


def _check_shape(text: str) -> None:
    """Bound the input before parsing: its length and how deep its parentheses go."""
    if len(text) > MAX_TEXT:
        why = f"at most {MAX_TEXT} characters"
        raise FilterError(
            "filter too long", text[MAX_TEXT : MAX_TEXT + 10], position=MAX_TEXT, why=why
        )
    depth = 0
    for pos, ch in _unquoted(text):
        if ch == "\x00":
            raise FilterError("NUL character", ch, position=pos)
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth > MAX_DEPTH:
            why = f"at most {MAX_DEPTH} levels"
            raise FilterError("parentheses nested too deeply", "(", position=pos, why=why)


def _unquoted(text: str) -> Iterator[tuple[int, str]]:
    """(position, character) of the characters outside "quoted" strings (and every NUL)."""
    quoted, escaped = False, False
    for pos, ch in enumerate(text):
        if not quoted or ch == "\x00":
            quoted = ch == '"'
            yield pos, ch
        elif escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = False


def _syntax_error(text: str, exc: UnexpectedInput) -> FilterError:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        if text[pos] == '"':
            return FilterError("unclosed quote", text[pos : pos + 20], position=pos)
        return FilterError("unexpected character", text[pos], position=pos, why=_expected(exc))
    token = getattr(exc, "token", None)
    if token is None or token.type == "$END":
        return FilterError("unexpected end of filter", None, position=len(text), why=_expected(exc))
    return FilterError("unexpected", str(token), position=_pos(token), why=_expected(exc))


def _expected(exc: UnexpectedInput) -> str:
    names = (
        getattr(exc, "accepts", None)
        or getattr(exc, "expected", None)
        or getattr(exc, "allowed", None)
        or ()
    )
    wanted = sorted({EXPECTED.get(str(n), str(n)) for n in names})
    return f"expected {' or '.join(wanted)}" if wanted else ""


@dataclass(frozen=True, slots=True)
class _Part:
    """A parsed piece: its tree node, how many levels deep it goes, where it starts."""

    node: dict[str, Any]
    depth: int
    pos: int


class _Build(Transformer_NonRecursive):
    """Parse tree -> filter tree, validating each condition where its tokens are."""

    def __init__(self) -> None:
        super().__init__()
        self.conditions = 0

    def start(self, children: list[_Part]) -> _Part:
        return children[0]

    def or_expr(self, children: list[_Part]) -> _Part:
        return _group("or", children)

    def and_expr(self, children: list[_Part]) -> _Part:
        return _group("and", children)

    def negation(self, children: list[Any]) -> _Part:
        token, inner = children
        return _nest({"not": inner.node}, inner.depth + 1, _pos(token))

    def term(self, children: list[Token]) -> _Part:
        token = children[0]
        self._count(token)
        value = _unquote(token)
        if token.type == "WORD" and value.lower() in KEYWORDS:
            why = f'to search for the word, quote it: "{value}"'
            raise FilterError("misplaced keyword", value, position=_pos(token), why=why)
        return _Part(_at(token, lambda: tree.condition("q", "contains", value)), 1, _pos(token))

    def condition(self, children: list[Token]) -> _Part:
        word, op, raw = children
        self._count(word)
        field, kind = _at(word, lambda: tree.field_kind(_field_name(word)))
        name, value = _meaning(str(word), kind, op, raw)
        try:
            canonical = tree.check_op(field, kind, name)
        except FilterError as exc:
            raise FilterError(exc.problem, str(op), position=_pos(op), why=exc.why) from None
        cleaned = _at(raw, lambda: tree.clean_value(field, kind, canonical, value))
        node: dict[str, Any] = {"field": field, "op": canonical}
        if cleaned is not NO_VALUE:
            node["value"] = cleaned
        return _Part(node, 1, _pos(word))

    def _count(self, token: Token) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            why = f"at most {MAX_CONDITIONS} conditions"
            raise FilterError("too many conditions at", str(token), position=_pos(token), why=why)


def _group(op: str, children: list[_Part]) -> _Part:
    items: list[dict[str, Any]] = []
    for child in children:
        items.extend(child.node.get(op, [child.node]))
    depth = 1 + max(c.depth - (op in c.node) for c in children)
    return _nest({op: items}, depth, children[0].pos)


def _nest(node: dict[str, Any], depth: int, pos: int) -> _Part:
    if depth > MAX_DEPTH:
        raise FilterError(
            "nested too deeply", None, position=pos, why=f"at most {MAX_DEPTH} levels"
        )
    return _Part(node, depth, pos)


def _meaning(field: str, kind: str, op: Token, raw: Token) -> tuple[str, Any]:
    """The operator and value a `field<op>value` stands for."""
    value = _unquote(raw)
    star = raw.type == "VALUE" and value == "*"
    symbol = str(op)
    if symbol in (":", "=", "!="):
        if star:
            return ("present" if symbol != "!=" else "absent"), NO_VALUE
        if kind == "date" and _is_span(raw):
            why = f"{field}<7d means within 7 days, {field}>30d more than 30 days ago"
            raise FilterError("a duration needs < or >", value, position=_pos(raw), why=why)
        return ("neq" if symbol == "!=" else "eq"), value
    if symbol in ("~", "^"):
        return ("contains" if symbol == "~" else "starts_with"), value
    if kind == "date" and _is_span(raw):
        return ("within" if symbol.startswith("<") else "older_than"), value
    return {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[symbol], value


def _is_span(raw: Token) -> bool:
    text = str(raw).strip().lower()
    return raw.type == "VALUE" and (text.isdigit() or bool(tree.DURATION.fullmatch(text)))


def _field_name(token: Token) -> str:
    """A field as typed; `custom."plan type"` is the custom field `plan type`."""
    if token.type != "QFIELD":
        return str(token)
    quoted = str(token).partition(".")[2]
    return "custom." + ESCAPE.sub(r"\1", quoted[1:-1])


def _unquote(token: Token) -> str:
    text = str(token)
    return ESCAPE.sub(r"\1", text[1:-1]) if token.type == "STRING" else text


def _at(token: Token, work: Any) -> Any:
    """Run a validation step; its FilterError is located at `token`."""
    try:
        return work()
    except FilterError as exc:
        raise exc.at(_pos(token)) from None


def _pos(token: Token) -> int:
    return token.start_pos or 0
