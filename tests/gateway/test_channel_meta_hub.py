"""Meta's webhook security, the same for every Meta channel kind (WhatsApp Cloud, Messenger,
Instagram): the X-Hub-Signature-256 check of verify() and the hub.challenge GET handshake."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gateway.channels import CHANNELS, handshake_of
from gateway.channels.base import PayloadError, SignatureError, WebhookRequest
from tests.signing import load_fixture, meta_signature


@dataclass(frozen=True)
class Kind:
    """A Meta channel kind, its channel's secrets, a body its provider sends and an edit of it."""

    name: str
    secrets: dict[str, str]
    fixture: str
    tamper: tuple[bytes, bytes] = (b"#1001", b"#6666")

    def body(self) -> bytes:
        return load_fixture(self.name, self.fixture)

    def verify(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        request = WebhookRequest("POST", self.url, headers or {}, {}, body)
        CHANNELS[self.name].verify(self.secrets, request)

    def handshake(self, secrets: dict[str, str] | None = None, **query: str) -> str:
        check = handshake_of(self.name)
        assert check is not None
        return check(self.secrets if secrets is None else secrets, self.get(**query))

    def get(self, **query: str) -> WebhookRequest:
        return WebhookRequest("GET", self.url, {}, query, b"")

    def signed(self, body: bytes, secret: str | None = None) -> dict[str, str]:
        signature = meta_signature(secret or self.secrets["app_secret"], body)
        return {"X-Hub-Signature-256": signature}

    @property
    def token(self) -> str:
        return self.secrets["verify_token"]

    @property
    def url(self) -> str:
        return f"https://gw.example.com/hooks/{self.name}/3"


KINDS = [
    Kind(
        "whatsapp",
        {"app_secret": "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "verify_token": "wa-verify-42"},
        "text.json",
    ),
    Kind(
        "messenger",
        {"app_secret": "4c3b2a19f8e7d6c5b4a3928170f6e5d4", "verify_token": "fb-verify-7"},
        "text",
    ),
    Kind(
        "instagram",
        {"app_secret": "4c3b2a19f8e7d6c5b4a3928170f6e5d4", "verify_token": "fb-verify-7"},
        "text",
        (b"Canada", b"Mexico"),
    ),
]
meta_kinds = pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])


# --- verify: X-Hub-Signature-256 ---------------------------------------------------------------


@meta_kinds
def test_verify_accepts_meta_signature(kind: Kind) -> None:
    body = kind.body()
    kind.verify(body, kind.signed(body))


@meta_kinds
def test_verify_refuses_a_request_without_signature(kind: Kind) -> None:
    with pytest.raises(SignatureError, match="missing X-Hub-Signature-256"):
        kind.verify(b"{}")


@meta_kinds
def test_verify_refuses_a_wrong_signature(kind: Kind) -> None:
    headers = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    with pytest.raises(SignatureError, match="wrong X-Hub-Signature-256"):
        kind.verify(b"{}", headers)


@meta_kinds
def test_verify_refuses_a_body_signed_with_another_app_secret(kind: Kind) -> None:
    body = kind.body()
    with pytest.raises(SignatureError, match="wrong"):
        kind.verify(body, kind.signed(body, "another-app-secret"))


@meta_kinds
def test_verify_refuses_a_tampered_body(kind: Kind) -> None:
    body = kind.body()
    tampered = body.replace(*kind.tamper)
    assert tampered != body
    with pytest.raises(SignatureError, match="wrong"):
        kind.verify(tampered, kind.signed(body))


@meta_kinds
@pytest.mark.parametrize(
    "header",
    ["0123abcd", "sha1=0123abcd", "sha256=", "SHA256:abc", "", "sha256 = abc"],
)
def test_verify_refuses_a_malformed_header(kind: Kind, header: str) -> None:
    with pytest.raises(SignatureError, match="malformed X-Hub-Signature-256"):
        kind.verify(b"{}", {"X-Hub-Signature-256": header})


@meta_kinds
def test_verify_refuses_the_bare_hex_digest(kind: Kind) -> None:
    body = b"{}"
    bare = kind.signed(body)["X-Hub-Signature-256"].removeprefix("sha256=")
    with pytest.raises(SignatureError, match="malformed"):
        kind.verify(body, {"X-Hub-Signature-256": bare})


@meta_kinds
def test_verify_refuses_every_request_when_no_app_secret_is_configured(kind: Kind) -> None:
    body = b"{}"
    request = WebhookRequest("POST", kind.url, kind.signed(body), {}, body)
    with pytest.raises(SignatureError, match="no app_secret configured"):
        CHANNELS[kind.name].verify({"verify_token": "x"}, request)


# --- handshake: hub.challenge -------------------------------------------------------------------


@meta_kinds
def test_handshake_echoes_the_challenge(kind: Kind) -> None:
    challenge = kind.handshake(
        **{"hub.mode": "subscribe", "hub.verify_token": kind.token, "hub.challenge": "1158201444"}
    )
    assert challenge == "1158201444"


@meta_kinds
def test_handshake_refuses_a_wrong_verify_token(kind: Kind) -> None:
    with pytest.raises(SignatureError, match=r"wrong hub.verify_token"):
        kind.handshake(
            **{"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
        )


@meta_kinds
def test_handshake_refuses_a_missing_verify_token(kind: Kind) -> None:
    with pytest.raises(SignatureError, match=r"wrong hub.verify_token"):
        kind.handshake(**{"hub.mode": "subscribe", "hub.challenge": "1"})


@meta_kinds
def test_handshake_refuses_another_mode(kind: Kind) -> None:
    query = {"hub.mode": "unsubscribe", "hub.verify_token": kind.token, "hub.challenge": "1"}
    with pytest.raises(SignatureError, match=r"hub.mode must be subscribe"):
        kind.handshake(**query)


@meta_kinds
def test_handshake_needs_a_challenge(kind: Kind) -> None:
    with pytest.raises(PayloadError, match=r"missing hub.challenge"):
        kind.handshake(**{"hub.mode": "subscribe", "hub.verify_token": kind.token})


@meta_kinds
def test_handshake_refuses_when_no_verify_token_is_configured(kind: Kind) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    with pytest.raises(SignatureError, match="no verify_token configured"):
        kind.handshake({"app_secret": "x"}, **query)
