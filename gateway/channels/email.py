"""Inbound email: Mailgun route forwards (signed form posts) and raw MIME posts (Basic auth).

- Mailgun ``forward()``: ``application/x-www-form-urlencoded``, or ``multipart/form-data`` when
  the mail has attachments. ``signature`` = hex HMAC-SHA256(signing key, timestamp + token);
  the timestamp must be within five minutes of now and a token is accepted once: it is spent
  when its mail is stored (or ignored) or refused for good (406), not when a storage error (503)
  asks Mailgun to retry. The token cache is per process (bounded, in memory): a replay to
  another worker is left to the dedupe on the message id. A signed form carrying
  ``body-mime`` (a route URL ending in ``mime``) is parsed as raw MIME.
- Raw MIME (``message/rfc822`` or ``text/plain``): the whole RFC 5322 message as the body,
  authenticated by HTTP Basic auth against the channel's optional ``basic_auth`` secret
  (``user:password``); without it raw posts are refused.

Auto-replies, bulk mail and bounces are acknowledged and not stored. Mail that can never be
accepted (no sender address) is answered 406, which tells Mailgun not to retry. Mail over the
limits of email_limits (header block size and fields, MIME depth and parts) is refused before it
is parsed: 413 or 422 to a raw post, 406 to Mailgun. Every mail is verified and parsed off the
event loop (even a small one with many parts takes milliseconds), a large one in the worker
process (see gateway.parsing).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any

import orjson

from gateway.channels import email_mime as mime
from gateway.channels.base import (
    Ack,
    Inbound,
    ParseResult,
    PayloadError,
    SignatureError,
    WebhookError,
    WebhookRequest,
    form_pairs,
    from_unix,
    hmac_hex,
    require_secret,
    same,
    utc_now,
)
from gateway.channels.email_limits import MAX_HEADERS, MailLimit, MailTooComplex

KINDS = ("email",)
SECRETS = ("signing_key",)
MAX_BODY = 25 * 1024 * 1024  # Mailgun accepts messages up to 25 MB, attachments included
OFF_LOOP_BYTES = 0  # every mail is verified and parsed in a worker thread (gateway.parsing)
OFF_PROCESS_BYTES = 256 * 1024  # ... and from this size in the worker process
ACK = Ack(200, b"ok")

REPLAY_WINDOW = timedelta(minutes=5)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
RAW_TYPES = ("message/rfc822", "text/plain")
SIGNED_FIELDS = ("timestamp", "token", "signature")
MAX_SUBJECT = 998  # RFC 5322 line limit
MAX_REFERENCES = 10  # the most recent message ids of a thread are enough to thread it
MAX_ID = 255
MAX_ADDRESS = 128  # the external_id column (base.ID_LIMITS)
# Mailgun also posts these headers as fields of their own; message-headers comes first.
HEADER_FIELDS = ("Message-Id", "Date", "In-Reply-To", "References", "To", "Auto-Submitted")


class MailRefused(WebhookError):
    """Mail the channel can never accept; 406 stops Mailgun's retries."""

    status = 406


class TokenCache:
    """The most recent Mailgun tokens, to refuse a replayed request (per process)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.seen: OrderedDict[str, datetime] = OrderedDict()

    def spent(self, token: str) -> bool:
        """True when `token` was spent within the replay window."""
        return token in self.seen

    def add(self, token: str, now: datetime) -> bool:
        """Spend `token`; False when it was already spent within the replay window."""
        while self.seen and (
            len(self.seen) >= self.size or now - next(iter(self.seen.values())) > REPLAY_WINDOW
        ):
            self.seen.popitem(last=False)
        if token in self.seen:
            return False
        self.seen[token] = now
        return True


TOKENS = TokenCache()


# --- verify -----------------------------------------------------------------------------------


def verify(secrets: Mapping[str, str], request: WebhookRequest) -> None:
    """A Mailgun-signed form, or a raw MIME post with the channel's Basic auth."""
    content_type = _media_type(request)
    if content_type in FORM_TYPES:
        _verify_mailgun(require_secret(secrets, "signing_key"), request)
    elif content_type in RAW_TYPES:
        _verify_basic(secrets.get("basic_auth"), request)
    else:
        raise SignatureError(f"unsupported Content-Type {content_type or '(none)'}")


def signature(key: str, timestamp: str, token: str) -> str:
    """The hex HMAC-SHA256 Mailgun sends in the `signature` field."""
    return hmac_hex(key, (timestamp + token).encode())


def _verify_mailgun(key: str, request: WebhookRequest) -> None:
    try:
        fields = _fields(request)[0]
    except MailLimit as exc:
        raise MailRefused(exc.reason) from None
    except PayloadError as exc:
        raise SignatureError(f"cannot check signature: {exc.reason}") from None
    timestamp, token, given = (fields.get(name) or "" for name in SIGNED_FIELDS)
    if not (timestamp and token and given):
        raise SignatureError("missing timestamp, token or signature")
    if not same(given, signature(key, timestamp, token)):
        raise SignatureError("wrong signature")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError("bad timestamp")
    now = utc_now()
    if abs(now - datetime.fromtimestamp(int(timestamp), tz=UTC)) > REPLAY_WINDOW:
        raise SignatureError("stale timestamp")
    request.memo["token"] = token


def admit(request: WebhookRequest) -> None:
    """Refuse a request whose Mailgun token is spent (checked in the gateway's own process)."""
    if (token := request.memo.get("token")) and TOKENS.spent(token):
        raise SignatureError("replayed token")


def settle(request: WebhookRequest, status: int) -> None:
    """Spend the request's Mailgun token once its mail is stored, ignored or refused for good."""
    token = request.memo.get("token")
    if token and (status < 300 or status == MailRefused.status):
        TOKENS.add(token, utc_now())


def _verify_basic(expected: str | None, request: WebhookRequest) -> None:
    if not expected:
        raise SignatureError("raw MIME posts need basic_auth configured on the channel")
    scheme, _, credentials = (_header(request, "Authorization") or "").partition(" ")
    if scheme.lower() != "basic" or not credentials:
        raise SignatureError("missing Basic Authorization")
    try:
        given = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("malformed Basic Authorization") from None
    if not same(given, expected.encode()):
        raise SignatureError("wrong Basic Authorization")


# --- parse ------------------------------------------------------------------------------------


def parse(kind: str, request: WebhookRequest) -> ParseResult:
    """One mail, or one ignored auto-reply or bounce."""
    content_type = _media_type(request)
    if content_type in RAW_TYPES:
        return parse_raw(request.body)
    if content_type not in FORM_TYPES:
        raise PayloadError(f"unsupported Content-Type {content_type or '(none)'}")
    try:
        fields, files = _fields(request)
        if "body-mime" in fields:
            return parse_raw(fields["body-mime"].encode())
    except MailLimit as exc:  # the same mail sent again would be refused again
        raise MailRefused(exc.reason) from None
    return parse_forward(fields, files)


def parse_forward(fields: Mapping[str, str], files: list[dict[str, Any]]) -> ParseResult:
    """A Mailgun parsed forward: the fields Mailgun extracted and its message-headers."""
    headers = _message_headers(fields) + [(k, v) for k, v in fields.items() if k in HEADER_FIELDS]
    author = fields.get("from") or mime.header(headers, "From") or ""
    if mime.is_automatic(headers, (fields.get("sender"), author)):
        return ParseResult(ignored=1)
    text = mime.newlines(fields.get("stripped-text") or fields.get("body-plain") or "") or None
    html = fields.get("stripped-html") or fields.get("body-html") or None
    if text is None and html:
        text = mime.html_to_text(html) or None
    unsigned = sorted((k, v) for k, v in fields.items() if k not in SIGNED_FIELDS)
    fallback = _digest(orjson.dumps(unsigned))
    when = from_unix(fields["timestamp"]) if fields.get("timestamp") else utc_now()
    meta = _meta(headers, fields.get("subject"), fields.get("recipient"))
    inbound = _inbound(author, headers, text, files, (fallback, when), meta)
    return ParseResult(messages=[inbound])


