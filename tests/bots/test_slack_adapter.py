"""The Slack adapter with the real slack-bolt AsyncApp behind our aiohttp app, against a fake
Slack: signatures, the 3-second ack, routing to the core, delivery of replies and files.

The core is replaced by a recording stand-in here (what it returns is the point, not how it
decides); tests/bots/test_slack_commands.py drives the real core."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import orjson
import pytest

from bots import core
from bots.core import Button, ChatUser, Incoming, OutFile, Reply
from bots.i18n import code_of, lang
from tests.bots import slack_support
from tests.bots.fake_slack import BOT_TOKEN, TEAM, FakeSlack
from tests.bots.slack_support import (
    CHANNEL,
    USER,
    SlackHarness,
    button_body,
    command_body,
    payload_body,
    slack_headers,
)
from tests.signing import FIXTURES

# The Slack fixtures (until tests/bots/conftest.py imports them).
fake_slack, slack, sqlite_settings = (
    slack_support.fake_slack,
    slack_support.slack,
    slack_support.sqlite_settings,
)

ANA = ChatUser("slack", f"{TEAM}:{USER}", "ana")


EN = "en-US"  # the fake Slack's users.info locale for people a test did not set


class Core:
    """Records what reaches the core and answers with scripted replies."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.incoming: list[Incoming] = []
        self.pressed: list[tuple[ChatUser, str, str]] = []
        self.replies: list[Reply] = [Reply("ok")]
        self.gate: asyncio.Event | None = None
        monkeypatch.setattr(core, "dispatch", self.dispatch)
        monkeypatch.setattr(core, "press", self.press)

    async def dispatch(self, incoming: Incoming) -> list[Reply]:
        self.incoming.append(incoming)
        if self.gate is not None:
            await self.gate.wait()
        return self._said(incoming.language)

    async def press(
        self, user: ChatUser, data: str, chat_id: str, language: str | None = None
    ) -> list[Reply]:
        self.pressed.append((user, data, chat_id))
        return self._said(language)

    def _said(self, language: str | None) -> list[Reply]:
        """The replies in the language the adapter found (as the core marks them)."""
        return [replace(r, lang=lang(code_of(language))) for r in self.replies]


@pytest.fixture
def fake_core(monkeypatch: pytest.MonkeyPatch) -> Core:
    return Core(monkeypatch)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_a_command_reaches_the_core_and_the_answer_goes_to_the_response_url(
    slack: SlackHarness, fake_core: Core
) -> None:
    fake_core.replies = [
        Reply("*1 contact*\n#12 José <jose@example.com>", contact_id=12, role="admin")
    ]
    resp = await slack.command("search  josé")
    assert resp.status == 200
    assert await resp.text() == ""
    await slack.settle()
    assert fake_core.incoming == [Incoming(ANA, "search", "josé", CHANNEL, language=EN)]
    card = [
        {
            "type": "button",
            "action_id": f"cg_card_{kind}",
            "text": {"type": "plain_text", "text": label, "emoji": True},
            "value": "12",
        }
        for kind, label in (("show", "Show"), ("borrar", "Tag Borrar"), ("merge", "Merge…"))
    ]
    assert slack.answers() == [
        {
            "text": "*1 contact*",
            "blocks": [
                section("*1 contact*\n#12 José &lt;jose@example.com&gt;"),
                {"type": "actions", "elements": card},
            ],
            "response_type": "ephemeral",
            "replace_original": False,
        }
    ]
    # Bolt authorised the request once with auth.test, on the fake; Ana's locale was asked.
    assert [c.method for c in slack.fake.calls] == ["auth.test", "users.info", "response_url"]
    assert slack.fake.of("users.info")[0].body["include_locale"] == "1"


async def test_an_empty_command_is_help(slack: SlackHarness, fake_core: Core) -> None:
    await slack.command("   ")
    await slack.settle()
    assert fake_core.incoming == [Incoming(ANA, "help", "", CHANNEL, language=EN)]


