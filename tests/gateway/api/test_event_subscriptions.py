"""/api/v1/event-subscriptions on both databases: create (the secret shown once), list, show,
deliveries, test, rotate, remove, refusals, audit; and end to end, the gateway's own deliverer
posting a contact created through the API to a local receiver, signed."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from standardwebhooks.webhooks import Webhook

from gateway.api.schemas import SCHEMAS
from gateway.app import create_app
from gateway.settings import Settings
from store.outbox import TYPES
from tests.fake_receiver import FakeReceiver
from tests.gateway.api.support import TIME, Api, audit_rows, error, stable, tokens

URL = "https://crm.example/hooks/contactgate?team=7"


def _shown(sub_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": sub_id,
        "url": URL,
        "types": [],
        "description": "",
        "active": True,
        "created_at": TIME,
        "failing_since": None,
        "disabled_at": None,
        **changes,
    }


async def test_create_shows_the_secret_once_then_list_and_show_never(api: Api) -> None:
    made = await api(
        "POST",
        "/event-subscriptions",
        json={"url": URL, "types": ["contact.created", "contact.created", "message.received"]},
    )
    assert made.status == 201
    secret = made.body.pop("secret")
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    Webhook(secret)  # the library takes it as it is
    sub_id = made.body["id"]
    types = ["contact.created", "message.received"]
    assert stable(made.body) == _shown(sub_id, types=types)
    listed = await api("GET", "/event-subscriptions")
    assert stable(listed.body) == {"subscriptions": [_shown(sub_id, types=types)]}
    shown = await api("GET", f"/event-subscriptions/{sub_id}")
    assert (shown.status, stable(shown.body)) == (200, _shown(sub_id, types=types))
    assert secret not in str(listed.body) + str(shown.body)
    assert [(a, t) for _actor, a, t, _d in await audit_rows()][-1] == (
        "subscription.create",
        f"sub:{sub_id}",
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"url": "ftp://crm.example/x"},
            "url: an absolute http or https URL, where events are POSTed",
        ),
        ({"url": "https://crm.example/x", "types": ["contact.poked"]}, None),
    ],
)
async def test_bad_subscriptions_are_422(
    api: Api, body: dict[str, Any], detail: str | None
) -> None:
    reply = await api("POST", "/event-subscriptions", json=body)
    assert reply.status == 422 and reply.body["error"] == "invalid"
    if detail:
        assert reply.body["detail"] == detail
    assert (await api("GET", "/event-subscriptions")).body == {"subscriptions": []}


async def test_deliveries_test_rotate_and_remove(api: Api) -> None:
    sub_id = (await api("POST", "/event-subscriptions", json={"url": URL})).body["id"]
    await api.create(name="Ana")
    queued = await api("POST", f"/event-subscriptions/{sub_id}/test")
    assert queued.status == 202
    assert stable(queued.body) | {"event_id": "msg"} == {
        "id": queued.body["id"], "event_id": "msg", "type": "test", "contact_id": None,
        "state": "pending", "attempts": 0, "last_status": None, "last_error": None,
        "created_at": TIME, "next_try_at": TIME, "delivered_at": None,
    }  # fmt: skip
    listed = await api("GET", f"/event-subscriptions/{sub_id}/deliveries")
    assert [(d["type"], d["state"]) for d in listed.body["deliveries"]] == [
        ("test", "pending"),
        ("contact.created", "pending"),
    ]
    page = await api(
        "GET",
        f"/event-subscriptions/{sub_id}/deliveries",
        params={"before": str(queued.body["id"]), "limit": "1"},
    )
    assert [d["type"] for d in page.body["deliveries"]] == ["contact.created"]
    rotated = await api("POST", f"/event-subscriptions/{sub_id}/rotate")
    assert rotated.status == 200 and rotated.body["secret"].startswith("whsec_")
    assert rotated.body["previous_valid_until"].endswith("Z")
    gone = await api("DELETE", f"/event-subscriptions/{sub_id}")
    assert gone.body == {"deleted": sub_id}
    again = await api("GET", f"/event-subscriptions/{sub_id}")
    assert (again.status, again.body) == (
        404,
        error("not_found", f"no event subscription {sub_id}"),
    )
    actions = [a for _actor, a, _t, _d in await audit_rows()]
    assert actions[-4:] == [
        "contact.create",
        "subscription.test",
        "subscription.rotate",
        "subscription.remove",
    ]


async def test_another_workspaces_subscription_is_not_found(api: Api) -> None:
    other = await tokens("other")
    mine = (await api("POST", "/event-subscriptions", json={"url": URL})).body["id"]
    theirs = Api(api.client, other)
    for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/rotate"), ("POST", "/test")):
        reply = await theirs(method, f"/event-subscriptions/{mine}{suffix}")
        assert (reply.status, reply.body["error"]) == (404, "not_found")


def test_the_schema_names_every_event_type() -> None:
    items = SCHEMAS["SubscriptionInput"]["properties"]["types"]["items"]
    assert items == {"enum": list(TYPES)}


@pytest.fixture
async def receiver() -> Any:
    async with FakeReceiver() as fake:
        yield fake


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"events_out": True, "events_out_idle_seconds": 0.05})


async def test_the_gateway_delivers_a_contact_made_through_the_api(
    aiohttp_client: Any, live_settings: Settings, receiver: FakeReceiver
) -> None:
    client: TestClient = await aiohttp_client(create_app(live_settings))
    live = Api(client, await tokens())
    made = await live("POST", "/event-subscriptions", json={"url": receiver.hook()})
    contact = await live.create(name="Ana", email="ana@example.com")
    await asyncio.wait_for(receiver.wait_until(lambda: len(receiver.calls) == 1), 10)
    body = Webhook(made.body["secret"]).verify(receiver.calls[0].raw, receiver.calls[0].headers)
    assert body["type"] == "contact.created"
    assert body["data"] == {"contact": contact, "source": "api"}  # the API's own shape
    path = f"/event-subscriptions/{made.body['id']}/deliveries"
    for _ in range(200):  # the deliverer records the answer right after the receiver has it
        states = [
            (d["state"], d["last_status"]) for d in (await live("GET", path)).body["deliveries"]
        ]
        if states != [("pending", None)]:
            break
        await asyncio.sleep(0.02)
    assert states == [("delivered", 204)]
