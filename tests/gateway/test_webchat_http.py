"""Web chat's HTTP rules through the app: CORS preflight and allow-list, per-visitor and per-IP
rate limits (429 + Retry-After), and a channel declared in the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from gateway import keys
from gateway.app import create_app
from gateway.channels import webchat as webchat_channel
from gateway.channels.base import WebhookRequest
from gateway.ratelimit import TokenBuckets
from gateway.settings import Settings, load_settings
from gateway.webchat import WebchatLimits
from store.models import Channel
from tests import helpers as h
from tests.gateway.test_webhooks_common import counts, inbound_metrics
from tests.gateway.test_webhooks_webchat import KEY, NOTHING, ORIGIN, SECRETS, acme, message

PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
JSON_FROM_PAGE = {"Content-Type": "application/json", "Origin": ORIGIN}


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def _limited(aiohttp_client: Any, settings: Settings, clock: Clock, hops: int) -> TestClient:
    app = create_app(settings)
    app[keys.WEBCHAT] = WebchatLimits(
        TokenBuckets(1, 4, clock=clock), TokenBuckets(1, 2, clock=clock), hops
    )
    client: TestClient = await aiohttp_client(app)
    return client


@pytest.fixture
async def limited(
    aiohttp_client: Any, settings: Settings, clock: Clock
) -> AsyncIterator[TestClient]:
    """The gateway with small limits: 2 per visitor, 4 per IP, each refilled at 1 a minute."""
    yield await _limited(aiohttp_client, settings, clock, 0)


@pytest.fixture
async def proxied(
    aiohttp_client: Any, settings: Settings, clock: Clock
) -> AsyncIterator[TestClient]:
    """The same limits behind one trusted proxy that appends the client to X-Forwarded-For."""
    yield await _limited(aiohttp_client, settings, clock, 1)


async def post(
    client: TestClient, body: dict[str, Any], origin: str | None = ORIGIN, **headers: str
) -> Any:
    sent = {"Content-Type": "application/json", **headers}
    if origin is not None:
        sent["Origin"] = origin
    return await client.post(f"/webhooks/{KEY}", data=orjson.dumps(body), headers=sent)


# --- CORS -------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [ORIGIN, "https://www.example.com"])
async def test_a_preflight_from_an_allowed_origin_is_answered(
    client: TestClient, origin: str
) -> None:
    await acme()
    headers = {**PREFLIGHT, "Origin": origin, "Access-Control-Request-Headers": "content-type"}
    resp = await client.options(f"/webhooks/{KEY}", headers=headers)
    assert resp.status == 204
    assert {k: v for k, v in resp.headers.items() if k.startswith(("Access-", "Vary"))} == {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "3600",
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


@pytest.mark.parametrize(
    ("origin", "status", "detail"),
    [
        ("https://evil.example.net", 403, "origin not allowed"),
        ("http://shop.example.com", 403, "origin not allowed"),
        ("null", 403, "origin not allowed"),
    ],
)
async def test_a_preflight_from_another_origin_is_refused(
    client: TestClient, origin: str, status: int, detail: str
) -> None:
    await acme()
    resp = await client.options(f"/webhooks/{KEY}", headers={**PREFLIGHT, "Origin": origin})
    assert (resp.status, (await resp.json())["detail"]) == (status, detail)
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_preflights_to_what_is_not_an_active_web_chat_are_refused(
    client: TestClient,
) -> None:
    await acme()
    telegram = await h.channel("telegram")
    not_preflight = await client.options(f"/webhooks/{KEY}", headers={"Origin": ORIGIN})
    other_kind = await client.options(f"/webhooks/{telegram.key}", headers=PREFLIGHT)
    unknown = await client.options("/webhooks/no-such-key", headers=PREFLIGHT)
    await Channel.filter(key=KEY).update(active=False)
    disabled = await client.options(f"/webhooks/{KEY}", headers=PREFLIGHT)
    statuses = [r.status for r in (not_preflight, other_kind, unknown, disabled)]
    assert statuses == [400, 405, 404, 410]
    assert (await other_kind.json())["detail"] == "telegram takes no CORS requests"


async def test_a_post_from_another_origin_is_403_and_stores_nothing(client: TestClient) -> None:
    await acme()
    resp = await post(client, message("visitor-aaaaaaaaaaaa", "1"), origin="https://evil.net")
    assert (resp.status, await resp.json()) == (
        403,
        {"error": "forbidden", "detail": "origin not allowed"},
    )
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert await counts() == NOTHING
    assert 'channel="webchat",outcome="rejected"} 1.0' in "".join(await inbound_metrics(client))


async def test_a_post_without_origin_is_served_without_cors_headers(client: TestClient) -> None:
    await acme()  # a server-side call: CORS only constrains browsers
    resp = await post(client, message("visitor-aaaaaaaaaaaa", "1"), origin=None)
    assert resp.status == 200
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert await counts() == {"contact": 1, "identity": 1, "message": 1, "held_message": 0}


# --- rate limits ------------------------------------------------------------------------------


async def test_a_visitor_over_its_limit_gets_429_with_retry_after(
    limited: TestClient, clock: Clock
) -> None:
    await acme()
    chatty = "visitor-chatty-000001"
    answers = [await post(limited, message(chatty, str(n))) for n in range(3)]
    assert [r.status for r in answers] == [200, 200, 429]
    refused = answers[2]
    assert await refused.json() == {
        "error": "rate_limited",
        "detail": "too many messages from this visitor",
    }
    assert refused.headers["Retry-After"] == "60"  # 1 a minute
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN  # the widget can read it
    assert "Retry-After" in refused.headers["Access-Control-Expose-Headers"]
    other = await post(limited, message("visitor-quiet-0000001", "0"))
    assert other.status == 200  # per visitor
    clock.now += 60
    retried = await post(limited, message(chatty, "2"))
    assert (retried.status, (await retried.json())["status"]) == (200, "accepted")
    assert await h.scalar("SELECT count(*) AS n FROM message") == 4


async def test_typing_events_count_against_the_visitor(limited: TestClient) -> None:
    await acme()
    typing = {"event": "typing", "visitor_id": "visitor-typist-00001"}
    assert [(await post(limited, typing)).status for _ in range(3)] == [200, 200, 429]


async def test_an_ip_over_its_limit_gets_429_whatever_the_visitor(limited: TestClient) -> None:
    await acme()
    statuses = [(await post(limited, message(f"visitor-{n:016d}", "1"))).status for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    refused = await post(limited, message("visitor-another-00001", "1"))
    assert (await refused.json())["detail"] == "too many requests from this address"
    assert await h.scalar("SELECT count(*) AS n FROM message") == 4


async def test_forwarded_for_is_ignored_without_a_trusted_proxy(limited: TestClient) -> None:
    await acme()
    spoofed = [
        await post(limited, message(f"visitor-{n:016d}", "1"), **{"X-Forwarded-For": f"10.0.0.{n}"})
        for n in range(5)
    ]
    assert [r.status for r in spoofed] == [200, 200, 200, 200, 429]


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_bucket(
    proxied: TestClient,
) -> None:
    await acme()

    async def from_ip(n: int, ip: str) -> int:
        forwarded = f"203.0.113.7, {ip}"  # the client's own claim, then what the proxy saw
        resp = await post(
            proxied, message(f"visitor-{n:016d}", "1"), **{"X-Forwarded-For": forwarded}
        )
        return resp.status

    assert [await from_ip(n, f"10.1.0.{n}") for n in range(6)] == [200] * 6
    assert [await from_ip(n, "10.9.9.9") for n in range(10, 15)] == [200] * 4 + [429]


# --- the one webhook pipeline -----------------------------------------------------------------


@pytest.mark.parametrize("public_url", [None, "https://gw.example.com"], ids=["direct", "proxied"])
async def test_web_chat_sees_the_public_url_as_every_channel_does(
    aiohttp_client: Any, db_url: str, monkeypatch: pytest.MonkeyPatch, public_url: str | None
) -> None:
    """Web chat signs nothing over the URL (only the visitor's identifier), so this checks the
    URL its verify() is given: the one every channel gets, CONTACTGATE_PUBLIC_URL behind a proxy
    (Twilio's signature test: tests/gateway/test_webhooks_twilio.py)."""
    seen: list[str] = []
    checked = webchat_channel.verify

    def verify(secrets: Mapping[str, str], request: WebhookRequest) -> None:
        seen.append(request.url)
        checked(secrets, request)

    monkeypatch.setattr(webchat_channel, "verify", verify)
    settings = load_settings(
        database_url=db_url, public_url=public_url, channel_cache_seconds=0, log_level="WARNING"
    )
    client: TestClient = await aiohttp_client(create_app(settings))
    await acme()
    path = f"/webhooks/{KEY}?v=2"
    resp = await client.post(
        path, data=orjson.dumps(message("visitor-aaaaaaaaaaaa", "1")), headers=JSON_FROM_PAGE
    )
    internal = str(client.make_url(path))
    assert (resp.status, seen) == (200, [f"{public_url}{path}" if public_url else internal])


# --- configuration ----------------------------------------------------------------------------


async def test_a_channel_declared_in_the_settings_serves_the_widget(
    aiohttp_client: Any, db_url: str
) -> None:
    settings = load_settings(
        database_url=db_url,
        channel_cache_seconds=0,
        log_level="WARNING",
        workspaces=[{"slug": "acme", "default_region": "EC"}],
        channels=[{"workspace": "acme", "kind": "webchat", "key": KEY, "secrets": SECRETS}],
    )
    client = await aiohttp_client(create_app(settings))
    preflight = await client.options(f"/webhooks/{KEY}", headers=PREFLIGHT)
    resp = await post(client, message("visitor-aaaaaaaaaaaa", "1"))
    assert (preflight.status, resp.status) == (204, 200)
    assert await counts() == {"contact": 1, "identity": 1, "message": 1, "held_message": 0}
