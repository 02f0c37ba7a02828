"""Helpers of the API tests: tokens, calls, expected JSON, audit read-back."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from store.setup import get_workspace
from store.tokens import create_token
from tests import helpers as h

WS = "acme"
ROLES = ("agent", "admin", "owner")
TIME = "<time>"
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_UNSET: Any = object()
FIELDS = (
    "name", "email", "phone", "identifier", "company", "city", "country", "language",
    "avatar_url", "assignee", "last_channel_id", "last_activity_at", "last_incoming_at",
)  # fmt: skip


async def tokens(ws: str = WS, region: str = "EC") -> dict[str, str]:
    """Create workspace `ws` and one token per role; role -> clear token."""
    await h.workspace(ws, region=region)
    return {role: await create_token(ws, f"{role}-bot", role) for role in ROLES}


async def workspace_id(ws: str = WS) -> int:
    """The id of a workspace."""
    return (await get_workspace(ws)).id


@dataclass
class Reply:
    """A response: status, decoded JSON (or raw bytes), headers."""

    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Api:
    """The test client plus tokens by role."""

    client: TestClient
    tokens: dict[str, str]

    async def __call__(
        self,
        method: str,
        path: str,
        *,
        role: str | None = "owner",
        json: Any = _UNSET,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        """Call /api/v1{path} with the role's token; JSON bodies are sent as given."""
        sent = dict(headers or {})
        if role is not None:
            sent.setdefault("Authorization", f"Bearer {self.tokens[role]}")
        if json is not _UNSET:
            data = orjson.dumps(json)
            sent.setdefault("Content-Type", "application/json")
        response = await self.client.request(
            method, f"/api/v1{path}", data=data, headers=sent, params=params
        )
        raw = await response.read()
        body: Any = raw
        if response.content_type == "application/json":
            body = orjson.loads(raw)
        return Reply(response.status, body, dict(response.headers))

    async def create(self, **fields: Any) -> dict[str, Any]:
        """Create a contact (owner token) and return its JSON."""
        reply = await self("POST", "/contacts", json=fields)
        assert reply.status == 201, reply.body
        return dict(reply.body)


def stable(value: Any) -> Any:
    """JSON with every ISO timestamp replaced by TIME (so whole results can be compared)."""
    if isinstance(value, str) and ISO_Z.fullmatch(value):
        return TIME
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def contact(
    id: int,
    ws: int,
    *,
    source: str = "api",
    custom: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    channels: list[str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """The expected (stable) JSON of a contact."""
    values = {f: fields.pop(f, None) for f in FIELDS}
    assert not fields, f"unknown contact fields {fields}"
    shown = values["name"] or values["phone"] or values["email"] or f"#{id}"
    return {
        "id": id,
        "workspace_id": ws,
        **{k: values[k] for k in FIELDS[:10]},
        "custom": custom or {},
        "source": source,
        "last_channel_id": values["last_channel_id"],
        "created_at": TIME,
        "updated_at": TIME,
        "last_activity_at": values["last_activity_at"],
        "last_incoming_at": values["last_incoming_at"],
        "tags": tags or [],
        "channels": channels or [],
        "opted_out": False,
        "display_name": shown,
    }


def error(code: str, detail: str) -> dict[str, str]:
    """An error body."""
    return {"error": code, "detail": detail}


async def audit_rows(since: int = 0) -> list[tuple[Any, ...]]:
    """Audit lines of the API surface after id `since`: (actor, action, target, detail)."""
    rows = await h.rows(
        "SELECT id, actor, surface, action, target, detail FROM audit_log"
        " WHERE surface = 'api' ORDER BY id"
    )
    out = []
    for row in rows:
        if row["id"] <= since:
            continue
        detail = row["detail"]
        if isinstance(detail, str | bytes):
            detail = orjson.loads(detail)
        out.append((row["actor"], row["action"], row["target"], detail))
    return out


async def seed_contacts(client: TestClient, token: str) -> None:
    """A few contacts, a tag and a note, for tests that just need data around."""
    api = Api(client, {"owner": token})
    first = await api.create(name="José Pérez", email="jose@example.com", phone="0991234567")
    await api.create(name="María", email="maria@example.com", company="Acme")
    await api.create(identifier="ext-3", city="Quito")
    await api("POST", f"/contacts/{first['id']}/tags", json={"tags": ["vip"]})
    await api("POST", f"/contacts/{first['id']}/notes", json={"body": "called"})


async def import_job(api: Api, path: str = "/imports", **kwargs: Any) -> Reply:
    """POST a CSV to /imports and wait for the job: the job's answer when the upload is refused,
    else the finished job as the import's result (its counts, dry_run, on_conflict and error
    report side by side), with the status of the job's own GET."""
    started = await api("POST", path, **kwargs)
    if started.status != 202:
        return started
    assert started.headers["Location"] == f"/api/v1/imports/{started.body['id']}"
    job = await finished_job(api, started.body["id"], kwargs.get("role", "owner"))
    assert job.body["state"] == "done", job.body
    shown = {
        **job.body["result"],
        **{k: job.body[k] for k in ("dry_run", "on_conflict", "errors_csv", "errors_truncated")},
    }
    return Reply(job.status, shown, job.headers)


async def finished_job(api: Api, job_id: int, role: str = "owner") -> Reply:
    """GET an import job until it is no longer running (the import runs in the app's loop)."""
    for _ in range(2000):
        job = await api("GET", f"/imports/{job_id}", role=role)
        if job.body["state"] != "running":
            return job
        await asyncio.sleep(0.005)
    raise AssertionError(f"import job {job_id} still running")
