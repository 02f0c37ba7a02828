"""Telegram Bot API: `POST {base}/bot<token>/sendMessage` to the person's private chat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gateway.outbound.base import Answer, Limit, Outgoing, SendError, Senders, Sent, clip, post

KINDS = ("telegram",)
SECRETS = ("bot_token",)
LIMITS = {"telegram": Limit(4096, "UTF-16 code units")}  # "1-4096 characters after parsing"
WINDOWS: dict[str, timedelta] = {}  # a bot may write to anyone who started it, any time
PROVIDER = "Telegram"


async def send(senders: Senders, out: Outgoing) -> Sent:
    """Send the text; the stored id is `<chat id>:<message id>` (message ids are per chat)."""
    chat_id = out.external_id
    url = f"{senders.config.telegram_url}/bot{out.secrets['bot_token']}/sendMessage"
    chat: int | str = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
    answer = await post(senders, PROVIDER, url, json={"chat_id": chat, "text": out.text})
    body = answer.body if isinstance(answer.body, dict) else {}
    result = body.get("result")
    if body.get("ok") is True and isinstance(result, dict) and "message_id" in result:
        return Sent(f"{chat_id}:{result['message_id']}")
    raise error(answer, body)


def error(answer: Answer, body: dict[str, Any]) -> SendError:
    """The SendError of a refused sendMessage (`{"ok": false, "error_code", "description"}`)."""
    code = body.get("error_code", answer.status)
    description = clip(body.get("description") or f"HTTP {answer.status}")
    said = f"Telegram refused the message: {description}"
    if code in (401, 404):  # a wrong token gets 401, a malformed one 404
        return SendError(
            "provider_auth",
            f"Telegram refused the channel's bot_token ({description})",
            provider_code=str(code),
        )
    if code == 403:  # bot was blocked by the user, user is deactivated, can't initiate…
        return SendError("recipient_unavailable", said, provider_code="403")
    if code == 429:
        params = body.get("parameters")
        wait = params.get("retry_after") if isinstance(params, dict) else None
        return SendError(
            "rate_limited",
            said,
            retry_after=wait if isinstance(wait, int) else None,
            provider_code="429",
        )
    if code == 400 and "chat not found" in description.lower():
        return SendError("invalid_recipient", said, provider_code="400")
    return SendError("provider_error", said, provider_code=str(code))
