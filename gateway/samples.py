"""A ready `curl` for a new channel: a minimal sample delivery of its kind, signed with its
secrets, so `contactgate channel add` ends with a command a newcomer can paste."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shlex
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

Secrets = Mapping[str, str]
Sample = tuple[dict[str, str], str]  # headers, body


def _telegram(secrets: Secrets, _url: str) -> Sample:
    body = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1795000000,
            "text": "hola",
            "from": {"id": 4242, "is_bot": False, "first_name": "Ana"},
            "chat": {"id": 4242, "type": "private", "first_name": "Ana"},
        },
    }
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": secrets["secret_token"],
    }
    return headers, json.dumps(body)


def _whatsapp(secrets: Secrets, _url: str) -> Sample:
    message = {"from": "15551234567", "id": "wamid.sample1", "timestamp": "1795000000"}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "15551234567"}],
        "messages": [{**message, "type": "text", "text": {"body": "hola"}}],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }
    return _meta_signed(secrets, json.dumps(body))


def _meta_page(kind: str) -> Callable[[Secrets, str], Sample]:
    def sample(secrets: Secrets, _url: str) -> Sample:
        event = {
            "sender": {"id": "6543210987654321"},
            "recipient": {"id": "1122334455"},
            "timestamp": 1795000000000,
            "message": {"mid": "m_sample1", "text": "hola"},
        }
        obj = "page" if kind == "messenger" else "instagram"
        body = {"object": obj, "entry": [{"id": "1122334455", "time": 1, "messaging": [event]}]}
        return _meta_signed(secrets, json.dumps(body))

    return sample


def _meta_signed(secrets: Secrets, body: str) -> Sample:
    digest = hmac.new(secrets["app_secret"].encode(), body.encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}, body


def _twilio(secrets: Secrets, url: str) -> Sample:
    params = {
        "MessageSid": "SM00000000000000000000000000000001",
        "AccountSid": "AC00000000000000000000000000000001",
        "From": "+15551234567",
        "To": "+15550783881",
        "Body": "hola",
        "NumMedia": "0",
    }
    data = url + "".join(name + value for name, value in sorted(params.items()))
    digest = hmac.new(secrets["auth_token"].encode(), data.encode(), hashlib.sha1).digest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": base64.b64encode(digest).decode(),
    }
    return headers, urlencode(params)


def _webchat(secrets: Secrets, _url: str) -> Sample:
    origin = secrets["allowed_origins"].split(",")[0].strip()
    body = {
        "event": "message",
        "visitor_id": "5f0e4c1a-2b7d-4c55-9a61-0c8f3e2d1b7a",
        "message": {"id": "8d1f3a52-6c0b-4e8e-9f27-41b6a0c3d915", "text": "hola"},
    }
    return {"Content-Type": "application/json", "Origin": origin}, json.dumps(body)


SAMPLES: dict[str, Callable[[Secrets, str], Sample]] = {
    "telegram": _telegram,
    "whatsapp": _whatsapp,
    "messenger": _meta_page("messenger"),
    "instagram": _meta_page("instagram"),
    "twilio_sms": _twilio,
    "twilio_whatsapp": _twilio,
    "webchat": _webchat,
}


def sample_curl(kind: str, secrets: Secrets, url: str) -> str | None:
    """A curl that POSTs a signed sample delivery of `kind` to `url`; None for kinds whose
    signature covers details a sample cannot fake well (Bird, Vonage, email: see docs)."""
    make = SAMPLES.get(kind)
    if make is None:
        return None
    headers, body = make(secrets, url)
    lines = [f"curl -sS -X POST {shlex.quote(url)}"]
    lines += [f"-H {shlex.quote(f'{name}: {value}')}" for name, value in headers.items()]
    lines.append(f"--data-binary {shlex.quote(body)}")
    return " \\\n  ".join(lines)
