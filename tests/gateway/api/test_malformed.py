"""Malformed input on every route: bodies that are not JSON objects, NUL, huge bodies, bad paths.

Walks the route table, so a new route gets these checks without a new test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.api.common import JSON_LIMIT
from gateway.api.routes import ROUTES, Route
from tests.gateway.api.support import Api, error

JSON_ROUTES = [
    pytest.param(r, id=f"{r.method} {r.path}") for r in ROUTES if r.body not in (None, "csv")
]
PATH_ROUTES = [pytest.param(r, id=f"{r.method} {r.path}") for r in ROUTES if r.path_params]
NOT_JSON = "the body is not valid JSON"
NEEDS_JSON = error("bad_request", "send a JSON body with Content-Type: application/json")
TOO_LARGE = error("too_large", f"body over {JSON_LIMIT} bytes")
VALID = {
    "ContactInput": {"city": "Lima"},
    "ContactPatch": {"city": "Lima"},
    "TagsRequest": {"tags": ["x"]},
    "NoteRequest": {"body": "x"},
    "MergeRequest": {"secondary": 2},
    "MessageRequest": {"text": "x"},
    "EraseRequest": {"confirm": 1},
}


def concrete(route: Route, **values: str) -> str:
    """The route's path with its parameters filled (contact 1, contact 2, a view `v`)."""
    defaults = {"ref": "1", "other": "2", "name": "v", "note_id": "1", "run_id": "1", "sub_id": "1"}
    defaults["import_id"] = "1"
    return route.path.format(**{**defaults, **values})


async def _data(api: Api) -> None:
    await api.create(name="Ana")
    await api.create(name="Bea")


@pytest.mark.parametrize("route", JSON_ROUTES)
async def test_json_body_refusals(api: Api, route: Route) -> None:
    await _data(api)
    path = concrete(route)
    json_type = {"Content-Type": "application/json"}
    cases = [
        (b"{bad", json_type, 400),
        (b"", json_type, 400),
        (b'{"a": "\xff"}', json_type, 400),
        (b'{"a": "\\ud800"}', json_type, 400),
        (b"[]", json_type, 422),
        (b'"text"', json_type, 422),
        (b'{"name": "a\\u0000"}', json_type, 422),
        (b'{"a\\u0000": 1}', json_type, 422),
    ]
    for data, headers, status in cases:
        reply = await api(route.method, path, data=data, headers=headers)
        assert (data, reply.status) == (data, status), reply.body
        if status == 400:
            assert reply.body["error"] == "bad_request"
            assert reply.body["detail"].startswith(NOT_JSON)
        else:
            assert reply.body["error"] == "invalid"
    wrong_type = await api(route.method, path, data=b"{}", headers={"Content-Type": "text/plain"})
    missing = await api(route.method, path)
    assert (wrong_type.status, wrong_type.body) == (400, NEEDS_JSON)
    assert (missing.status, missing.body) == (400, NEEDS_JSON)


@pytest.mark.parametrize("route", JSON_ROUTES)
async def test_json_body_over_one_mib_is_413(api: Api, route: Route) -> None:
    await _data(api)
    body = b'{"name": "' + b"x" * JSON_LIMIT + b'"}'
    reply = await api(
        route.method, concrete(route), data=body, headers={"Content-Type": "application/json"}
    )
    assert (reply.status, reply.body) == (413, TOO_LARGE)


async def test_chunked_json_body_over_one_mib_is_413(api: Api) -> None:
    await _data(api)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    reply = await api.client.patch(
        "/api/v1/contacts/1",
        data=chunks(),
        headers={
            "Authorization": f"Bearer {api.tokens['owner']}",
            "Content-Type": "application/json",
        },
    )
    assert (reply.status, await reply.json()) == (413, TOO_LARGE)


async def test_json_body_of_exactly_the_limit_is_read(api: Api) -> None:
    await _data(api)
    padding = b" " * (JSON_LIMIT - len(b'{"name": "Zed"}'))
    body = b'{"name": "Zed"}' + padding
    reply = await api(
        "PATCH", "/contacts/1", data=body, headers={"Content-Type": "application/json"}
    )
    assert (reply.status, reply.body["name"]) == (200, "Zed")


@pytest.mark.parametrize("route", PATH_ROUTES)
async def test_nul_in_a_path_parameter_is_400(api: Api, route: Route) -> None:
    await _data(api)
    for name in route.path_params:
        if name in ("note_id", "run_id", "sub_id", "import_id"):
            continue  # numeric: anything else names nothing (404, below)
        path = concrete(route, **{name: "a%00b"})
        reply = await api(route.method, path, **_valid(route))
        assert (name, reply.status, reply.body) == (
            name,
            400,
            error("bad_request", f"{name} must not contain NUL characters"),
        )


@pytest.mark.parametrize("route", PATH_ROUTES)
async def test_unknown_path_objects_are_404(api: Api, route: Route) -> None:
    await _data(api)
    values = {"ref": "404", "other": "405", "name": "no-such", "note_id": "404", "run_id": "404"}
    values |= {"sub_id": "404", "import_id": "404"}
    for name in route.path_params:
        path = concrete(route, **{name: values[name]})
        reply = await api(route.method, path, **_valid(route))
        assert (path, reply.status, reply.body["error"]) == (path, 404, "not_found")


def _valid(route: Route) -> dict[str, Any]:
    return {"json": VALID[route.body]} if route.body else {}


async def test_csv_import_needs_the_csv_content_type(api: Api) -> None:
    reply = await api(
        "POST", "/imports", data=b'{"a": 1}', headers={"Content-Type": "application/json"}
    )
    assert (reply.status, reply.body) == (
        400,
        error("bad_request", "send the CSV as the body with Content-Type: text/csv"),
    )
