"""Contact cards: on Slack only the buttons the person's role may use (an agent gets no Merge…,
which would be refused after filling its dialog); a merged-away id says where it went. In
Spanish and English."""

from __future__ import annotations

import pytest

from store import db, merge
from tests.bots import slack_support
from tests.bots.chat import TelegramChat
from tests.bots.people import admin_actor, people
from tests.bots.slack_support import SlackHarness

fake_slack, slack, sqlite_settings = (
    slack_support.fake_slack,
    slack_support.slack,
    slack_support.sqlite_settings,
)
AGENT = 300


async def speak(code: str) -> None:
    """Everyone bound to acme speaks `code` to the bots."""
    async with db.raw_transaction() as tx:
        await tx.execute("UPDATE admin_binding SET language = ?", [code])


LABELS = {  # the adapter's own card buttons (Tag Borrar comes with the core's card)
    "en": (["Show"], ["Show", "Merge…"]),
    "es": (["Mostrar"], ["Mostrar", "Fusionar…"]),
}


@pytest.mark.parametrize("code", ["es", "en"])
async def test_an_agent_gets_no_merge_button_an_admin_does(slack: SlackHarness, code: str) -> None:
    await slack.bind("agent", "U0AGENT01")
    await slack.bind("admin", "U0ADMIN01")
    await people()
    await speak(code)

    async def card_labels(user: str) -> list[str]:
        hook = f"c{len(slack.fake.calls)}"
        await slack.command("show #4", hook=hook, user_id=user, user_name=user.lower())
        await slack.settle()
        [answer] = slack.answers(hook)
        return [
            e["text"]["text"]
            for b in answer["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"].startswith("cg_card_")
        ]

    assert (await card_labels("U0AGENT01"), await card_labels("U0ADMIN01")) == LABELS[code]


@pytest.mark.parametrize("code", ["es", "en"])
async def test_a_merged_away_id_says_where_it_went_on_telegram(tg: TelegramChat, code: str) -> None:
    ids = await people()
    await merge.merge(await admin_actor(), ids["ana"], ids["gomez"])
    await speak(code)
    [shown] = await tg.texts(f"/{'mostrar' if code == 'es' else 'show'} #2", AGENT)
    assert shown.splitlines()[:2] == [
        "#2 se fusionó con #1." if code == "es" else "#2 was merged into #1.",
        "<b>#1 Ana Pérez</b>",
    ]
    [direct] = await tg.texts("/show #1", AGENT)
    assert direct.splitlines()[0] == "<b>#1 Ana Pérez</b>"


@pytest.mark.parametrize("code", ["es", "en"])
async def test_a_merged_away_id_says_where_it_went_on_slack(slack: SlackHarness, code: str) -> None:
    await slack.bind("agent", "U0AGENT01")
    ids = await people()
    await merge.merge(await admin_actor(), ids["ana"], ids["gomez"])
    await speak(code)
    hook = f"c{len(slack.fake.calls)}"
    await slack.command("show #2", hook=hook, user_id="U0AGENT01", user_name="agent")
    await slack.settle()
    [answer] = slack.answers(hook)
    assert answer["blocks"][0]["text"]["text"].splitlines()[:2] == [
        "#2 se fusionó con #1." if code == "es" else "#2 was merged into #1.",
        "*#1 Ana Pérez*",
    ]
