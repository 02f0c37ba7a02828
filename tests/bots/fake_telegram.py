"""A fake Telegram Bot API on 127.0.0.1 for the admin bot: it checks the token, answers in the
Bot API's shape ({"ok": true, "result": …}), records every call with its parameters (form,
JSON or multipart, files included), serves uploaded files for getFile, and can be told to fail
the next calls of a method."""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.fake_server import FakeServer, Recorded

TOKEN = "7000000001:AAF-admin-bot-test-token-0123456789"
BOT_ID = 7000000001
USERNAME = "cg_admin_bot"
DATE = 1795000000


@dataclass
class Call:
    """One Bot API call: method, its parameters (reply_markup decoded), uploaded files."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # field -> (name, bytes)
    result: Any = None  # what the fake answered

    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of the inline keyboard sent with this call."""
        markup = self.params.get("reply_markup") or {}
        return [(b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", [])
                for b in row]  # fmt: skip


class FakeTelegram(FakeServer[Call]):
    """The fake server; `url` once started."""

    client_max_size = 60 * 1024 * 1024

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}  # file_id -> content
        self._ids = itertools.count(500)

    def routes(self, router: web.UrlDispatcher) -> None:
        """Bot API methods and file downloads."""
        router.add_post("/bot{token}/{method}", self._method)
        router.add_get("/file/bot{token}/{path:.+}", self._file)

    def call_of(self, request: Recorded) -> Call:
        """The method's parameters (reply_markup decoded) and uploaded files."""
        params = dict(request.body)
        if isinstance(params.get("reply_markup"), str):
            params["reply_markup"] = orjson.loads(params["reply_markup"])
        return Call(request.route, params, request.files)

    def fail(
        self, method: str, status: int = 500, description: str = "Internal Server Error"
    ) -> None:
        """Answer the next call of `method` with this error."""
        self.script(method, _error(status, description))

    def of(self, method: str) -> list[Call]:
        """The recorded calls of one method."""
        return [c for c in self.calls if c.method == method]

    def sent(self) -> list[Call]:
        """Messages and documents sent, edits made, in order (getMe and answers left out)."""
        kept = ("sendMessage", "sendDocument", "editMessageText", "editMessageReplyMarkup")
        return [c for c in self.calls if c.method in kept]

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        call = await self.record(method, request)
        if scripted := await self.scripted(method):
            return scripted
        call.result = self._result(call)
        return web.json_response({"ok": True, "result": call.result})

    def _result(self, call: Call) -> Any:
        p = call.params
        if call.method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Contacts", "username": USERNAME,
                    "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}  # fmt: skip
        if call.method in ("answerCallbackQuery", "setMyCommands"):
            return True
        if call.method == "getFile":
            content = self.files[p["file_id"]]
            path = f"documents/{p['file_id']}.csv"
            return {"file_id": p["file_id"], "file_unique_id": f"u{p['file_id']}",
                    "file_size": len(content), "file_path": path}  # fmt: skip
        message: dict[str, Any] = {
            "message_id": int(p.get("message_id") or next(self._ids)),
            "date": DATE,
            "chat": {"id": int(p["chat_id"]), "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Contacts"},
        }
        if call.method == "sendDocument":
            name, data = call.files["document"]
            message["document"] = {"file_id": f"doc{next(self._ids)}", "file_unique_id": "d",
                                   "file_name": name, "file_size": len(data)}  # fmt: skip
            if p.get("caption"):
                message["caption"] = parsed(p["caption"])
        else:
            message["text"] = parsed(p.get("text", ""))
        return message

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.Response(status=401)
        file_id = request.match_info["path"].removeprefix("documents/").removesuffix(".csv")
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])


def parsed(text: str) -> str:
    """HTML-formatted text as Telegram shows it back: tags gone, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )
