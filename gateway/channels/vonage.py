"""Vonage (Nexmo) SMS API: inbound SMS as a GET query, a form post or a JSON post.

Signed webhooks carry ``sig``: the hex digest, over ``&key=value`` for every other parameter
sorted by key (``&`` and ``=`` inside values replaced by ``_``), either MD5 of that string with
the signature secret appended (``md5hash``, the dashboard default) or an HMAC keyed with the
secret (``md5``, ``sha1``, ``sha256``, ``sha512``). The signed ``timestamp`` parameter must be
within five minutes of now.

Concatenated (multipart) SMS arrive as one webhook per part (``concat=true`` with
``concat-ref``, ``concat-part``, ``concat-total``), in any order, each retried on its own. A part
is parsed into an Inbound whose ``part`` names its set; the store reassembles them
(store.inbound.concat): each part is durably parked before its webhook is acknowledged, and the part
that completes a set becomes one message, text joined in part order, ``provider_message_id``
``concat:<messageId of its first part>``, ``meta`` with ``concat_ref``, ``concat_total`` and
``concat_part_ids``; it then goes through the cap like any message (the sender counts once).
A set still missing parts after ``sms_concat_timeout_hours`` is stored as it is, with
``meta.incomplete`` and ``meta.missing_parts`` (store.inbound.concat_expiry, run by the scheduler).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gateway.channels.base import (
    Ack,
    Content,
    Inbound,
    ParseResult,
    PayloadError,
    SignatureError,
    WebhookRequest,
    form_pairs,
    from_unix,
    json_type,
    require_secret,
    required_param,
    same,
    utc_now,
)
from store.types import Part

KINDS = ("vonage_sms",)
SECRETS = ("signature_secret", "signature_method")  # method as set in the Vonage dashboard
MAX_BODY = 1024 * 1024
ACK = Ack(200, b"ok")  # Vonage retries for 24 hours unless it gets 200 or 204

SIGNATURE_PARAM = "sig"
METHODS = ("md5hash", "md5", "sha1", "sha256", "sha512")
DEFAULT_METHOD = "sha256"
REPLAY_WINDOW = timedelta(minutes=5)
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
DIGITS = re.compile(r"[1-9][0-9]{1,14}")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # message-timestamp, UTC
TEXT_TYPES = ("text", "unicode")
# Delivery receipts carry these and no `type`; they may be pointed at the same URL.
RECEIPT_FIELDS = ("status", "err-code", "scts")
REF_LIMIT = 64  # message_part.ref
Params = dict[str, str]


# --- verify -----------------------------------------------------------------------------------


def verify(secrets: Mapping[str, str], request: WebhookRequest) -> None:
    """Check `sig` over the sorted parameters, then that the signed timestamp is fresh."""
    secret = require_secret(secrets, "signature_secret")
    method = (secrets.get("signature_method") or DEFAULT_METHOD).lower()
    if method not in METHODS:
        raise SignatureError(f"channel has an unknown signature_method {method!r}")
    try:
        params = request_params(request)
    except PayloadError as exc:
        raise SignatureError(f"cannot check {SIGNATURE_PARAM}: {exc.reason}") from None
    given = params.get(SIGNATURE_PARAM)
    if not given:
        raise SignatureError(f"missing {SIGNATURE_PARAM}")
    if not same(given.lower(), signature(secret, params, method)):
        raise SignatureError(f"wrong {SIGNATURE_PARAM}")
    stamp = params.get("timestamp")
    if not stamp:
        raise SignatureError("missing timestamp")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise SignatureError("bad timestamp")
    if abs(utc_now() - datetime.fromtimestamp(int(stamp), tz=UTC)) > REPLAY_WINDOW:
        raise SignatureError("stale timestamp")


def signature(secret: str, params: Mapping[str, str], method: str = DEFAULT_METHOD) -> str:
    """Lower-case hex `sig` of every parameter but sig itself, as Vonage computes it."""
    base = "".join(
        f"&{key}={params[key].replace('&', '_').replace('=', '_')}"
        for key in sorted(params)
        if key != SIGNATURE_PARAM
    )
    if method == "md5hash":
        return hashlib.md5((base + secret).encode()).hexdigest()
    return hmac.new(secret.encode(), base.encode(), getattr(hashlib, method)).hexdigest()


def request_params(request: WebhookRequest) -> Params:
    """The webhook's parameters: the JSON or form body of a POST, else the query string."""
    body = request.body
    if not body.strip():
        return dict(request.query)
    if body.lstrip()[:1] in (b"{", b"["):
        return _json_params(body)
    params: Params = {}
    for name, value in form_pairs(body):
        if name in params:
            raise PayloadError(f"repeated parameter {name}")
        params[name] = value
    return params