async def test_the_subcommand_is_case_insensitive_and_the_rest_kept_verbatim(
    slack: SlackHarness, fake_core: Core
) -> None:
    await slack.command("NOTE #12  Called back,\nwill pay Monday")
    await slack.settle()
    assert fake_core.incoming == [
        Incoming(ANA, "note", "#12  Called back,\nwill pay Monday", CHANNEL, language=EN)
    ]


async def test_a_bad_signature_is_refused_and_nothing_runs(
    slack: SlackHarness, fake_core: Core
) -> None:
    body = command_body("delete #12", slack.fake.hook("cmd"))
    headers = slack_headers(body, secret="not-the-signing-secret")
    resp = await slack.post(body, headers)
    assert resp.status == 401
    tampered = body.replace(b"delete", b"search")
    resp = await slack.post(tampered, slack_headers(body))
    assert resp.status == 401
    await slack.settle()
    assert fake_core.incoming == []
    assert slack.fake.calls == []


async def test_a_stale_timestamp_is_refused_and_nothing_runs(
    slack: SlackHarness, fake_core: Core
) -> None:
    body = command_body("delete #12", slack.fake.hook("cmd"))
    resp = await slack.post(body, slack_headers(body, timestamp=int(time.time()) - 6 * 60))
    assert resp.status == 401
    resp = await slack.post(body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 401
    await slack.settle()
    assert fake_core.incoming == []
    assert slack.fake.calls == []


async def test_a_button_press_with_a_bad_signature_is_refused(
    slack: SlackHarness, fake_core: Core
) -> None:
    body = button_body("cg_btn_0", "m1.1795003600.9f8e7d6c5b4a3921", slack.fake.hook("act"))
    resp = await slack.post(body, slack_headers(body, secret="guess"))
    assert resp.status == 401
    await slack.settle()
    assert fake_core.pressed == []
    assert slack.fake.calls == []


async def test_an_oversized_or_non_utf8_body_is_refused_before_bolt(
    slack: SlackHarness, fake_core: Core
) -> None:
    huge = b"payload=" + b"x" * (1024 * 1024 + 1)
    assert (await slack.post(huge)).status == 413
    assert (await slack.post(b"text=\xff\xfe")).status == 400
    await slack.settle()
    assert fake_core.incoming == []
    assert slack.fake.calls == []


async def test_slow_work_is_acknowledged_at_once_and_answered_later(
    slack: SlackHarness, fake_core: Core
) -> None:
    fake_core.gate = asyncio.Event()
    fake_core.replies = [Reply("Exported 50000 contacts")]
    started = time.perf_counter()
    resp = await asyncio.wait_for(slack.command("export csv"), timeout=3)
    assert resp.status == 200
    assert time.perf_counter() - started < 1.0
    assert fake_core.incoming[0].command == "export"
    assert slack.answers() == []  # still working
    fake_core.gate.set()
    await slack.settle()
    assert [a["text"] for a in slack.answers()] == ["Exported 50000 contacts"]


async def test_a_file_is_uploaded_to_the_channel_with_files_upload_v2(
    slack: SlackHarness, fake_core: Core
) -> None:
    csv = "name,email\nJosé,jose@example.com\n".encode()
    fake_core.replies = [Reply("Exported 1 contact", file=OutFile("contacts.csv", csv, "text/csv"))]
    await slack.command("export csv")
    await slack.settle()
    calls = [c.method for c in slack.fake.calls]
    assert calls == [
        "auth.test",
        "users.info",  # Ana's locale, asked once
        "response_url",
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    (upload,) = slack.fake.uploads
    assert (upload.filename, upload.title, upload.content, upload.channel_id) == (
        "contacts.csv",
        "contacts.csv",
        csv,
        CHANNEL,
    )
    (url_call,) = slack.fake.of("files.getUploadURLExternal")
    assert url_call.body["length"] == str(len(csv))


async def test_a_file_the_bot_cannot_post_here_is_explained(
    slack: SlackHarness, fake_core: Core
) -> None:
    slack.fake.fail("files.completeUploadExternal", "not_in_channel")
    fake_core.replies = [Reply("Exported", file=OutFile("c.pdf", b"%PDF-1.4", "application/pdf"))]
    await slack.command("export pdf")
    await slack.settle()
    texts = [a["text"] for a in slack.answers()]
    assert texts[0] == "Exported"
    assert texts[1].startswith("I could not post `c.pdf` here: I am not in this conversation.")


async def test_an_answer_too_long_for_a_message_becomes_a_file(
    slack: SlackHarness, fake_core: Core
) -> None:
    lines = [f"#{i} Contact number {i} <c{i}@example.com> +593 99 {i:06d}" for i in range(800)]
    text = "*800 contacts*\n" + "\n".join(lines)
    fake_core.replies = [Reply(text, buttons=(Button("Next page", "n.1.x"),))]
    await slack.command("filter tag:vip")
    await slack.settle()
    (answer,) = slack.answers()
    blocks = answer["blocks"]
    assert blocks[0]["text"]["text"].startswith("*800 contacts*\nThe full answer (801 lines)")
    assert blocks[1]["elements"][0]["value"] == "n.1.x"
    (upload,) = slack.fake.uploads
    assert upload.content == text.encode()
    assert upload.filename.endswith(".txt")


async def test_a_button_goes_to_press_and_replaces_its_message(
    slack: SlackHarness, fake_core: Core
) -> None:
    fake_core.replies = [
        Reply("Merged #13 into #12", contact_id=12, replace=True),
        Reply("Undo with unmerge"),
    ]
    resp = await slack.press("cg_btn_0", "m1.1795003600.9f8e7d6c5b4a3921")
    assert resp.status == 200
    await slack.settle()
    assert fake_core.pressed == [(ANA, "m1.1795003600.9f8e7d6c5b4a3921", CHANNEL)]
    answers = slack.answers("act")
    assert [(a["text"], a["replace_original"]) for a in answers] == [
        ("Merged #13 into #12", True),
        ("Undo with unmerge", False),
    ]


@pytest.mark.parametrize(("kind", "command"), [("show", "show"), ("borrar", "borrar")])
async def test_card_buttons_run_the_command_on_their_contact(
    slack: SlackHarness, fake_core: Core, kind: str, command: str
) -> None:
    await slack.press(f"cg_card_{kind}", "12")
    await slack.settle()
    assert fake_core.incoming == [Incoming(ANA, command, "#12", CHANNEL, language=EN)]
    assert [a["replace_original"] for a in slack.answers("act")] == [False]


async def test_a_forged_card_value_runs_nothing(slack: SlackHarness, fake_core: Core) -> None:
    await slack.press("cg_card_show", "12; delete-all")
    await slack.settle()
    assert fake_core.incoming == []
    assert [a["text"] for a in slack.answers("act")] == ["That button is not one of mine."]


async def test_the_card_merge_button_opens_a_dialog_whose_answer_is_a_merge(
    slack: SlackHarness, fake_core: Core
) -> None:
    await slack.press("cg_card_merge", "12")
    await slack.settle()
    (opened,) = slack.fake.of("views.open")
    view = opened.body["view"]
    assert opened.body["trigger_id"] == "13345224609.738474920.8088930838d88f008e1"
    assert (view["callback_id"], orjson.loads(view["private_metadata"])) == (
        "cg_merge",
        {"contact": 12, "chat": CHANNEL},
    )
    fake_core.replies = [Reply("Merge preview", buttons=(Button("Confirm", "m.1.x", "primary"),))]
    resp = await slack.post(payload_body("view_submission__merge.json"))
    assert resp.status == 200
    await slack.settle()
    assert fake_core.incoming == [
        Incoming(ANA, "merge", "#12 ana@example.com", CHANNEL, language=EN)
    ]
    (posted,) = slack.fake.of("chat.postEphemeral")
    assert (posted.body["channel"], posted.body["user"], posted.body["text"]) == (
        CHANNEL,
        USER,
        "Merge preview",
    )


async def test_an_empty_merge_dialog_is_answered_with_a_field_error(
    slack: SlackHarness, fake_core: Core
) -> None:
    payload = orjson.loads((FIXTURES / "slack" / "view_submission__merge.json").read_bytes())
    payload["view"]["state"]["values"]["other"]["value"]["value"] = "  "
    resp = await slack.post(payload_body("view_submission__merge.json", view=payload["view"]))
    assert resp.status == 200
    assert await resp.json() == {
        "response_action": "errors",
        "errors": {"other": "Say which contact to merge."},
    }
    await slack.settle()
    assert fake_core.incoming == []


async def test_an_expired_response_url_falls_back_to_an_ephemeral_message(
    slack: SlackHarness, fake_core: Core
) -> None:
    slack.fake.fail("response_url", "expired_url")
    await slack.command("whoami")
    await slack.settle()
    (posted,) = slack.fake.of("chat.postEphemeral")
    assert (posted.body["channel"], posted.body["user"], posted.body["text"]) == (
        CHANNEL,
        USER,
        "ok",
    )
    assert posted.headers["Authorization"] == f"Bearer {BOT_TOKEN}"


async def test_an_unexpected_failure_is_logged_and_told(
    slack: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(incoming: Incoming) -> list[Reply]:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(core, "dispatch", broken)
    await slack.command("plan")
    await slack.settle()
    assert [a["text"] for a in slack.answers()] == [
        "Something went wrong on my side; it has been logged. Please try again."
    ]


async def test_import_downloads_the_shared_file_with_the_bot_token(
    slack: SlackHarness, fake_core: Core
) -> None:
    await slack.bind("admin")
    csv = "name,email\r\nJosé,jose@example.com\r\n".encode("latin-1")
    shared = slack.fake.share("people.csv", csv)
    link = f"https://acme.slack.com/files/{USER}/{shared.id}/people.csv"
    await slack.command(f"import <{link}> --tag fair")
    await slack.settle()
    (incoming,) = fake_core.incoming
    assert (incoming.command, incoming.text) == ("import", "--tag fair")
    assert incoming.file is not None
    assert (incoming.file.name, incoming.file.content) == ("people.csv", csv)
    (download,) = slack.fake.of("download")
    assert download.headers["Authorization"] == f"Bearer {BOT_TOKEN}"


async def test_import_of_a_file_the_bot_cannot_see_is_explained(
    slack: SlackHarness, fake_core: Core
) -> None:
    await slack.bind("owner")
    await slack.command("import F0NOTHERE1")
    await slack.settle()
    assert fake_core.incoming == []
    (answer,) = slack.answers()
    assert answer["text"].startswith("I cannot see file `F0NOTHERE1`.")


@pytest.mark.parametrize("role", [None, "agent"])
async def test_import_by_a_user_who_may_not_import_downloads_nothing(
    slack: SlackHarness, fake_core: Core, role: str | None
) -> None:
    if role:
        await slack.bind(role)
    shared = slack.fake.share("people.csv", b"name\nAna\n")
    await slack.command(f"import {shared.id}")
    await slack.settle()
    assert fake_core.incoming == [Incoming(ANA, "import", shared.id, CHANNEL, language=EN)]
    assert slack.fake.of("files.info") == slack.fake.of("download") == []


async def test_import_without_a_file_goes_to_the_core_for_its_usage(
    slack: SlackHarness, fake_core: Core
) -> None:
    await slack.command("import")
    await slack.settle()
    assert fake_core.incoming == [Incoming(ANA, "import", "", CHANNEL, language=EN)]


async def test_notifications_are_posted_and_a_refusal_raises(slack: SlackHarness) -> None:
    await slack.bot.send("C0NOTIFY1", Reply("*Plan*: 80 % of 1000 contacts used"))
    (posted,) = slack.fake.of("chat.postMessage")
    assert (posted.body["channel"], posted.body["text"]) == (
        "C0NOTIFY1",
        "*Plan*: 80 % of 1000 contacts used",
    )
    slack.fake.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(Exception, match="channel_not_found"):
        await slack.bot.send("C0GONE001", Reply("again"))


async def test_the_bot_is_not_mounted_without_token_and_secret(
    aiohttp_client: Any, sqlite_settings: Any, fake_slack: FakeSlack
) -> None:
    from gateway.app import create_app

    client = await aiohttp_client(create_app(sqlite_settings))
    body = command_body("help", fake_slack.hook("cmd"))
    resp = await client.post("/slack/events", data=body, headers=slack_headers(body))
    assert resp.status in (404, 405)
