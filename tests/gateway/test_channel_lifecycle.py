"""The sample delivery `channel add` prints is accepted by the gateway, kind by kind; a disabled
channel is refused (410) and stores nothing; removing one with history needs `force`. Both
backends."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from gateway.provision import known_kinds
from gateway.samples import SAMPLES
from gateway.settings import Settings
from store.access import Actor
from store.channels import remove_channel, rotate_secret, set_active, upsert_channel
from store.errors import Conflict
from store.setup import get_workspace
from tests import helpers as h

PUBLIC = "http://gw.test"
SECRETS = {
    "telegram": {"secret_token": "tg-secret"},
    "whatsapp": {"app_secret": "wa-secret", "verify_token": "wa-verify"},
    "messenger": {"app_secret": "fb-secret", "verify_token": "fb-verify"},
    "instagram": {"app_secret": "ig-secret", "verify_token": "ig-verify"},
    "twilio_sms": {"auth_token": "tw-token"},
    "twilio_whatsapp": {"auth_token": "tw-token"},
    "webchat": {"hmac_secret": "wc-secret", "allowed_origins": "https://shop.example.com"},
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The public URL Twilio signs (the sample's URL), whatever host the test client has."""
    return settings.model_copy(update={"public_url": PUBLIC})


async def _owner() -> Actor:
    return Actor((await get_workspace("acme")).id, "test", "cli", "owner")


async def _post_sample(client: TestClient, kind: str, key: str) -> int:
    headers, body = SAMPLES[kind](SECRETS[kind], f"{PUBLIC}/webhooks/{key}")
    resp = await client.post(f"/webhooks/{key}", data=body.encode(), headers=headers)
    return resp.status


async def _counts() -> tuple[int, int, int]:
    tables = ("contact", "identity", "message")
    a, b, c = [await h.scalar(f"SELECT count(*) AS n FROM {t}") for t in tables]
    return a, b, c


@pytest.mark.parametrize("kind", sorted(SAMPLES))
async def test_the_printed_sample_is_stored(client: TestClient, kind: str) -> None:
    await h.workspace()
    key = f"{kind.replace('_', '-')}-sample"
    await upsert_channel("acme", kind, key, SECRETS[kind], known_kinds=known_kinds())
    assert await _post_sample(client, kind, key) == 200
    assert await _counts() == (1, 1, 1)


async def test_disabled_refused_enabled_stored_rotated_needs_the_new_secret(
    client: TestClient,
) -> None:
    await h.workspace()
    await upsert_channel(
        "acme", "telegram", "tg-life-01", SECRETS["telegram"], known_kinds=known_kinds()
    )
    owner = await _owner()
    assert await set_active(owner, "tg-life-01", False) is True
    assert await _post_sample(client, "telegram", "tg-life-01") == 410
    assert await _counts() == (0, 0, 0)
    assert await set_active(owner, "tg-life-01", True) is True
    assert await _post_sample(client, "telegram", "tg-life-01") == 200
    await rotate_secret(owner, "tg-life-01", "secret_token", "tg-new")
    assert await _post_sample(client, "telegram", "tg-life-01") == 401  # the old secret
    audited = "SELECT action, target FROM audit_log WHERE action LIKE 'channel.%' ORDER BY id"
    assert await h.rows(audited) == [
        {"action": "channel.create", "target": "tg-life-01"},
        {"action": "channel.disable", "target": "tg-life-01"},
        {"action": "channel.enable", "target": "tg-life-01"},
        {"action": "channel.rotate_secret", "target": "tg-life-01"},
    ]


async def test_removing_a_channel_with_history_needs_force(client: TestClient) -> None:
    await h.workspace()
    await upsert_channel(
        "acme", "telegram", "tg-life-02", SECRETS["telegram"], known_kinds=known_kinds()
    )
    assert await _post_sample(client, "telegram", "tg-life-02") == 200
    owner = await _owner()
    with pytest.raises(Conflict, match="has 1 identities and 1 messages"):
        await remove_channel(owner, "tg-life-02")
    removed = await remove_channel(owner, "tg-life-02", force=True)
    assert (removed.identities, removed.messages) == (1, 1)
    assert await _counts() == (1, 0, 0)  # the contact stays
    assert await _post_sample(client, "telegram", "tg-life-02") == 404
