"""A fake Slack on 127.0.0.1: the Web API methods the bot calls, the file upload URLs of
files_upload_v2, private file downloads and response_url hooks. It checks the bot token the
way Slack does (`invalid_auth`), answers in Slack's format, records every call, and can be told
to answer an error next."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from tests.fake_server import FakeServer, Recorded

BOT_TOKEN = "xoxb-1111-2222-fakebottoken"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0CAG7R1N"
BOT_USER = "U0BOT0001"


@dataclass
class Call:
    """One request the fake received: `method` is the Web API method, `upload`, `download`
    or `response_url`."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]  # query, form and JSON fields merged; raw bytes under "_raw"


@dataclass
class SharedFile:
    """A file someone shared in Slack, as files.info describes it."""

    id: str
    name: str
    content: bytes
    mimetype: str = "text/csv"


@dataclass
class Upload:
    """A file the bot uploaded with files_upload_v2, once completed."""

    id: str
    filename: str
    title: str
    content: bytes
    channel_id: str | None
    initial_comment: str | None


class FakeSlack(FakeServer[Call]):
    """The fake server; `url` once started, `api_url` is the Web API base for the settings."""

    client_max_size = 64 * 1024 * 1024

    def __init__(self) -> None:
        super().__init__()
        self.shared: dict[str, SharedFile] = {}
        self.uploads: list[Upload] = []
        self._pending: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        # users.info `locale` per user id; people the test did not set speak English
        self.locales: dict[str, str | None] = {}

    def routes(self, router: web.UrlDispatcher) -> None:
        """The Web API, upload URLs, private downloads and response_url hooks."""
        router.add_route("*", "/api/{method}", self._api)
        router.add_post("/upload/{file_id}", self._upload)
        router.add_get("/files-pri/{team_file}/{name}", self._download)
        router.add_post("/hooks/{hook}", self._hook)

    def call_of(self, request: Recorded) -> Call:
        """Query, form and JSON fields merged, the raw bytes under "_raw"."""
        fields = request.body if isinstance(request.body, dict) else {}
        body = {**request.query, **fields, "_raw": request.raw}
        return Call(request.route, request.path, request.headers, body)

    @property
    def api_url(self) -> str:
        """The Web API base (what `slack_api_url` is set to)."""
        return f"{self.url}/api"

    def hook(self, name: str) -> str:
        """A response_url Slack would put in a payload."""
        return f"{self.url}/hooks/{name}"

    def share(self, name: str, content: bytes, mimetype: str = "text/csv") -> SharedFile:
        """Make a file visible to files.info and its private download URL."""
        shared = SharedFile(f"F0{next(self._ids):08d}", name, content, mimetype)
        self.shared[shared.id] = shared
        return shared

    def fail(self, method: str, error: str) -> None:
        """Answer the next call of `method` with {"ok": false, "error": error} (a response_url
        with a 404 saying `error`)."""
        if method == "response_url":
            self.script(method, web.Response(status=404, text=error))
        else:
            self.script(method, web.json_response({"ok": False, "error": error}))

    def of(self, method: str) -> list[Call]:
        """The calls of one method, in order."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1) -> list[Call]:
        """Wait until `method` was called `count` times; its calls (bound it with a timeout)."""
        await self.wait_until(lambda: len(self.of(method)) >= count)
        return self.of(method)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {BOT_TOKEN}"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = await self.record(method, request)
        if not self._authorized(request):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if scripted := await self.scripted(method):
            return scripted
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if answer is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        result: dict[str, Any] = answer(call.body)
        return web.json_response({"ok": True, **result})

    def _auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "contactgate",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": "B0BOT0001",
            "is_enterprise_install": False,
        }

    def _ts(self) -> str:
        return f"1795000000.{next(self._ids):06d}"

    def _chat_postMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"channel": body["channel"], "ts": self._ts(), "message": {"text": body["text"]}}

    def _chat_postEphemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"message_ts": self._ts()}

    def _users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        """users.info with include_locale=true (the bot asks for a person's language)."""
        user = str(body.get("user", ""))
        locale = self.locales.get(user, "en-US")
        found: dict[str, Any] = {"id": user, "team_id": TEAM, "name": user.lower()}
        if body.get("include_locale") in ("true", "1", True) and locale is not None:
            found["locale"] = locale
        return {"user": found}

    def _views_open(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"view": {"id": f"V0{next(self._ids):08d}", **body["view"]}}

    def _files_info(self, body: dict[str, Any]) -> dict[str, Any]:
        shared = self.shared.get(body.get("file", ""))
        if shared is None:
            return {"ok": False, "error": "file_not_found"}
        url = f"{self.url}/files-pri/{TEAM}-{shared.id}/{shared.name}"
        file = {
            "id": shared.id,
            "name": shared.name,
            "title": shared.name,
            "mimetype": shared.mimetype,
            "size": len(shared.content),
            "url_private": url,
            "url_private_download": f"{url}?download=1",
        }
        return {"file": file}

    def _files_getUploadURLExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F1{next(self._ids):08d}"
        self._pending[file_id] = {"filename": body["filename"], "length": int(body["length"])}
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        files = orjson.loads(body["files"])
        done = []
        for item in files:
            pending = self._pending.pop(item["id"])
            self.uploads.append(
                Upload(
                    item["id"],
                    pending["filename"],
                    item.get("title", ""),
                    pending["content"],
                    body.get("channel_id"),
                    body.get("initial_comment"),
                )
            )
            done.append({"id": item["id"], "title": item.get("title", "")})
        return {"files": done}

    async def _upload(self, request: web.Request) -> web.Response:
        call = await self.record("upload", request)
        pending = self._pending.get(request.match_info["file_id"])
        if pending is None:
            return web.Response(status=404, text="unknown upload")
        pending["content"] = call.body["_raw"]
        return web.Response(text=f"OK - {len(call.body['_raw'])}")

    async def _download(self, request: web.Request) -> web.Response:
        await self.record("download", request)
        team_file = request.match_info["team_file"]
        shared = self.shared.get(team_file.split("-", 1)[1])
        if not self._authorized(request) or shared is None:
            # Slack answers an unauthorised download with its sign-in page, not the file.
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        return web.Response(body=shared.content, content_type=shared.mimetype)

    async def _hook(self, request: web.Request) -> web.Response:
        await self.record("response_url", request)
        if scripted := await self.scripted("response_url"):
            return scripted
        return web.Response(text="ok")