def _json_params(body: bytes) -> Params:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"body must be a JSON object, got {json_type(payload)}")
    return {name: _scalar(name, value) for name, value in payload.items()}


def _scalar(name: str, value: Any) -> str:
    # The SMS API sends every field as a string; tolerate numbers and booleans as their text.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise PayloadError(f"{name} must be a string, got {json_type(value)}")


# --- parse ------------------------------------------------------------------------------------


def parse(kind: str, request: WebhookRequest) -> ParseResult:
    """One inbound SMS (or one part of a multipart SMS), or one ignored delivery receipt."""
    params = request_params(request)
    if "type" not in params and any(name in params for name in RECEIPT_FIELDS):
        return ParseResult(ignored=1)
    return ParseResult(messages=[parse_inbound(params)])


def parse_inbound(params: Params) -> Inbound:
    """An inbound SMS: the sender is msisdn (digits, no "+"), the dedupe key messageId."""
    msisdn = required_param(params, "msisdn")
    sender = "+" + msisdn if DIGITS.fullmatch(msisdn) else msisdn
    content = _content(params)
    if to := params.get("to"):
        content.meta["to"] = to
    return Inbound(
        external_id=sender,
        provider_message_id=required_param(params, "messageId"),
        type=content.type,
        sent_at=_sent_at(params),
        text=content.text,
        phone=sender if E164.fullmatch(sender) else None,
        meta=content.meta,
        part=_part(params) if params.get("concat") == "true" else None,
    )


def _content(params: Params) -> Content:
    kind = required_param(params, "type")
    if kind in TEXT_TYPES:
        if "text" not in params:
            raise PayloadError("missing text")
        return Content("text", text=params["text"])
    # binary (ringtones, WAP push, raw UDH payloads) and anything newer: kept as a marker.
    meta: dict[str, Any] = {"kind": kind}
    if udh := params.get("udh"):
        meta["udh"] = udh
    return Content("unsupported", meta=meta)


def _part(params: Params) -> Part | None:
    """Which part of which multipart SMS this is; None for a "multipart" SMS of one part."""
    ref = required_param(params, "concat-ref")
    if len(ref) > REF_LIMIT or not ref.isprintable():
        raise PayloadError(f"concat-ref must be printable and at most {REF_LIMIT} characters")
    number, total = _count(params, "concat-part"), _count(params, "concat-total")
    if number > total:
        raise PayloadError(f"concat-part {number} is beyond concat-total {total}")
    return Part(ref, number, total) if total > 1 else None


def _count(params: Params, name: str) -> int:
    value = required_param(params, name)
    if not value.isascii() or not value.isdigit() or len(value) > 3 or int(value) < 1:
        raise PayloadError(f"{name} must be a positive count, got {value!r}")
    return int(value)


def _sent_at(params: Params) -> datetime:
    if stamp := params.get("message-timestamp"):
        try:
            return datetime.strptime(stamp, TIME_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise PayloadError(
                f"message-timestamp must be YYYY-MM-DD HH:MM:SS, got {stamp!r}"
            ) from None
    if stamp := params.get("timestamp"):
        try:
            return from_unix(stamp)
        except PayloadError:
            raise PayloadError(f"timestamp must be a Unix time, got {stamp!r}") from None
    return utc_now()
