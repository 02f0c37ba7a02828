"""WhatsApp Cloud API: `POST {base}/<version>/<phone_number_id>/messages`, a text message, or
an approved template (`type: template`), which WhatsApp delivers outside the 24-hour window too.

The person is addressed by phone digits (`to`, their wa_id) or, when WhatsApp shared no phone,
by their business-scoped user id (`recipient`, the BSUID).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gateway.outbound import graph
from gateway.outbound.base import (
    Limit,
    Outgoing,
    SendError,
    Senders,
    Sent,
    Template,
    unexpected,
)

KINDS = ("whatsapp",)
SECRETS = ("access_token", "phone_number_id")
LIMITS = {"whatsapp": Limit(4096)}
WINDOWS = {"whatsapp": timedelta(hours=24)}  # free-form messages only: templates go any time
TEMPLATES = ("whatsapp",)
WINDOW_HINT = 'send an approved template instead: {"template": {"name", "language", "parameters"}}'
WINDOW_HINTS = {"whatsapp": WINDOW_HINT}
PROVIDER = "WhatsApp"

WINDOW_CODES = frozenset({131047})  # re-engagement message: more than 24 hours since they wrote
INVALID_CODES = frozenset({131021, 131026, 131030})  # self, undeliverable, not in allowed list
UNAVAILABLE_CODES = frozenset({131049, 131050})  # Meta chose not to deliver, user opted out


async def send(senders: Senders, out: Outgoing) -> Sent:
    """Send the text; the stored id is the wamid."""
    config = senders.config
    url = f"{config.graph_url}/{config.graph_version}/{out.secrets['phone_number_id']}/messages"
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", **address(out)}
    body |= template(out.template) if out.template else text(out.text)
    answer = await graph.call(senders, PROVIDER, url, out.secrets["access_token"], body)
    wamid = _wamid(answer.body) if answer.status == 200 else None
    if wamid:
        return Sent(wamid)
    if answer.status == 200:
        raise unexpected(PROVIDER, answer)
    raise error(answer)


def text(body: str) -> dict[str, Any]:
    """A text message."""
    return {"type": "text", "text": {"preview_url": False, "body": body}}


def template(chosen: Template) -> dict[str, Any]:
    """A template message: name, language and the body's parameters as text."""
    sent: dict[str, Any] = {"name": chosen.name, "language": {"code": chosen.language}}
    if chosen.parameters:
        parameters = [{"type": "text", "text": p} for p in chosen.parameters]
        sent["components"] = [{"type": "body", "parameters": parameters}]
    return {"type": "template", "template": sent}


def address(out: Outgoing) -> dict[str, str]:
    """`to` with the phone digits, else `recipient` with the BSUID."""
    if out.external_id.isascii() and out.external_id.isdigit():
        return {"to": out.external_id}
    return {"recipient": out.scoped_id or out.external_id}


def _wamid(body: Any) -> str | None:
    messages = body.get("messages") if isinstance(body, dict) else None
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        wamid = messages[0].get("id")
        return wamid if isinstance(wamid, str) and wamid else None
    return None


def error(answer: Any) -> SendError:
    """The SendError of a refused send."""
    found = graph.graph_error(answer)
    said = found.said(PROVIDER)
    if found.code in WINDOW_CODES:
        return SendError(
            "window_closed",
            "WhatsApp refused the message: more than 24 hours have passed since the customer"
            f" last wrote (code {found.code}); {WINDOW_HINT}",
            provider_code=found.provider_code,
        )
    if found.code in INVALID_CODES:
        return SendError("invalid_recipient", said, provider_code=found.provider_code)
    if found.code in UNAVAILABLE_CODES:
        return SendError("recipient_unavailable", said, provider_code=found.provider_code)
    return graph.common_error(PROVIDER, answer, found)
