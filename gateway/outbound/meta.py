"""Messenger and Instagram Send API: `POST {base}/<version>/me/messages` with the Page's (or the
Instagram account's) access token.

Messenger replies go as `messaging_type: RESPONSE`, which Meta allows within 24 hours of the
person's last message; from then until 7 days they go as `MESSAGE_TAG` with the `HUMAN_AGENT`
tag (a person answering a person; the Page needs Meta's Human Agent permission). Later ones are
refused (code 10, subcode 2018278; Instagram: 2534022).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.outbound import graph
from gateway.outbound.base import Answer, Limit, Outgoing, SendError, Senders, Sent, unexpected

KINDS = ("messenger", "instagram")
SECRETS = ("access_token",)
LIMITS = {"messenger": Limit(2000), "instagram": Limit(1000, "bytes")}
WINDOWS = {"messenger": timedelta(days=7), "instagram": timedelta(hours=24)}
RESPONSE_WINDOW = timedelta(hours=24)  # Messenger: plain replies; HUMAN_AGENT up to WINDOWS
WINDOW_HINTS = {
    "messenger": "a human agent may answer for 7 days (with the HUMAN_AGENT tag after 24 hours)"
}
PROVIDERS = {"messenger": "Messenger", "instagram": "Instagram"}

WINDOW_SUBCODES = frozenset({2018278, 2534022})
UNAVAILABLE_CODES = frozenset({551, 230})  # "This person isn't available right now"
INVALID_SUBCODES = frozenset({2018001})  # "No matching user found"


async def send(senders: Senders, out: Outgoing) -> Sent:
    """Send the text; the stored id is the message id (`m_…`)."""
    provider = PROVIDERS[out.kind]
    config = senders.config
    base = config.instagram_url if out.kind == "instagram" else config.graph_url
    url = f"{base}/{config.graph_version}/me/messages"
    body: dict[str, Any] = {"recipient": recipient(out.external_id), "message": {"text": out.text}}
    if out.kind == "messenger":
        body |= messaging_type(out.last_inbound_at, datetime.now(UTC))
    answer = await graph.call(senders, provider, url, out.secrets["access_token"], body)
    message_id = answer.body.get("message_id") if isinstance(answer.body, dict) else None
    if answer.status == 200 and isinstance(message_id, str) and message_id:
        return Sent(message_id)
    if answer.status == 200:
        raise unexpected(provider, answer)
    raise error(provider, answer)


def messaging_type(last_inbound_at: datetime | None, now: datetime) -> dict[str, str]:
    """RESPONSE within 24 hours of the person's last message (or when it is not known), else
    the HUMAN_AGENT tag."""
    if last_inbound_at is None or now - last_inbound_at <= RESPONSE_WINDOW:
        return {"messaging_type": "RESPONSE"}
    return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}


def recipient(external_id: str) -> dict[str, str]:
    """The PSID/IGSID, or the user_ref of a person met through a plugin."""
    if external_id.startswith("user_ref:"):
        return {"user_ref": external_id.removeprefix("user_ref:")}
    return {"id": external_id}


def error(provider: str, answer: Answer) -> SendError:
    """The SendError of a refused send."""
    found = graph.graph_error(answer)
    code = found.provider_code
    said = found.said(provider)
    if found.subcode in WINDOW_SUBCODES or "outside of allowed window" in found.message:
        return SendError(
            "window_closed",
            f"{provider} refused the message: it is outside the window since the person last"
            f" wrote (code {code})",
            provider_code=code,
        )
    if found.code in UNAVAILABLE_CODES:
        return SendError("recipient_unavailable", said, provider_code=code)
    if found.subcode in INVALID_SUBCODES:
        return SendError("invalid_recipient", said, provider_code=code)
    return graph.common_error(provider, answer, found)
