"""Bird Channels API: `POST {base}/workspaces/<workspace_id>/channels/<channel_id>/messages`.

JSON with the `Authorization: AccessKey <access_key>` header; the person is the receiver's
`identifierValue` (their phone number), the text a `text` body. Bird answers 202 with the
message's `id` and `status` (`accepted`); a refusal is `{"code", "message", "details"}`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gateway.outbound.base import (
    Answer,
    Limit,
    Outgoing,
    SendError,
    Senders,
    Sent,
    clip,
    post,
    retry_after,
    unexpected,
)

KINDS = ("bird_sms",)
SECRETS = ("access_key", "workspace_id", "channel_id")
LIMITS = {"bird_sms": Limit(1600)}  # our cap: about ten SMS parts
WINDOWS: dict[str, timedelta] = {}
PROVIDER = "Bird"
INVALID_CODES = frozenset({"InvalidPayload", "InvalidIdentifier", "InvalidReceiver"})


async def send(senders: Senders, out: Outgoing) -> Sent:
    """Send the text; the stored id is Bird's message id (a UUID)."""
    secrets = out.secrets
    url = (
        f"{senders.config.bird_url}/workspaces/{secrets['workspace_id']}"
        f"/channels/{secrets['channel_id']}/messages"
    )
    headers = {"Authorization": f"AccessKey {secrets['access_key']}"}
    answer = await post(senders, PROVIDER, url, json=body(out), headers=headers)
    found = answer.body if isinstance(answer.body, dict) else {}
    message_id = found.get("id")
    if answer.status in (200, 201, 202) and isinstance(message_id, str) and message_id:
        status = found.get("status")
        return Sent(message_id, {"provider_status": status} if isinstance(status, str) else {})
    if answer.status in (200, 201, 202):
        raise unexpected(PROVIDER, answer)
    raise error(answer, found)


def body(out: Outgoing) -> dict[str, Any]:
    """The receiver (their number) and a text body."""
    return {
        "receiver": {"contacts": [{"identifierValue": out.external_id}]},
        "body": {"type": "text", "text": {"text": out.text}},
    }


def error(answer: Answer, found: dict[str, Any]) -> SendError:
    """The SendError of a refused send."""
    code = str(found.get("code") or answer.status)
    message = clip(found.get("message") or f"HTTP {answer.status}")
    said = f"Bird refused the message: {message} ({code})"
    if answer.status in (401, 403):
        return SendError(
            "provider_auth", f"Bird refused the channel's access_key ({code})", provider_code=code
        )
    if answer.status == 429:
        wait = retry_after(answer.headers)
        return SendError("rate_limited", said, retry_after=wait, provider_code=code)
    if answer.status == 422 or code in INVALID_CODES:
        return SendError("invalid_recipient", said, provider_code=code)
    return SendError("provider_error", said, provider_code=code)
