"""Meta's webhook security, shared by WhatsApp, Messenger and Instagram: signature and handshake."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.channels.base import (
    PayloadError,
    SignatureError,
    WebhookRequest,
    hmac_hex,
    require_secret,
    same,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"


def verify(secrets: Mapping[str, str], request: WebhookRequest) -> None:
    """Check Meta's HMAC-SHA256 of the raw body under the app secret."""
    secret = require_secret(secrets, "app_secret")
    header = request.headers.get(SIGNATURE_HEADER)
    if header is None:
        raise SignatureError(f"missing {SIGNATURE_HEADER}")
    scheme, _, digest = header.partition("=")
    if scheme != "sha256" or not digest:
        raise SignatureError(f"malformed {SIGNATURE_HEADER}: expected sha256=<hex digest>")
    if not same(digest, hmac_hex(secret, request.body)):
        raise SignatureError(f"wrong {SIGNATURE_HEADER}")


def handshake(secrets: Mapping[str, str], request: WebhookRequest) -> str:
    """Meta's GET subscription check: echo hub.challenge when the verify token matches."""
    expected = require_secret(secrets, "verify_token")
    if request.query.get("hub.mode") != "subscribe":
        raise SignatureError("hub.mode must be subscribe")
    token = request.query.get("hub.verify_token")
    if token is None or not same(token, expected):
        raise SignatureError("wrong hub.verify_token")
    challenge = request.query.get("hub.challenge")
    if not challenge:
        raise PayloadError("missing hub.challenge")
    return challenge
