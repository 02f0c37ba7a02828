"""Meta's Graph API, shared by WhatsApp Cloud API, Messenger and Instagram: call and errors.

A refusal is `{"error": {"message", "type", "code", "error_subcode", "error_data",
"fbtrace_id"}}`; the code (and sometimes the subcode) says what went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.outbound.base import Answer, SendError, Senders, clip, post, retry_after

# Codes that mean "our access token is not good enough" on every Graph product.
AUTH_CODES = frozenset({102, 190, 200, 0, 3, 10, 131005})
# Throttling: app/page/phone-number rate limits and WhatsApp's pair and spam limits.
RATE_CODES = frozenset({4, 17, 32, 613, 80007, 130429, 131048, 131056})


@dataclass(frozen=True, slots=True)
class GraphError:
    """The parts of a Graph error that decide what it means."""

    status: int
    code: int | None
    subcode: int | None
    message: str

    @property
    def provider_code(self) -> str:
        """`code` or `code/subcode` (the HTTP status when the body named none)."""
        if self.code is None:
            return str(self.status)
        return f"{self.code}/{self.subcode}" if self.subcode else str(self.code)

    def said(self, provider: str) -> str:
        """`<provider> refused the message: <message> (code <code>)`."""
        if self.code is None:
            return f"{provider} refused the message: {self.message}"
        return f"{provider} refused the message: {self.message} (code {self.provider_code})"


async def call(senders: Senders, provider: str, url: str, token: str, body: Any) -> Answer:
    """POST a JSON body with the access token as a bearer header (never in the URL)."""
    headers = {"Authorization": f"Bearer {token}"}
    return await post(senders, provider, url, json=body, headers=headers)


def graph_error(answer: Answer) -> GraphError:
    """The error of a refused call (an empty one when the body has none)."""
    body = answer.body if isinstance(answer.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    assert isinstance(error, dict)
    details = error.get("error_data")
    message = clip(error.get("message") or f"HTTP {answer.status}")
    if isinstance(details, dict) and details.get("details"):
        message = f"{message}: {clip(details['details'])}"
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    return GraphError(answer.status, code, subcode, message)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def common_error(provider: str, answer: Answer, error: GraphError) -> SendError:
    """What a Graph error means when no product-specific rule matched."""
    said, code = error.said(provider), error.provider_code
    if answer.status == 429 or error.code in RATE_CODES:
        return SendError("rate_limited", said, retry_after=retry_after(answer.headers),
                         provider_code=code)  # fmt: skip
    if answer.status == 401 or error.code in AUTH_CODES:
        return SendError(
            "provider_auth",
            f"{provider} refused the channel's access_token: {error.message} (code {code})",
            provider_code=code,
        )
    return SendError("provider_error", said, provider_code=code)
