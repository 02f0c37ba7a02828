"""Block Kit rendering of replies: Slack's limits, escaping, button rows, cards, overflow."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bots.core import Button, Reply
from bots.i18n import lang
from bots.slack_blocks import (
    MAX_SECTIONS,
    SECTION_CHARS,
    Message,
    escape,
    merge_view,
    render,
    sections,
)

NOW = datetime(2026, 11, 21, 9, 30, 5, tzinfo=UTC)


def test_a_short_reply_is_one_section_with_escaped_text() -> None:
    reply = Reply("*Ana & Co* <ana@example.com>\n`#12`")
    assert render(reply, NOW) == Message(
        "*Ana &amp; Co* &lt;ana@example.com&gt;",
        [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Ana &amp; Co* &lt;ana@example.com&gt;\n`#12`",
                },
            }
        ],
    )


def test_sections_are_cut_at_line_ends_within_slacks_limit() -> None:
    lines = [f"{i:04d} " + "x" * 95 for i in range(100)]  # 100 lines of 100 characters
    chunks = sections("\n".join(lines))
    assert [len(c) for c in chunks] == [2928, 2928, 2928, 1312]  # 29, 29, 29 and 13 lines
    assert "\n".join(chunks) == "\n".join(lines)


def test_a_line_longer_than_a_section_is_cut_but_never_inside_an_entity() -> None:
    line = "a" * (SECTION_CHARS - 2) + "<b>" + "c" * 10
    chunks = sections(line)
    assert chunks == ["a" * (SECTION_CHARS - 2), "&lt;b&gt;" + "c" * 10]
    assert all(len(c) <= SECTION_CHARS for c in chunks)


def test_buttons_come_three_per_row_then_the_card_buttons() -> None:
    buttons = tuple(Button(f"Pick {i}", f"p:{i}:a.x.y") for i in range(3))
    reply = Reply(
        "Pick fields",
        buttons=(*buttons, Button("Cancel", "p:9:no.x.y", "danger")),
        contact_id=7,
        role="admin",
    )
    rows = render(reply, NOW).blocks[1:]
    assert [[e["action_id"] for e in row["elements"]] for row in rows] == [
        ["cg_btn_0", "cg_btn_1", "cg_btn_2"],
        ["cg_btn_3"],
        ["cg_card_show", "cg_card_borrar", "cg_card_merge"],
    ]
    assert rows[1]["elements"][0] == {
        "type": "button",
        "action_id": "cg_btn_3",
        "text": {"type": "plain_text", "text": "Cancel", "emoji": True},
        "value": "p:9:no.x.y",
        "style": "danger",
    }
    assert [e["value"] for e in rows[2]["elements"]] == ["7", "7", "7"]


def test_card_buttons_the_core_already_gave_are_not_repeated() -> None:
    reply = Reply(
        "*#7 Ana*", buttons=(Button("Tag Borrar", "borrar:7.x.y"),), contact_id=7, role="admin"
    )
    rows = render(replace(reply, lang=lang("en")), NOW).blocks[1:]
    assert [[e["text"]["text"] for e in row["elements"]] for row in rows] == [
        ["Tag Borrar"],
        ["Show", "Merge…"],
    ]
    spanish = Reply(
        "*#7 Ana*", (Button("Etiquetar Borrar", "borrar:7.x.y"),), contact_id=7, role="owner"
    )
    rows = render(spanish, NOW).blocks[1:]  # a reply with no person's language: the default
    assert [[e["text"]["text"] for e in row["elements"]] for row in rows] == [
        ["Etiquetar Borrar"],
        ["Mostrar", "Fusionar…"],
    ]


def test_a_long_label_is_shortened_to_slacks_75_characters() -> None:
    (row,) = render(Reply("x", buttons=(Button("L" * 90, "d"),)), NOW).blocks[1:]
    assert row["elements"][0]["text"]["text"] == "L" * 74 + "…"


def test_an_answer_over_the_section_budget_becomes_a_text_file() -> None:
    text = "*Results*\n" + "\n".join("y" * 99 for _ in range(30 * MAX_SECTIONS))
    message = render(Reply(text, buttons=(Button("Next", "n"),), lang=lang("en")), NOW)
    assert message.overflow is not None
    assert (message.overflow.name, message.overflow.mime, message.overflow.content) == (
        "contactgate-2026-11-21-093005.txt",
        "text/plain",
        text.encode(),
    )
    assert message.blocks[0]["text"]["text"] == (
        "*Results*\nThe full answer (301 lines) is too long for a message:"
        " it is in `contactgate-2026-11-21-093005.txt`."
    )
    assert message.blocks[1]["type"] == "actions"


def test_an_answer_at_the_section_budget_stays_inline() -> None:
    text = "\n".join("z" * 2999 for _ in range(MAX_SECTIONS))
    message = render(Reply(text), NOW)
    assert message.overflow is None
    assert len(message.blocks) == MAX_SECTIONS


def test_an_empty_reply_has_no_blocks() -> None:
    assert render(Reply(" \n"), NOW).blocks == []


def test_escape_leaves_markdown_alone() -> None:
    assert escape("*bold* `code` _it_ a<b>&c") == "*bold* `code` _it_ a&lt;b&gt;&amp;c"


def test_the_merge_dialog_carries_the_contact_and_chat() -> None:
    view = merge_view(12, "C0ADMINS1")
    assert (view["callback_id"], view["private_metadata"]) == (
        "cg_merge",
        '{"contact": 12, "chat": "C0ADMINS1"}',
    )
    assert view["blocks"][1]["block_id"] == "other"
    assert len(view["title"]["text"]) <= 24
