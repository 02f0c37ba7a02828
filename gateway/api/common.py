"""What every API route shares: JSON in and out, query parameters, error mapping."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any

import orjson
from aiohttp import web

from gateway.api.validate import BODY_SCHEMA, check_body
from gateway.api.validate import only as only
from gateway.http import error_response, read_body
from store.auth import Caller
from store.contacts import Contact
from store.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, OptedOut
from store.serial import contact_data
from store.serial import iso as iso
from store.serial import plain as plain

PREFIX = "/api/v1"
JSON_LIMIT = 1024 * 1024
MAX_INT = 2**31 - 1  # ids and counts live in 32-bit columns
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
ApiHandler = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]
DOMAIN_STATUS: dict[type[DomainError], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    Invalid: (422, "invalid"),
    OptedOut: (409, "opted_out"),  # before Conflict, its base
    Conflict: (409, "conflict"),
    Forbidden: (403, "forbidden"),
}
_ID = re.compile(r"#?[0-9]{1,10}")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


class ApiError(Exception):
    """An HTTP-level refusal (bad request, unauthorized…) with its JSON error code."""

    def __init__(
        self, status: int, error: str, detail: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail
        self.headers = dict(headers or {})


def bad_request(detail: str) -> ApiError:
    """A 400: the request cannot be read at all."""
    return ApiError(400, "bad_request", detail)


def error_for(exc: ApiError | DomainError) -> web.Response:
    """The JSON error response of an API or domain error."""
    if isinstance(exc, ApiError):
        response = error_response(exc.status, exc.error, exc.detail)
        response.headers.update(exc.headers)
        return response
    for kind, (status, code) in DOMAIN_STATUS.items():
        if isinstance(exc, kind):
            return error_response(status, code, str(exc))
    return error_response(422, "invalid", str(exc))


# --- JSON out ----------------------------------------------------------------------------------


def contact_json(contact: Contact) -> dict[str, Any]:
    """A contact as the API shows it: every field plus display_name (events show it alike)."""
    return contact_data(contact)


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON response of already plain data."""
    return web.Response(status=status, body=orjson.dumps(data), content_type="application/json")


# --- JSON in -----------------------------------------------------------------------------------


async def read_json(request: web.Request, limit: int = JSON_LIMIT) -> dict[str, Any]:
    """The request's JSON object body (400 unreadable, 413 too large, 422 not an object/NUL)."""
    if request.content_type != "application/json":
        raise bad_request("send a JSON body with Content-Type: application/json")
    raw = await read_body(request, limit)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object")
    _refuse_nul(data, "$")
    if BODY_SCHEMA in request:
        name, region = request[BODY_SCHEMA]
        check_body(name, data, region)
    return data


def _refuse_nul(value: Any, where: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise Invalid(f"text must not contain NUL characters (at {where})")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, where)
            _refuse_nul(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_nul(item, f"{where}[{i}]")


def text_field(body: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    """A string member (None when absent and optional)."""
    value = body.get(name)
    if value is None:
        if required:
            raise Invalid(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    return value


def int_field(body: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    """A non-negative 32-bit integer member (None when absent and optional)."""
    value = body.get(name)
    if value is None:
        if required:
            raise Invalid(f"{name} is required")
        return None
    if isinstance(value, float) and value.is_integer():  # JSON Schema's integers include 2.0
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{name} must be an integer")
    if not 0 <= value <= MAX_INT:
        raise Invalid(f"{name} must be between 0 and {MAX_INT}")
    return value


def text_list(body: Mapping[str, Any], name: str, *, required: bool = True) -> list[str]:
    """A list-of-strings member."""
    value = body.get(name)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{name} must be a list of strings")
    return value


# --- path and query ----------------------------------------------------------------------------


def path_id(request: web.Request, name: str) -> int:
    """A numeric id from the path; anything else names nothing (404)."""
    value = request.match_info[name]
    if not _ID.fullmatch(value) or int(value.lstrip("#")) > MAX_INT:
        raise NotFound(f"no such {name.removesuffix('_id')} {value[:40]!r}")
    return int(value.lstrip("#"))


def path_text(request: web.Request, name: str) -> str:
    """A text path parameter (URL-decoded), NUL refused."""
    value = request.match_info[name]
    if "\x00" in value:
        raise bad_request(f"{name} must not contain NUL characters")
    return value


def query_text(request: web.Request, name: str, default: str = "") -> str:
    """A text query parameter."""
    value = request.query.get(name, default)
    if "\x00" in value:
        raise bad_request(f"query parameter {name} must not contain NUL characters")
    return value


def query_filter(request: web.Request) -> Any:
    """The `filter` query parameter: text syntax, or a JSON tree when it starts with { or [."""
    value = query_text(request, "filter").strip()
    if not value.startswith(("{", "[")):
        return value or None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"query parameter filter is not valid JSON: {exc}") from exc


def query_int(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    """An integer query parameter: 400 when not a number, 422 out of [low, high]."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,19}", raw):
        raise bad_request(f"query parameter {name} must be an integer, not {raw[:40]!r}")
    value = int(raw)
    if not low <= value <= high:
        raise Invalid(f"{name} must be between {low} and {high}")
    return value


def query_bool(request: web.Request, name: str) -> bool:
    """A boolean query parameter (true/false, 1/0, yes/no)."""
    raw = request.query.get(name, "").lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise bad_request(f"query parameter {name} must be true or false, not {raw[:40]!r}")


def page_limit(request: web.Request) -> int:
    """The `limit` query parameter: 1..500, 100 by default."""
    return query_int(request, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)


async def download(
    request: web.Request, pieces: AsyncGenerator[bytes, None], content_type: str, name: str
) -> web.StreamResponse:
    """Stream `pieces` as an attachment named `name`. The first piece is produced before the
    headers are sent, so a refusal or bad input it raises is still an ordinary error answer; a
    client that goes away ends the stream quietly."""
    async with aclosing(pieces):
        first = await anext(pieces, b"")
        response = web.StreamResponse(
            headers={
                "Content-Type": content_type,
                "Content-Disposition": f'attachment; filename="{name}"',
            }
        )
        await response.prepare(request)
        try:
            await response.write(first)
            async for piece in pieces:
                await response.write(piece)
        except ConnectionResetError:
            return response
    await response.write_eof()
    return response
