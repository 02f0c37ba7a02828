"""Instagram's shared posts and reels, story mentions and story replies have typed content with
their URL (the API's SharedContent) and words on the chat card; they are not `unsupported`."""

from __future__ import annotations

import pytest

from bots.i18n import lang
from bots.render import describe
from store.content import content_of

URL = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=25"
CASES = [  # type, text, media, meta -> content, card
    (
        "share",
        None,
        [{"kind": "share", "source": "ig_reel", "url": URL, "title": "How we pack"}],
        {},
        {"type": "share", "text": None, "url": URL, "title": "How we pack"},
        f"🔗 Shared post: How we pack — {URL}",
    ),
    (
        "story_mention",
        None,
        [{"kind": "story_mention", "url": URL}],
        {},
        {"type": "story_mention", "text": None, "url": URL, "title": None},
        f"📣 Mentioned you in a story: {URL}",
    ),
    (
        "story_reply",
        "Love this one!",
        None,
        {"reply_to_story": {"id": "1789", "url": URL}},
        {"type": "story_reply", "text": "Love this one!", "url": URL, "title": None},
        f"💬 Replied to your story: Love this one! — {URL}",
    ),
]


@pytest.mark.parametrize(("type_", "text", "media", "meta", "content", "card"), CASES)
def test_instagram_shares_and_stories_have_content_and_words(
    type_: str, text: str | None, media: object, meta: dict, content: dict, card: str
) -> None:
    assert content_of("instagram", type_, text, media, meta) == content
    assert describe(lang("en"), content) == card
