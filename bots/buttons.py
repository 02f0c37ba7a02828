"""Signed button data: `<action>.<expiry>.<mac>`, at most 64 bytes (Telegram's callback_data).

`action` is `verb:arg…` (a contact id, a stored action's id and a choice). The MAC is an
HMAC-SHA256 over the workspace id, the action and the expiry, cut to 96 bits: a button is
good only in the workspace it was made for, until it expires, and cannot be altered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from datetime import timedelta

from bots.i18n import N_

SHORT_TTL = timedelta(minutes=15)  # confirmations
LONG_TTL = timedelta(days=2)  # contact cards' buttons, list pages
MAX_BYTES = 64
ACTION = re.compile(r"^[a-z]{1,8}(:[A-Za-z0-9_-]{1,20}){0,3}$")
EXPIRY = re.compile(r"^[0-9a-z]{1,10}$")
_key: list[bytes] = [b""]  # set at start by bots.core.configure


class Forged(Exception):
    """Button data that is not ours or was altered; the message says so."""


class Expired(Forged):
    """Genuine button data past its expiry."""


def derive_key(*secrets: str | None) -> bytes:
    """The button key from configured secrets (`bot_action_secret`, else the bots' own)."""
    material = "\0".join(s or "" for s in secrets)
    if not material.strip("\0"):
        raise ValueError("no secret to derive the button key from")
    return hmac.new(b"contactgate bot buttons", material.encode(), hashlib.sha256).digest()


def set_key(key: bytes) -> None:
    """Use `key` to sign and verify buttons."""
    if len(key) < 16:
        raise ValueError("the button key must be at least 16 bytes")
    _key[0] = key


def _mac(workspace_id: int, body: str) -> str:
    if not _key[0]:
        raise RuntimeError("bots.core.configure() was not called: no button key")
    digest = hmac.new(_key[0], f"{workspace_id}|{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def sign_action(workspace_id: int, action: str, ttl: timedelta, now: float | None = None) -> str:
    """Button data for `action` in this workspace, good for `ttl`."""
    if not ACTION.match(action):
        raise ValueError(f"bad button action {action!r}")
    expiry = int((time.time() if now is None else now) + ttl.total_seconds())
    body = f"{action}.{_base36(expiry)}"
    data = f"{body}.{_mac(workspace_id, body)}"
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"button data {data!r} is longer than {MAX_BYTES} bytes")
    return data


def verify_action(workspace_id: int, data: str, now: float | None = None) -> str:
    """The action of genuine, unexpired button data; Forged otherwise."""
    parts = data.rsplit(".", 2)
    if len(parts) != 3 or not ACTION.match(parts[0]) or not EXPIRY.match(parts[1]):
        raise Forged(N_("this button is not one of mine"))
    action, expiry, mac = parts
    if not hmac.compare_digest(mac, _mac(workspace_id, f"{action}.{expiry}")):
        raise Forged(N_("this button is not one of mine (or not for your workspace)"))
    if int(expiry, 36) < (time.time() if now is None else now):
        raise Expired("this button has expired; run the command again")
    return action