def parse_raw(raw: bytes) -> ParseResult:
    """A whole RFC 5322 message."""
    try:
        return _parse_raw(raw)
    except RecursionError:  # nesting that email_limits could not see: never a 500
        raise MailTooComplex("mail nests MIME parts too deep to parse") from None


def _parse_raw(raw: bytes) -> ParseResult:
    msg = mime.message(raw)
    headers = mime.raw_headers(msg)
    author = mime.header(headers, "From") or ""
    if mime.is_automatic(headers, (author,)):
        return ParseResult(ignored=1)
    plain, html = mime.text_of(msg)
    text = plain.strip() if plain and plain.strip() else None
    if text is None and html:
        text = mime.html_to_text(html) or None
    meta = _meta(headers, None, None)
    files = mime.attachments(msg)
    return ParseResult(
        messages=[_inbound(author, headers, text, files, (_digest(raw), None), meta)]
    )


def _inbound(
    author: str,
    headers: mime.Headers,
    text: str | None,
    files: list[dict[str, Any]],
    fallback: tuple[str, datetime | None],
    meta: dict[str, Any],
) -> Inbound:
    name, address = parseaddr(author)
    if "@" not in address:
        raise MailRefused("mail without a From address")
    if len(address) > MAX_ADDRESS:
        raise MailRefused(f"From address longer than {MAX_ADDRESS} characters")
    address = address.lower()
    return Inbound(
        external_id=address,
        provider_message_id=_message_id(mime.header(headers, "Message-Id"), fallback[0]),
        type="text" if text or not files else files[0]["kind"],
        sent_at=_sent_at(mime.header(headers, "Date"), fallback[1]),
        text=text,
        media=files,
        display_name=name.strip() or None,
        email=address,
        meta=meta,
    )


def _meta(headers: mime.Headers, subject: str | None, recipient: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if subject := subject or mime.header(headers, "Subject"):
        meta["subject"] = subject[:MAX_SUBJECT]
    if to := recipient or mime.header(headers, "To"):
        meta["to"] = to[:MAX_SUBJECT]
    if reply_to := mime.header(headers, "In-Reply-To"):
        meta["in_reply_to"] = reply_to.strip().strip("<>")[:MAX_ID]
    if references := mime.header(headers, "References"):
        ids = [ref.strip("<>")[:MAX_ID] for ref in references.split()]
        meta["references"] = ids[-MAX_REFERENCES:]
    return meta


def _message_id(value: str | None, fallback: str) -> str:
    message_id = (value or "").strip().strip("<>").strip()
    if not message_id:
        return fallback
    if len(message_id) > MAX_ID or not message_id.isprintable():
        return _digest(message_id.encode())
    return message_id


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _sent_at(date: str | None, fallback: datetime | None) -> datetime:
    try:
        moment = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None:
        return fallback or utc_now()
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- request helpers --------------------------------------------------------------------------


def _header(request: WebhookRequest, name: str) -> str | None:
    value = request.headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in request.headers.items() if k.lower() == lowered), None)


def _media_type(request: WebhookRequest) -> str:
    return (_header(request, "Content-Type") or "").partition(";")[0].strip().lower()


def _fields(request: WebhookRequest) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The form's fields and files, parsed once per request (verify, then parse)."""
    if "form" not in request.memo:
        if _media_type(request) == "multipart/form-data":
            form = mime.form_data(request.body, _header(request, "Content-Type") or "")
        else:
            form = dict(form_pairs(request.body)), []
        request.memo["form"] = form
    fields, files = request.memo["form"]
    return fields, files


def _message_headers(fields: Mapping[str, str]) -> mime.Headers:
    raw = fields.get("message-headers")
    if raw is None:
        return []
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise PayloadError("message-headers is not valid JSON") from None
    if not isinstance(value, list) or not all(_is_pair(item) for item in value):
        raise PayloadError("message-headers must be a list of [name, value] pairs")
    if len(value) > MAX_HEADERS:
        raise MailRefused(f"message-headers has more than {MAX_HEADERS} fields")
    return [(name, value) for name, value in value]


def _is_pair(item: Any) -> bool:
    return isinstance(item, list) and len(item) == 2 and all(isinstance(s, str) for s in item)
