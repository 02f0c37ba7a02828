"""Consent from what people write: STOP / BAJA opt an identity out, START / ALTA back in; the
API shows it, filters find it, sending refuses it (409 opted_out), an event says it."""

from __future__ import annotations

from typing import Any

import orjson

from store.inbound import consent
from store.setup import set_consent_words
from tests import helpers as h
from tests.gateway.api.people import SEND_SECRETS, person
from tests.gateway.api.support import WS, Api

KEY = f"telegram-{WS}-key"
SECRET = SEND_SECRETS["telegram"]["secret_token"]


async def _write(api: Api, user: int, text: str) -> None:
    reply = await h.send_telegram(api.client, KEY, h.telegram_update(user, text), SECRET)
    assert reply.status == 200, await reply.text()


async def _shown(api: Api, cid: int) -> tuple[bool, list[Any]]:
    got = await api("GET", f"/contacts/{cid}")
    return got.body["opted_out"], [i["opted_out_at"] is not None for i in got.body["identities"]]


async def test_stop_opts_out_alta_opts_back_in(api: Api) -> None:
    consent.forget()
    hook = await api("POST", "/event-subscriptions", json={"url": "https://crm.example/hook"})
    assert hook.status == 201
    cid = await person(api, "telegram", "7001")
    await _write(api, 7001, "¿Tienen envíos a Cuenca?")  # conversation, not a keyword
    assert await _shown(api, cid) == (False, [False])
    await _write(api, 7001, " ¡Baja! ")
    assert await _shown(api, cid) == (True, [True])
    listed = await api("GET", "/contacts", params={"filter": "opted_out:true"})
    assert [c["id"] for c in listed.body["contacts"]] == [cid]
    others = await api("GET", "/contacts", params={"filter": "opted_out:no"})
    assert cid not in [c["id"] for c in others.body["contacts"]]
    refused = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    assert (refused.status, refused.body["error"]) == (409, "opted_out")
    assert refused.body["detail"].startswith(f"contact #{cid} opted out on telegram")
    await _write(api, 7001, "STOP")  # already out: nothing changes, nothing is said
    await _write(api, 7001, "alta")
    assert await _shown(api, cid) == (False, [False])
    sent = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola de nuevo"})
    assert sent.status == 201, sent.body
    lines = await h.rows(
        "SELECT actor, action, target, detail FROM audit_log WHERE action = 'contact.consent'"
        " ORDER BY id"
    )
    said = [orjson.loads(r["detail"])["opted_out"] if isinstance(r["detail"], str)
            else r["detail"]["opted_out"] for r in lines]  # fmt: skip
    assert said == [True, False] and {r["actor"] for r in lines} == {"inbound"}
    events = await h.rows(
        "SELECT payload FROM outbox_event WHERE type = 'contact.updated' ORDER BY id"
    )
    data = [orjson.loads(e["payload"])["data"] for e in events]
    assert [(d["contact"]["opted_out"], d["source"]) for d in data] == [
        (True, "inbound"),
        (False, "inbound"),
    ]


async def test_a_workspace_sets_its_own_words(api: Api) -> None:
    cid = await person(api, "telegram", "7002")
    words = await set_consent_words(WS, ["No más mensajes"], None)
    assert words == {"opt_out": ["No más mensajes"], "opt_in": list(consent.OPT_IN)}
    await _write(api, 7002, "STOP")  # not one of this workspace's words any more
    assert await _shown(api, cid) == (False, [False])
    await _write(api, 7002, "NO MAS MENSAJES.")
    assert await _shown(api, cid) == (True, [True])
    back = await set_consent_words(WS, [], None)  # an empty list: the defaults again
    assert back["opt_out"] == list(consent.OPT_OUT)


async def test_folding_and_what_is_not_a_keyword() -> None:
    assert consent.folded("  ¡BÁJA!  ") == "baja"
    assert consent.folded("Stop.") == "stop"
    assert consent.folded("stop please") == "stop please"
    assert consent.clean_words([" STOP ", "", "x" * 41, "STOP", "Alto"]) == ["STOP", "Alto"]
