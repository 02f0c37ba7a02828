"""GET /contacts/{ref}/data: one archive with everything stored about a person."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from typing import Any

import orjson

from tests import helpers as h
from tests.gateway.api.people import person
from tests.gateway.api.support import Api, workspace_id

WHEN = datetime(2001, 5, 4, 3, 2, 1, tzinfo=UTC)


async def _park(table: str, channel: int, external_id: str, pmid: str, **extra: Any) -> None:
    """A held message or a waiting multipart part, written as the writer leaves them."""
    ws = await workspace_id()
    inbound = orjson.dumps({"external_id": external_id, "text": f"parked {pmid}"}).decode()
    columns = {
        **{"workspace_id": ws, "channel_id": channel, "external_id": external_id},
        **{"provider_message_id": pmid, "inbound": inbound, "received_at": WHEN, **extra},
    }
    names = ", ".join(columns)
    await h.rows(
        f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})",
        *columns.values(),
    )


async def _world(api: Api) -> tuple[int, int, int]:
    """Ana wrote on Telegram and on WhatsApp (two contacts, then merged), has a note and a tag;
    an SMS from her phone waits at the cap, half a multipart SMS from her waits for its other
    half; Bruno wrote too. (Ana, her merged-away WhatsApp contact, Bruno)."""
    ana = await person(api, "telegram", "4242", display_name="Ana Díaz")
    wa = await person(
        api, "whatsapp", "593991234567", display_name="Ana WhatsApp", phone="+593991234567"
    )
    bruno = await person(api, "telegram", "5151", display_name="Bruno")
    assert (
        await api("POST", f"/contacts/{ana}/notes", json={"body": "Prefiere correo"})
    ).status == 201
    assert (await api("POST", f"/contacts/{ana}/tags", json={"tags": ["vip"]})).status == 200
    merged = await api("POST", f"/contacts/{ana}/merge", json={"secondary": str(wa)})
    assert merged.status == 200, merged.body
    sms = await h.channel("twilio_sms")
    await _park("held_message", sms.id, "+593991234567", "SM-held-1")
    await _park("held_message", sms.id, "+593990000000", "SM-held-other")
    await _park("message_part", sms.id, "+593991234567", "SM-part-1", ref="7", number=1, total=2,
                set_key="SM-part-1")  # fmt: skip
    return ana, wa, bruno


def _open(body: bytes) -> tuple[zipfile.ZipFile, dict[str, Any]]:
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    return archive, orjson.loads(archive.read("person.json"))


def _lines(archive: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in archive.read(name).splitlines()]


async def test_the_archive_holds_everything_about_the_person(api: Api) -> None:
    ana, wa, bruno = await _world(api)
    reply = await api("GET", f"/contacts/{ana}/data", role="admin")
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"] == "application/zip"
    assert reply.headers["Content-Disposition"].startswith(f'attachment; filename="contact-{ana}-')
    archive, profile = _open(reply.body)
    assert archive.namelist() == [
        "person.json", "messages.jsonl", "held_messages.jsonl", "message_parts.jsonl",
        "audit.jsonl", "summary.txt",
    ]  # fmt: skip
    assert profile["contact"]["id"] == ana and profile["contact"]["tags"] == ["vip"]
    assert [c["id"] for c in profile["merged_contacts"]] == [wa]
    assert sorted(i["channel_kind"] for i in profile["identities"]) == ["telegram", "whatsapp"]
    assert [n["body"] for n in profile["notes"]] == ["Prefiere correo"]
    assert [(m["primary_id"], m["secondary_id"]) for m in profile["merges"]] == [(ana, wa)]
    assert profile["merges"][0]["snapshot"]  # what unmerge would restore is hers too
    messages = _lines(archive, "messages.jsonl")
    assert sorted(m["channel_kind"] for m in messages) == ["telegram", "whatsapp"]
    assert all(m["content"]["type"] == "text" and m["text"] == "hola" for m in messages)
    assert [m["provider_message_id"] for m in _lines(archive, "held_messages.jsonl")] == [
        "SM-held-1"
    ]
    parts = _lines(archive, "message_parts.jsonl")
    assert [(p["provider_message_id"], p["number"], p["total"]) for p in parts] == [
        ("SM-part-1", 1, 2)
    ]
    actions = [(line["action"], line["target"]) for line in _lines(archive, "audit.jsonl")]
    assert ("note.add", f"#{ana}") in actions and ("contact.merge", f"#{ana}") in actions
    text = archive.read("summary.txt").decode()
    assert text.startswith(f"Data held about Ana Díaz (contact #{ana})\n")
    for line in ("  messages: 2", "  held messages: 1", "  message parts: 1", "  identities: 2",
                 "  merged contacts: 1", "  tags: vip"):  # fmt: skip
        assert line in text.splitlines(), text
    whole = reply.body + b"".join(archive.read(n) for n in archive.namelist())
    assert b"Bruno" not in whole and b"5151" not in whole and b"SM-held-other" not in whole
    logged = await h.rows(
        "SELECT actor, target, detail FROM audit_log WHERE action = 'contact.data'"
    )
    assert [(r["actor"], r["target"]) for r in logged] == [("token:admin-bot", f"#{ana}")]
    assert bruno != ana


async def test_a_merged_away_id_gives_the_person_it_was_merged_into(api: Api) -> None:
    ana, wa, _ = await _world(api)
    reply = await api("GET", f"/contacts/{wa}/data")
    _archive, profile = _open(reply.body)
    assert profile["contact"]["id"] == ana


async def test_who_may_ask_and_for_whom(api: Api) -> None:
    ana, _, _ = await _world(api)
    refused = await api("GET", f"/contacts/{ana}/data", role="agent")
    assert refused.status == 403
    missing = await api("GET", "/contacts/999999/data")
    assert (missing.status, missing.body["error"]) == (404, "not_found")
    by_phone = await api("GET", "/contacts/phone:+593991234567/data")
    assert by_phone.status == 200 and _open(by_phone.body)[1]["contact"]["id"] == ana
    assert await h.scalar("SELECT count(*) FROM audit_log WHERE action = 'contact.data'") == 1
