"""Local fakes of the providers' send APIs (Telegram, WhatsApp Cloud API, Messenger/Instagram,
Twilio, Vonage SMS, Bird Channels) on 127.0.0.1: they check credentials the way the provider
does, answer in its format, record every request, and can be told to answer an error or to hang
next."""

from __future__ import annotations

import base64
import itertools
from typing import Any

from aiohttp import web

from tests.fake_server import HANG, FakeServer, Recorded

TG_TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
META_TOKEN = "EAAGm0PX4ZCpsBAtest"
PHONE_NUMBER_ID = "106540352242922"
TWILIO_SID = "AC" + "a1" * 16
TWILIO_TOKEN = "twilio-auth-token"
VERSION = "v24.0"
VONAGE_KEY, VONAGE_SECRET = "a1b2c3d4", "vonage-api-secret"
BIRD_KEY = "bird-access-key"
BIRD_WORKSPACE = "4f2b0c6e-7d1a-4f8e-9b3c-2a5d6e7f8a9b"
BIRD_CHANNEL = "8e1d2c3b-4a5f-4e6d-8c7b-9a0f1e2d3c4b"


class FakeProviders(FakeServer[Recorded]):
    """The fake server; `url` once started. A call's route: telegram | whatsapp | messenger |
    instagram | twilio | vonage | bird."""

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)

    def routes(self, router: web.UrlDispatcher) -> None:
        """The send endpoints of each provider."""
        router.add_post("/bot{token}/sendMessage", self._telegram)
        router.add_post("/{version}/me/messages", self._messenger)
        router.add_post("/ig/{version}/me/messages", self._instagram)
        router.add_post("/{version}/{phone}/messages", self._whatsapp)
        router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._twilio)
        router.add_post("/vonage/sms/json", self._vonage)
        router.add_post("/bird/workspaces/{ws}/channels/{channel}/messages", self._bird)

    def call_of(self, request: Recorded) -> Recorded:
        """Requests are kept as they arrived."""
        return request

    def settings(self) -> dict[str, Any]:
        """Settings that point every provider API at this fake."""
        return {
            "telegram_api_url": self.url,
            "meta_graph_url": self.url,
            "instagram_graph_url": f"{self.url}/ig",
            "meta_graph_version": VERSION,
            "twilio_api_url": self.url,
            "vonage_api_url": f"{self.url}/vonage",
            "bird_api_url": f"{self.url}/bird",
            "outbound_timeout_seconds": 0.5,
        }

    def answer(self, route: str, status: int, body: Any, **headers: str) -> None:
        """Answer the next request on `route` with this status and JSON body."""
        self.script(route, web.json_response(body, status=status, headers=headers))

    def hang(self, route: str) -> None:
        """Never answer the next request on `route` (until the fake closes)."""
        self.script(route, HANG)

    async def _telegram(self, request: web.Request) -> web.Response:
        call = await self.record("telegram", request)
        if scripted := await self.scripted("telegram"):
            return scripted
        if request.match_info["token"] != TG_TOKEN:
            error = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return web.json_response(error, status=401)
        chat = {"id": call.body["chat_id"], "type": "private", "first_name": "Ana"}
        result = {"message_id": next(self._ids), "date": 1795000000, "chat": chat}
        return web.json_response({"ok": True, "result": {**result, "text": call.body["text"]}})

    async def _whatsapp(self, request: web.Request) -> web.Response:
        call = await self.record("whatsapp", request)
        if scripted := await self.scripted("whatsapp"):
            return scripted
        if denied := _bearer(request):
            return denied
        if request.match_info["phone"] != PHONE_NUMBER_ID:
            return _graph_error(400, 100, "Unsupported post request. Object does not exist")
        who = call.body.get("to") or call.body.get("recipient")
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": who, "wa_id": who}],
                "messages": [{"id": f"wamid.HBgLMTU1NTAx{next(self._ids):04d}"}],
            }
        )

    async def _messenger(self, request: web.Request) -> web.Response:
        return await self._meta("messenger", request)

    async def _instagram(self, request: web.Request) -> web.Response:
        return await self._meta("instagram", request)

    async def _meta(self, route: str, request: web.Request) -> web.Response:
        call = await self.record(route, request)
        if scripted := await self.scripted(route):
            return scripted
        if denied := _bearer(request):
            return denied
        recipient = call.body["recipient"].get("id")
        answer = {"message_id": f"m_AG5Hz2Uq7tuwNEhXfYYKj8{next(self._ids):04d}"}
        return web.json_response({"recipient_id": recipient, **answer} if recipient else answer)

    async def _twilio(self, request: web.Request) -> web.Response:
        call = await self.record("twilio", request)
        if scripted := await self.scripted("twilio"):
            return scripted
        expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            error = {"code": 20003, "message": "Authenticate", "status": 401,
                     "more_info": "https://www.twilio.com/docs/errors/20003"}  # fmt: skip
            return web.json_response(error, status=401)
        sid = f"SM{next(self._ids):032x}"
        fields = {"To": "to", "From": "from", "Body": "body"}
        echoed = {name: call.body.get(key) for key, name in fields.items()}
        return web.json_response(
            {"sid": sid, "account_sid": TWILIO_SID, "status": "queued", **echoed}, status=201
        )

    async def _vonage(self, request: web.Request) -> web.Response:
        """Vonage answers 200 either way; each part says its status."""
        call = await self.record("vonage", request)
        if scripted := await self.scripted("vonage"):
            return scripted
        if (call.body.get("api_key"), call.body.get("api_secret")) != (VONAGE_KEY, VONAGE_SECRET):
            refused = {"status": "4", "error-text": "Bad Credentials"}
            return web.json_response({"message-count": "1", "messages": [refused]})
        part = {"to": call.body.get("to"), "message-id": f"{next(self._ids):016X}",
                "status": "0", "remaining-balance": "3.14", "message-price": "0.0333",
                "network": "74001"}  # fmt: skip
        return web.json_response({"message-count": "1", "messages": [part]})

    async def _bird(self, request: web.Request) -> web.Response:
        call = await self.record("bird", request)
        if scripted := await self.scripted("bird"):
            return scripted
        if request.headers.get("Authorization") != f"AccessKey {BIRD_KEY}":
            error = {"code": "Unauthorized", "message": "Access key is invalid"}
            return web.json_response(error, status=401)
        if (request.match_info["ws"], request.match_info["channel"]) != (
            BIRD_WORKSPACE,
            BIRD_CHANNEL,
        ):
            return web.json_response({"code": "NotFound", "message": "Not found"}, status=404)
        number = next(self._ids)
        return web.json_response(
            {"id": f"0b9d3f4e-1c2a-4b5d-8e6f-{number:012d}", "channelId": BIRD_CHANNEL,
             "status": "accepted", "receiver": call.body.get("receiver")},
            status=202,
        )  # fmt: skip


def _bearer(request: web.Request) -> web.Response | None:
    if request.headers.get("Authorization") == f"Bearer {META_TOKEN}":
        return None
    return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")


def _graph_error(status: int, code: int, message: str, subcode: int | None = None) -> web.Response:
    return web.json_response({"error": graph_error(code, message, subcode)}, status=status)


def graph_error(
    code: int, message: str, subcode: int | None = None, **extra: Any
) -> dict[str, Any]:
    """A Graph API error object."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {**error, **extra, "fbtrace_id": "AbCdEfGhIjK"}
