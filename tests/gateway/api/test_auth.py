"""Bearer tokens, the workspace boundary, unknown routes and methods, the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from gateway.api.routes import ROUTES
from store.access import Actor
from store.auth import Caller, caller_for_token
from store.tokens import create_token
from tests import helpers as h
from tests.gateway.api.support import Api, error, tokens, workspace_id

CHALLENGE = 'Bearer realm="contactgate"'


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "send Authorization: Bearer <token>"),
        ("Basic dXNlcjpwYXNz", "the Authorization header must be Bearer <token>"),
        ("Bearer", "the Authorization header must be Bearer <token>"),
        ("Bearer two words", "the Authorization header must be Bearer <token>"),
        ("Bearer cg_ñandú", "the Authorization header must be Bearer <token>"),
        ("Bearer " + "x" * 201, "the Authorization header must be Bearer <token>"),
        ("Bearer cg_not-a-token-we-gave", "unknown or revoked token"),
    ],
)
async def test_missing_malformed_or_unknown_token_is_401(
    api: Api, header: str | None, detail: str
) -> None:
    headers = {} if header is None else {"Authorization": header}
    reply = await api("GET", "/contacts", role=None, headers=headers)
    assert (reply.status, reply.body) == (401, error("unauthorized", detail))
    assert reply.headers["WWW-Authenticate"] == CHALLENGE


async def test_every_route_needs_a_token(api: Api) -> None:
    for route in ROUTES:
        path = route.path.format(
            ref="1", other="2", name="x", note_id="1", run_id="1", sub_id="1", import_id="1"
        )
        reply = await api(route.method, path, role=None)
        assert (route.method, path, reply.status) == (route.method, path, 401)


async def test_revoked_token_is_401(api: Api) -> None:
    await h.rows(
        "UPDATE api_token SET revoked_at = ? WHERE name = ?", datetime.now(UTC), "owner-bot"
    )
    reply = await api("GET", "/contacts")
    assert (reply.status, reply.body) == (401, error("unauthorized", "unknown or revoked token"))


async def test_lower_case_bearer_scheme_is_accepted(api: Api) -> None:
    headers = {"Authorization": f"bearer {api.tokens['agent']}"}
    reply = await api("GET", "/tags", role=None, headers=headers)
    assert (reply.status, reply.body) == (200, {"tags": []})


async def test_token_sees_only_its_workspace(api: Api) -> None:
    mine = await api.create(name="Ana")
    other = await create_token("default", "other-ws", "owner")
    headers = {"Authorization": f"Bearer {other}"}
    shown = await api("GET", f"/contacts/{mine['id']}", role=None, headers=headers)
    listed = await api("GET", "/contacts", role=None, headers=headers)
    assert (shown.status, shown.body) == (404, error("not_found", f"no contact #{mine['id']}"))
    assert (listed.status, listed.body) == (
        200,
        {"contacts": [], "next_cursor": None, "total": None},
    )


async def test_caller_and_last_used_written_at_most_once_a_minute(orm: str) -> None:
    keys = await tokens()
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    seen = []
    for offset in (0, 30, 59, 61):
        with time_machine.travel(start + timedelta(seconds=offset), tick=False):
            caller = await caller_for_token(keys["admin"])
        seen.append(await h.scalar("SELECT last_used_at FROM api_token WHERE name = 'admin-bot'"))
    ws = await workspace_id()
    assert caller == Caller(Actor(ws, "token:admin-bot", "api", "admin"), "acme", "EC")
    times = [datetime.fromisoformat(str(t)).astimezone(UTC) for t in seen]
    assert times == [start, start, start, start + timedelta(seconds=61)]


async def test_unknown_tokens_give_no_caller(orm: str) -> None:
    await tokens()
    assert await caller_for_token("cg_nope") is None
    assert await caller_for_token("") is None
    assert await caller_for_token("x" * 1000) is None


async def test_unknown_api_route_is_404_json(api: Api) -> None:
    for path in ("/nope", "/contacts/1/nope", "", "/contacts/1/tags/extra"):
        reply = await api("GET", path)
        assert (reply.status, reply.body) == (
            404,
            error("not_found", f"no API route '/api/v1{path}'"),
        )


async def test_wrong_method_is_405_json_with_allow(api: Api) -> None:
    reply = await api("PUT", "/contacts")
    assert (reply.status, reply.body) == (
        405,
        error("method_not_allowed", "PUT is not allowed here; use GET, POST"),
    )
    assert reply.headers["Allow"] == "GET, POST"
    reply = await api("POST", "/contacts/1")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, PATCH, DELETE"


async def test_openapi_document_needs_no_token(api: Api) -> None:
    reply = await api("GET", "/openapi.json", role=None)
    assert reply.status == 200
    assert reply.body["openapi"] == "3.1.0"
    assert reply.body["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer"}
    }
