"""The recording HTTP server the provider fakes are built on (providers, Slack, Telegram).

A fake declares its routes; the base starts it on a free port of 127.0.0.1, reads and decodes
each request (JSON, form or multipart, files included) for the fake to record in its own shape,
answers what a test scripted for a route next (an error, or never), and lets a test wait until
the requests it expects have arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import parse_qsl

import orjson
from aiohttp import BodyPartReader, web
from aiohttp.test_utils import TestServer

CallT = TypeVar("CallT")
HANG = "hang"  # a scripted step: answer only once the fake closes


@dataclass
class Recorded:
    """One request as it arrived, its body decoded."""

    route: str  # the fake's name for what was called: a provider, an API method
    verb: str  # GET, POST, ...
    path: str
    headers: dict[str, str]
    body: Any  # decoded JSON; else the form or multipart fields as a dict ({} for other bodies)
    query: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # field -> (name, bytes)
    raw: bytes = b""  # the body as sent (empty for multipart, read part by part)


class FakeServer(Generic[CallT]):
    """A fake API: subclasses add their routes and say how a request is recorded (`call_of`);
    handlers call `record()` and, where the provider would, `scripted()`."""

    client_max_size = 1024 * 1024

    def __init__(self) -> None:
        self.calls: list[CallT] = []
        self.url = ""  # once started
        self._scripts: dict[str, list[web.Response | str]] = {}
        self._server: TestServer | None = None
        self._release = asyncio.Event()
        self._changed = asyncio.Condition()

    def routes(self, router: web.UrlDispatcher) -> None:
        """Add the fake's routes."""
        raise NotImplementedError

    def call_of(self, request: Recorded) -> CallT:
        """What the fake keeps of a request in `calls`."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=self.client_max_size)
        self.routes(app.router)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self.url = str(self._server.make_url("")).rstrip("/")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release.set()  # let hanging handlers finish so the server closes at once
        if self._server is not None:
            await self._server.close()

    def script(self, route: str, answer: web.Response | str) -> None:
        """Answer the next request on `route` with `answer` (HANG: never, until the fake closes)."""
        self._scripts.setdefault(route, []).append(answer)

    async def scripted(self, route: str) -> web.Response | None:
        """The answer scripted for this request of `route`, if any."""
        queue = self._scripts.get(route)
        if not queue:
            return None
        step = queue.pop(0)
        if isinstance(step, str):  # HANG
            await self._release.wait()
            return web.json_response({}, status=500)
        return step

    async def record(self, route: str, request: web.Request) -> CallT:
        """Read and decode the request, keep it in `calls`, wake whoever waits for it."""
        call = self.call_of(await _read(route, request))
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        return call

    async def wait_until(self, done: Callable[[], bool]) -> None:
        """Wait until `done()` holds after a request (bound it with a timeout)."""
        async with self._changed:
            await self._changed.wait_for(done)


async def _read(route: str, request: web.Request) -> Recorded:
    recorded = Recorded(
        route, request.method, request.path, dict(request.headers), {}, dict(request.query)
    )
    if request.content_type.startswith("multipart/"):
        async for part in await request.multipart():
            assert isinstance(part, BodyPartReader)
            data = bytes(await part.read())
            if part.filename:
                recorded.files[part.name or ""] = (part.filename, data)
            else:
                recorded.body[part.name or ""] = data.decode()
        return recorded
    recorded.raw = await request.read()
    if request.content_type == "application/json":
        recorded.body = orjson.loads(recorded.raw) if recorded.raw else {}
    elif request.content_type == "application/x-www-form-urlencoded":
        recorded.body = dict(parse_qsl(recorded.raw.decode(), keep_blank_values=True))
    return recorded
