"""A Slack contact card offers only the buttons the person's role may use (an agent gets no
Merge…, which would be refused after filling its dialog), in Spanish and English."""

from __future__ import annotations

import pytest

from store import db
from tests.bots import slack_support
from tests.bots.people import people
from tests.bots.slack_support import SlackHarness

fake_slack, slack, sqlite_settings = (
    slack_support.fake_slack,
    slack_support.slack,
    slack_support.sqlite_settings,
)
LABELS = {  # the adapter's own card buttons (Tag Borrar comes with the core's card)
    "en": (["Show"], ["Show", "Merge…"]),
    "es": (["Mostrar"], ["Mostrar", "Fusionar…"]),
}


@pytest.mark.parametrize("code", ["es", "en"])
async def test_an_agent_gets_no_merge_button_an_admin_does(slack: SlackHarness, code: str) -> None:
    await slack.bind("agent", "U0AGENT01")
    await slack.bind("admin", "U0ADMIN01")
    await people()
    async with db.raw_transaction() as tx:
        await tx.execute("UPDATE admin_binding SET language = ?", [code])

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
