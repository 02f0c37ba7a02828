"""The contract every channel module fulfils: verify raw bytes, then parse into Inbound items."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl

import orjson

from store.types import Inbound, StatusUpdate

MessageType = Literal[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contact",
    "reaction",
    "interactive",
    "share",  # a shared post or reel (Instagram): its URL in media
    "story_mention",  # the customer's story mentions the business (Instagram)
    "story_reply",  # an answer to the business's story (Instagram): the story in meta
    "unsupported",
]
MESSAGE_TYPES: tuple[str, ...] = MessageType.__args__  # type: ignore[attr-defined]


class WebhookError(Exception):
    """A request the gateway refuses; `status` is the HTTP answer, `reason` is safe to show.

    `error` is the answer's `error` field; `headers` go out with the answer (Retry-After).
    """

    status = 400
    error = "rejected"
    headers: Mapping[str, str] = MappingProxyType({})

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SignatureError(WebhookError):
    """Missing or wrong signature, or a stale timestamp."""

    status = 401


class PayloadError(WebhookError):
    """The body was authentic but is not what the provider documents."""

    status = 400


class WebhookRequest:
    """What a channel module may look at: the raw request, nothing of aiohttp.

    `url` (the public URL the provider called; Twilio and Bird sign it) may be given as a
    function: it is then built only when a channel reads it. `memo` holds what a channel
    learnt from the request in verify(), for parse(), admit() and settle() to reuse.
    """

    __slots__ = ("_url", "body", "headers", "memo", "method", "query")

    def __init__(
        self,
        method: str,
        url: str | Callable[[], str],
        headers: Mapping[str, str],  # case-insensitive
        query: Mapping[str, str],
        body: bytes,
    ) -> None:
        self.method, self._url, self.headers, self.query, self.body = (
            method,
            url,
            headers,
            query,
            body,
        )
        self.memo: dict[str, Any] = {}

    @property
    def url(self) -> str:
        """The public URL of the request."""
        if not isinstance(self._url, str):
            self._url = self._url()
        return self._url


@dataclass(slots=True)
class ParseResult:
    """Messages to store, plus counts of what was deliberately not stored."""

    messages: list[Inbound] = field(default_factory=list)
    ignored: int = 0  # statuses, receipts, echoes: acknowledged, no record
    unsupported: list[str] = field(default_factory=list)  # event kinds we do not understand
    statuses: list[StatusUpdate] = field(default_factory=list)  # delivery statuses of our sends


@dataclass(frozen=True, slots=True)
class Ack:
    """The body a provider expects back on success."""

    status: int = 200
    body: bytes = b"ok"
    content_type: str = "text/plain"


def hmac_hex(key: str, data: bytes, digest: str = "sha256") -> str:
    """Hex HMAC of `data` under `key`."""
    return hmac.new(key.encode(), data, getattr(hashlib, digest)).hexdigest()


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time comparison of two strings or byte strings."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)


def from_unix(value: Any) -> datetime:
    """A provider's Unix timestamp (int or numeric string) as an aware UTC datetime."""
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise PayloadError(f"bad timestamp {value!r}") from exc


def require_secret(secrets: Mapping[str, str], name: str) -> str:
    """The named secret of the channel; a channel without it refuses every request."""
    value = secrets.get(name)
    if not value:
        raise SignatureError(f"channel has no {name} configured")
    return value


# Helpers shared by the JSON channels: every type check names the offending field.

T = TypeVar("T")

_JSON_NAMES: dict[type, str] = {
    bool: "a boolean",
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
}


@dataclass(slots=True)
class Content:
    """What one message carries, before the sender and ids are added."""

    type: str  # one of MESSAGE_TYPES
    text: str | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def utc_now() -> datetime:
    """Now, for providers that send no timestamp (tests replace it per module)."""
    return datetime.now(UTC)


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    return next((name for kind, name in _JSON_NAMES.items() if isinstance(value, kind)), "?")


def json_object(body: bytes) -> dict[str, Any]:
    """The body parsed as a JSON object; anything else is a PayloadError."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise PayloadError(f"body must be a JSON object, got {json_type(value)}")
    return value


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _fits(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def optional(parent: Mapping[str, Any], key: str, kind: type[T], where: str = "") -> T | None:
    """`parent[key]`, or None when absent or null; PayloadError when of another JSON type."""
    value = parent.get(key)
    # Exact type first: it is the common case and skips the bool/float subtleties of _fits.
    if value is None or (type(value) is kind and kind is not bool) or _fits(value, kind):
        return value
    raise PayloadError(f"{_path(where, key)} must be {_JSON_NAMES[kind]}, got {json_type(value)}")


def required(parent: Mapping[str, Any], key: str, kind: type[T], where: str = "") -> T:
    """`parent[key]`; PayloadError naming the field when absent, null or of another type."""
    value = parent.get(key)
    if type(value) is kind and kind is not bool:
        return value
    value = optional(parent, key, kind, where)
    if value is None:
        raise PayloadError(f"missing {_path(where, key)}")
    return value


def ident(parent: Mapping[str, Any], key: str, where: str = "") -> str:
    """A required id sent as an integer or a non-empty string, as a string."""
    value = parent.get(key)
    if value is None or value == "":
        raise PayloadError(f"missing {_path(where, key)}")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError(
            f"{_path(where, key)} must be an integer or a string, got {json_type(value)}"
        )
    return str(value)


def objects(
    parent: Mapping[str, Any], key: str, where: str = "", *, must: bool = False
) -> list[dict[str, Any]]:
    """A list of JSON objects (empty when absent unless `must`); PayloadError on any other item."""
    items = required(parent, key, list, where) if must else optional(parent, key, list, where)
    for index, item in enumerate(items or []):
        if not isinstance(item, dict):
            raise PayloadError(
                f"{_path(where, key)}[{index}] must be an object, got {json_type(item)}"
            )
    return items or []


def timestamp(parent: Mapping[str, Any], key: str, where: str = "") -> datetime:
    """A required Unix timestamp (integer or numeric string) as an aware UTC datetime."""
    value = parent.get(key)
    if value is None:
        raise PayloadError(f"missing {_path(where, key)}")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError(f"{_path(where, key)} must be a Unix timestamp, got {json_type(value)}")
    try:
        return from_unix(value)
    except PayloadError as exc:
        raise PayloadError(f"{_path(where, key)}: {exc.reason}") from None


ID_LIMITS = (("external_id", 128), ("scoped_id", 128), ("provider_message_id", 255))


def check_ids(messages: list[Inbound]) -> None:
    """Refuse ids no provider sends: too long for their columns, or with control characters."""
    for number, message in enumerate(messages):
        for name, limit in ID_LIMITS:
            value = getattr(message, name)
            if value is not None and (len(value) > limit or not value.isprintable()):
                raise PayloadError(
                    f"message {number}: {name} must be printable and at most {limit} characters"
                )


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """A url-encoded body as (name, value) pairs; PayloadError unless it decodes as UTF-8."""
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not valid UTF-8 form data: {exc.reason}") from None


def required_param(params: Mapping[str, str], name: str) -> str:
    """A form parameter that must be present and non-empty."""
    value = params.get(name)
    if not value:
        raise PayloadError(f"missing {name}")
    return value
