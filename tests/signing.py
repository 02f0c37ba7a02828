"""Test helpers: load captured provider bodies and sign them exactly as each provider does."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(channel: str, name: str) -> bytes:
    """The raw body of tests/fixtures/<channel>/<name> (the extension may be left out)."""
    folder = FIXTURES / channel
    path = folder / name
    if not path.suffix:
        path = next(folder.glob(f"{name}.*"), path)
    body = path.read_bytes()
    # Form bodies are one line as posted; an editor's final newline is not part of them.
    return body.rstrip(b"\r\n") if path.suffix == ".txt" else body


def telegram_headers(secret: str) -> dict[str, str]:
    """The header Telegram sends with the secret_token given to setWebhook."""
    return {"X-Telegram-Bot-Api-Secret-Token": secret}


def meta_signature(app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def twilio_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """The X-Twilio-Signature value: base64 HMAC-SHA1 of the URL plus sorted name+value pairs."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
