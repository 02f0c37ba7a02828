"""What every outbound provider shares: the message to send, the result, errors, the HTTP call.

A provider module (``gateway/outbound/<provider>.py``) declares:

- ``KINDS``: the channel kinds it sends on;
- ``SECRETS``: the channel secrets sending needs; a tuple inside means "one of these";
- ``LIMITS``: kind -> the longest text the provider takes (:class:`Limit`);
- ``WINDOWS``: kind -> how long after the customer's last message a free-form reply is allowed
  (absent: no such rule);
- optionally ``TEMPLATES``: the kinds that send approved templates (at any time), and
  ``WINDOW_HINTS``: kind -> what the window_closed error suggests instead;
- ``async send(senders, outgoing) -> Sent``, raising :class:`SendError` when the provider
  refuses or cannot be reached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import orjson

from gateway.settings import Settings

# API status of each send error code (the code is the API error's `error`).
STATUS: dict[str, int] = {
    "window_closed": 409,  # outside the provider's customer-service window
    "recipient_unavailable": 409,  # blocked the bot, opted out, deactivated
    "invalid_recipient": 422,  # the provider does not know the recipient
    "rate_limited": 429,
    "provider_auth": 502,  # the provider refused the channel's own credentials
    "provider_error": 502,
    "provider_unreachable": 502,
    "provider_timeout": 504,
}
Outcome = Literal["failed", "unknown"]


class SendError(Exception):
    """The provider refused the message, or could not be asked; the detail is safe to show.

    `outcome` is "failed" when the message certainly was not sent, "unknown" when it may have
    been (a timeout after the request left).
    """

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        outcome: Outcome = "failed",
        retry_after: int | None = None,
        provider_code: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.code, self.detail, self.outcome = code, detail, outcome
        self.retry_after, self.provider_code = retry_after, provider_code

    @property
    def status(self) -> int:
        """The HTTP status the API answers with."""
        return STATUS[self.code]


@dataclass(frozen=True, slots=True)
class Limit:
    """The longest text a provider takes, counted the way it counts."""

    size: int
    unit: Literal["characters", "UTF-16 code units", "bytes"] = "characters"

    def measure(self, text: str) -> int:
        """The length of `text` in this limit's unit."""
        if self.unit == "bytes":
            return len(text.encode())
        if self.unit == "UTF-16 code units":
            return len(text.encode("utf-16-le")) // 2
        return len(text)


@dataclass(frozen=True, slots=True)
class OutboundConfig:
    """Provider base URLs, the Graph API version and the timeout of one send."""

    telegram_url: str = "https://api.telegram.org"
    graph_url: str = "https://graph.facebook.com"
    instagram_url: str = "https://graph.facebook.com"
    graph_version: str = "v24.0"
    twilio_url: str = "https://api.twilio.com"
    timeout: float = 15.0
    vonage_url: str = "https://rest.nexmo.com"
    bird_url: str = "https://api.bird.com"
    public_url: str | None = None  # ours: where providers post status callbacks (Twilio)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundConfig:
        """The configuration the settings give."""
        return cls(
            telegram_url=settings.telegram_api_url,
            graph_url=settings.meta_graph_url,
            instagram_url=settings.instagram_graph_url,
            graph_version=settings.meta_graph_version,
            twilio_url=settings.twilio_api_url,
            vonage_url=settings.vonage_api_url,
            bird_url=settings.bird_api_url,
            public_url=settings.public_url,
            timeout=settings.outbound_timeout_seconds,
        )


@dataclass(slots=True)
class Senders:
    """What sends share in one process: the config and one HTTP client session (opened in the
    app's cleanup context)."""

    config: OutboundConfig
    session: aiohttp.ClientSession | None = None
    count: Callable[[str, str], None] | None = None  # (channel kind, outcome): the metrics
    push: Callable[[str, str], Awaitable[None]] | None = None  # (channel key, visitor): web chat

    def http(self) -> aiohttp.ClientSession:
        """The open session."""
        if self.session is None or self.session.closed:
            raise RuntimeError("the outbound HTTP session is not open")
        return self.session


@dataclass(frozen=True, slots=True)
class Template:
    """An approved message template: its name, language code and body parameters in order."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()

    def summary(self) -> str:
        """How the sent template reads in the conversation."""
        said = f"[template {self.name} ({self.language})]"
        return f"{said} {' | '.join(self.parameters)}" if self.parameters else said


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One text message to one person on one channel, with what the provider needs."""

    kind: str
    channel_key: str
    channel_name: str
    secrets: Mapping[str, str]
    external_id: str  # the person's id on the channel (chat id, wa_id, PSID, phone, address)
    scoped_id: str | None  # WhatsApp BSUID
    text: str
    subject: str | None = None  # email only
    reply_to_id: str | None = None  # the provider id of the person's last message
    reply_meta: Mapping[str, Any] = field(default_factory=dict)  # its meta (email threading)
    last_inbound_at: datetime | None = None  # when the person last wrote on this channel
    template: Template | None = None  # instead of the text, where TEMPLATES allows


@dataclass(frozen=True, slots=True)
class Sent:
    """The provider accepted the message."""

    provider_message_id: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Answer:
    """A provider's HTTP answer: status, JSON body (None when not JSON), headers."""

    status: int
    body: Any
    headers: Mapping[str, str]


async def post(
    senders: Senders,
    provider: str,
    url: str,
    *,
    json: Any = None,
    form: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """POST to a provider; timeouts and connection failures become SendError.

    Error texts name the provider and host, never the URL (Telegram's holds the bot token).
    """
    host = urlsplit(url).netloc.rsplit("@", 1)[-1]
    timeout = aiohttp.ClientTimeout(total=senders.config.timeout)
    data = orjson.dumps(json) if json is not None else form
    sent_headers = {**(headers or {})}
    if json is not None:
        sent_headers["Content-Type"] = "application/json"
    try:
        async with senders.http().post(
            url, data=data, headers=sent_headers, timeout=timeout
        ) as response:
            raw = await response.read()
            return Answer(response.status, _json(raw), response.headers)
    except TimeoutError:
        raise SendError(
            "provider_timeout",
            f"{provider} ({host}) did not answer within {senders.config.timeout:g} s; the message"
            " may or may not have been delivered",
            outcome="unknown",
        ) from None
    except aiohttp.ClientConnectionError as exc:
        raise SendError(
            "provider_unreachable", f"cannot reach {provider} ({host}): {_reason(exc)}"
        ) from None


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _reason(exc: aiohttp.ClientConnectionError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError) and exc.strerror:
        return str(exc.strerror)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    return type(exc).__name__


def retry_after(headers: Mapping[str, str]) -> int | None:
    """Seconds from a Retry-After header given in seconds."""
    value = headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


def unexpected(provider: str, answer: Answer) -> SendError:
    """A provider answer we cannot read as success or as a known error."""
    return SendError("provider_error", f"{provider} answered HTTP {answer.status} without a result")


def clip(text: object, limit: int = 300) -> str:
    """A provider's error text, bounded, on one line."""
    return " ".join(str(text).split())[:limit]
