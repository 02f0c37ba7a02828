"""Messenger and Instagram: parse() against Meta messaging webhooks (verify() and handshake(),
the same for every Meta kind: tests/gateway/test_channel_meta_hub.py)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.channels import meta
from gateway.channels.base import (
    Inbound,
    ParseResult,
    PayloadError,
    StatusUpdate,
    WebhookRequest,
)
from tests.signing import FIXTURES, load_fixture

URL = "https://gw.example.com/hooks/messenger/5"
PAGE = "104938205527419"
PSID = "6732519843385021"
PSID2 = "7014828936152370"
IG = "17841405822304914"
IGSID = "1128364749382736"
OUR_MESSAGE = (
    "m_OurPageMessage0001Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1Jh0Gf9Ed8Cb7Aa6Zz5Yy4Xx3Ww2Vv1Uu0Tt9Ss8Rr"
)
CDN = "&ccb=1-7&oh=03_Q7cD1PlaceholderHash&oe=69A1B2C3"


def mid(n: int) -> str:
    return f"m_Qx7Vd2kLp9sT4uW1yZ3bC6dE9fG2hJ4kL7mN0pQ8rS{n:04d}aB5cD6eF7gH8iJ9kL0mN1oP2qR3sT4uVw"


def igmid(n: int) -> str:
    return (
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMTI0"
        f"NDI1OTk3NTk1NTc4MjQ4ODM2NzozMTM1OTk2MzQ5NTgx{n:04d}ZDZD"
    )


def lookaside(n: int) -> str:
    return (
        f"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1790{n:011d}"
        f"&signature=AbzPlaceholderSignature{n}"
    )


def at(minute: int, second: int = 0) -> datetime:
    """The fixtures' times: 2026-01-01 10:mm:ss.250 UTC (Meta sends milliseconds)."""
    return datetime(2026, 1, 1, 10, minute, second, 250_000, tzinfo=UTC)


def millis(minute: int, second: int = 0) -> int:
    return int(at(minute, second).timestamp() * 1000)


def post(body: bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    return WebhookRequest("POST", URL, headers or {}, {}, body)


def messenger(name: str) -> ParseResult:
    return meta.parse("messenger", post(load_fixture("messenger", f"{name}.json")))


def instagram(name: str) -> ParseResult:
    return meta.parse("instagram", post(load_fixture("instagram", f"{name}.json")))


def parse_json(payload: Any, kind: str = "messenger") -> ParseResult:
    return meta.parse(kind, post(json.dumps(payload).encode()))


def from_psid(**fields: Any) -> Inbound:
    """A message of the first customer to our Page."""
    fields["meta"] = {"recipient": PAGE, **fields.get("meta", {})}
    return Inbound(external_id=PSID, **fields)


def from_igsid(**fields: Any) -> Inbound:
    """A message of the Instagram customer to our professional account."""
    fields["meta"] = {"recipient": IG, **fields.get("meta", {})}
    return Inbound(external_id=IGSID, **fields)


# --- module contract ----------------------------------------------------------------------------


def test_module_contract() -> None:
    assert meta.KINDS == ("messenger", "instagram")
    assert meta.SECRETS == ("app_secret", "verify_token")
    assert meta.MAX_BODY == 1024 * 1024
    assert (meta.ACK.status, meta.ACK.body) == (200, b"EVENT_RECEIVED")


# --- Messenger: one test per fixture ----------------------------------------------------------


def test_messenger_text() -> None:
    assert messenger("text") == ParseResult(
        messages=[
            Inbound(
                external_id=PSID,
                provider_message_id=mid(1),
                type="text",
                sent_at=at(1),
                text="Hi, has my order #1001 shipped?",
                meta={"recipient": PAGE},
            )
        ],
        ignored=0,
        unsupported=[],
    )


def test_messenger_image() -> None:
    assert messenger("image") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=mid(2),
                type="image",
                sent_at=at(2),
                media=[
                    {
                        "kind": "image",
                        "url": "https://scontent.xx.fbcdn.net/v/t1.15752-9/4711002_n.jpg"
                        "?_nc_cat=102&ccb=1-7&_nc_sid=fc17b8&oh=03_Q7cD1PlaceholderHash&oe=69A1B2C3",
                    }
                ],
            )
        ]
    )


def test_messenger_audio() -> None:
    clip = "audioclip-1767261780000-2816.mp4"
    assert messenger("audio") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=mid(3),
                type="audio",
                sent_at=at(3),
                media=[
                    {
                        "kind": "audio",
                        "url": f"https://cdn.fbsbx.com/v/t59.3654-21/471100003_{clip}/{clip}"
                        f"?_nc_cat=103{CDN}",
                    }
                ],
            )
        ]
    )


def test_messenger_video() -> None:
    assert messenger("video") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=mid(4),
                type="video",
                sent_at=at(4),
                text="See the scratch",
                media=[
                    {
                        "kind": "video",
                        "url": "https://video.xx.fbcdn.net/v/t42.3356-2/471100004_n.mp4"
                        "?_nc_cat=104&ccb=1-7&vabr=1&oh=00_AfPlaceholderHash&oe=69A1B2C3",
                    }
                ],
            )
        ]
    )


def test_messenger_file() -> None:
    assert messenger("file") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=mid(5),
                type="document",
                sent_at=at(5),
                media=[
                    {
                        "kind": "document",
                        "url": "https://cdn.fbsbx.com/v/t59.2708-21/471100005_n.pdf/"
                        f"invoice-1001.pdf?_nc_cat=105{CDN}",
                    }
                ],
            )
        ]
    )


def test_messenger_location() -> None:
    assert messenger("location") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=mid(6),
                type="location",
                sent_at=at(6),
                meta={"latitude": 37.483307, "longitude": -122.148981, "name": "Philz Coffee"},
            )
        ]
    )


def test_messenger_sticker_sent_both_as_sticker_and_as_image_is_one_sticker() -> None:
    url = (
        "https://scontent.xx.fbcdn.net/v/t39.1997-6/"
        "39178562_1505197616293642_5411344281094848512_n.png"
        "?_nc_cat=1&ccb=1-7&_nc_sid=ac3552&oh=00_AfPlaceholderHash&oe=69A1B2C3"
    )
    assert messenger("sticker") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=mid(7),
                type="sticker",
                sent_at=at(7),
                media=[{"kind": "sticker", "url": url, "sticker_id": "369239263222822"}],
            )
        ]
    )


def test_messenger_quick_reply() -> None:
    assert messenger("quick_reply") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=mid(8),
                type="interactive",
                sent_at=at(8),
                text="Track my order",
                meta={"interactive": "quick_reply", "payload": "TRACK_ORDER"},
            )
        ]
    )


def test_messenger_reply() -> None:
    assert messenger("reply") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=mid(9),
                type="text",
                sent_at=at(9),
                text="Yes, that one",
                meta={"reply_to": OUR_MESSAGE},
            )
        ]
    )


def test_messenger_reaction__react() -> None:
    assert messenger("reaction__react") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=f"reaction:{OUR_MESSAGE}:{PSID}:{millis(10)}",
                type="reaction",
                sent_at=at(10),
                meta={
                    "reaction_to": OUR_MESSAGE,
                    "emoji": "\u2764\ufe0f",
                    "action": "react",
                    "reaction": "love",
                },
            )
        ]
    )


def test_messenger_reaction__unreact() -> None:
    assert messenger("reaction__unreact") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=f"reaction:{OUR_MESSAGE}:{PSID}:{millis(11)}",
                type="reaction",
                sent_at=at(11),
                meta={
                    "reaction_to": OUR_MESSAGE,
                    "emoji": "",
                    "action": "unreact",
                    "reaction": "love",
                },
            )
        ]
    )


def test_messenger_postback() -> None:
    assert messenger("postback") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=mid(12),
                type="interactive",
                sent_at=at(12),
                text="Talk to a person",
                meta={"interactive": "postback", "payload": "HUMAN_AGENT"},
            )
        ]
    )


def test_messenger_message_edit() -> None:
    assert messenger("message_edit") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=f"{mid(1)}:edit:1",
                type="text",
                sent_at=at(13),
                text="Hi, has my order #1002 shipped?",
                meta={"edit_of": mid(1), "edited_at": "2026-01-01T10:13:00.250000+00:00"},
            )
        ]
    )


def test_messenger_echo() -> None:
    assert messenger("echo") == ParseResult(ignored=1)


DELIVERED = "m_Qx7Vd2kLp9sT4uW1yZ3bC6dE9fG2hJ4kL7mN0pQ8rS0014aB5cD6eF7gH8iJ9kL0mN1oP2qR3sT4uVw"


def test_messenger_read() -> None:
    read = StatusUpdate("read", at(14), recipient=PSID, watermark=True)
    assert messenger("read") == ParseResult(statuses=[read])


def test_messenger_delivery() -> None:
    delivered = StatusUpdate("delivered", at(16), provider_message_id=DELIVERED)
    assert messenger("delivery") == ParseResult(statuses=[delivered])


def test_messenger_delivery_without_mids_is_a_watermark() -> None:
    body = batch(event(delivery={"watermark": millis(20)}))
    delivered = StatusUpdate("delivered", at(20), recipient=PSID, watermark=True)
    assert parse_json(body) == ParseResult(statuses=[delivered])


def test_messenger_batch() -> None:
    assert messenger("batch") == ParseResult(
        messages=[
            from_psid(
                provider_message_id=mid(17),
                type="text",
                sent_at=at(17),
                text="First message",
            ),
            Inbound(
                external_id=PSID2,
                provider_message_id=mid(18),
                type="text",
                sent_at=at(17, 2),
                text="\u0645\u0631\u062d\u0628\u0627\u060c "
                "\u0623\u064a\u0646 \u0637\u0644\u0628\u064a\u061f",
                meta={"recipient": PAGE},
            ),
            Inbound(
                external_id=PSID2,
                provider_message_id=f"reaction:{OUR_MESSAGE}:{PSID2}:{millis(17, 3)}",
                type="reaction",
                sent_at=at(17, 3),
                meta={
                    "recipient": PAGE,
                    "reaction_to": OUR_MESSAGE,
                    "emoji": "\U0001f44d",
                    "action": "react",
                    "reaction": "like",
                },
            ),
            from_psid(
                provider_message_id=f"postback:{PSID}:{millis(17, 5)}",
                type="interactive",
                sent_at=at(17, 5),
                text="Get Started",
                meta={"interactive": "postback", "payload": "GET_STARTED"},
            ),
        ],
        statuses=[
            StatusUpdate("delivered", at(17), provider_message_id=DELIVERED),
            StatusUpdate("read", at(17, 3), recipient=PSID, watermark=True),
        ],
    )


def test_messenger_unknown_event() -> None:
    assert messenger("unknown_event") == ParseResult(unsupported=["optin"])


# --- Instagram: one test per fixture ----------------------------------------------------------


def test_instagram_text() -> None:
    assert instagram("text") == ParseResult(
        messages=[
            Inbound(
                external_id=IGSID,
                provider_message_id=igmid(21),
                type="text",
                sent_at=at(21),
                text="Hi! Do you ship to Canada? \U0001f1e8\U0001f1e6",
                meta={"recipient": IG},
            )
        ],
        ignored=0,
        unsupported=[],
    )


def test_instagram_image() -> None:
    assert instagram("image") == ParseResult(
        messages=[
            from_igsid(
                provider_message_id=igmid(22),
                type="image",
                sent_at=at(22),
                media=[{"kind": "image", "url": lookaside(22)}],
            )
        ]
    )


def test_instagram_story_mention() -> None:
    assert instagram("story_mention") == ParseResult(
        messages=[
            from_igsid(
                provider_message_id=igmid(23),
                type="story_mention",
                sent_at=at(23),
                media=[{"kind": "story_mention", "url": lookaside(23)}],
            )
        ]
    )


def test_instagram_share() -> None:
    assert instagram("share") == ParseResult(
        messages=[
            from_igsid(
                provider_message_id=igmid(24),
                type="share",
                sent_at=at(24),
                media=[{"kind": "share", "source": "share", "url": lookaside(24)}],
            )
        ]
    )


def test_instagram_share__ig_post() -> None:
    post = {"source": "ig_post", "title": "New season, new colours", "url": lookaside(27)}
    assert instagram("share__ig_post") == ParseResult(
        messages=[
            from_igsid(
                provider_message_id=igmid(27),
                type="share",
                sent_at=at(27),
                media=[{"kind": "share", **post, "ig_post_media_id": "18139494541428835"}],
            )
        ]
    )


def test_instagram_ig_reel() -> None:
    reel = {"source": "ig_reel", "title": "How we pack your order", "url": lookaside(25)}
    assert instagram("ig_reel") == ParseResult(
        messages=[
            from_igsid(
                provider_message_id=igmid(25),
                type="share",
                sent_at=at(25),
                media=[{"kind": "share", **reel, "reel_video_id": "17999887766554433"}],
            )
        ]
    )


def test_instagram_story_reply() -> None:
    story = {"id": "17890455425012346", "url": lookaside(26)}
    assert instagram("story_reply") == ParseResult(
        messages=[
            from_igsid(
                provider_message_id=igmid(26),
                type="story_reply",
                sent_at=at(26),
                text="Love this one!",
                meta={"reply_to_story": story},
            )
        ]
    )


def test_instagram_reaction() -> None:
    assert instagram("reaction") == ParseResult(
        messages=[
            from_igsid(
                provider_message_id=f"reaction:{igmid(9999)}:{IGSID}:{millis(25)}",
                type="reaction",
                sent_at=at(25),
                meta={
                    "reaction_to": igmid(9999),
                    "emoji": "\u2764",
                    "action": "react",
                    "reaction": "love",
                },
            )
        ]
    )


def test_instagram_postback() -> None:
    assert instagram("postback") == ParseResult(
        messages=[
            from_igsid(
                provider_message_id=igmid(26),
                type="interactive",
                sent_at=at(26),
                text="Where is my order?",
                meta={"interactive": "postback", "payload": "ICEBREAKER_ORDER"},
            )
        ]
    )


def test_instagram_echo() -> None:
    assert instagram("echo") == ParseResult(ignored=1)


def test_instagram_read() -> None:
    mid = (
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMTI0"
        "NDI1OTk3NTk1NTc4MjQ4ODM2NzozMTM1OTk2MzQ5NTgx9999ZDZD"
    )
    read = StatusUpdate("read", at(28), provider_message_id=mid)
    assert instagram("read") == ParseResult(statuses=[read])


@pytest.mark.parametrize("channel", ["messenger", "instagram"])
def test_every_fixture_has_its_test(channel: str) -> None:
    names = sorted(p.stem for p in (FIXTURES / channel).glob("*.json"))
    tests = {name for name in globals() if name.startswith(f"test_{channel}_")}
    assert [n for n in names if not any(t.startswith(f"test_{channel}_{n}") for t in tests)] == []


# --- shapes the fixtures do not cover ---------------------------------------------------------


def batch(*events: dict[str, Any], kind: str = "messenger") -> dict[str, Any]:
    obj, owner = ("page", PAGE) if kind == "messenger" else ("instagram", IG)
    entry = {"id": owner, "time": millis(30), "messaging": list(events)}
    return {"object": obj, "entry": [entry]}


def event(**fields: Any) -> dict[str, Any]:
    base = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": millis(30)}
    return base | fields


def message(**fields: Any) -> dict[str, Any]:
    return event(message={"mid": "m_1", "text": "hi"} | fields)


def only(payload: dict[str, Any], kind: str = "messenger") -> Inbound:
    [inbound] = parse_json(payload, kind).messages
    return inbound


def test_the_object_must_match_the_kind() -> None:
    with pytest.raises(PayloadError, match="object must be instagram for instagram, got 'page'"):
        meta.parse("instagram", post(load_fixture("messenger", "text")))
    with pytest.raises(PayloadError, match="object must be page for messenger, got 'instagram'"):
        meta.parse("messenger", post(load_fixture("instagram", "text")))


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(PayloadError, match="unknown channel kind 'whatsapp'"):
        meta.parse("whatsapp", post(load_fixture("messenger", "text")))


def test_standby_events_are_messages_too() -> None:
    payload = batch()
    payload["entry"][0] = {"id": PAGE, "time": 1, "standby": [message()]}
    assert only(payload).text == "hi"


def test_changes_in_an_entry_are_unsupported() -> None:
    payload = batch()
    payload["entry"][0] = {"id": IG, "time": 1, "changes": [{"field": "comments", "value": {}}]}
    payload["object"] = "instagram"
    assert parse_json(payload, "instagram") == ParseResult(unsupported=["comments"])


def test_an_instagram_story_reply_links_the_story() -> None:
    story = {"id": "17890455425012345", "url": lookaside(40)}
    inbound = only(batch(message(reply_to={"story": story}), kind="instagram"), "instagram")
    assert inbound.meta == {"recipient": PAGE, "reply_to_story": story}


def test_a_deleted_instagram_message_is_ignored() -> None:
    payload = batch(message(is_deleted=True), kind="instagram")
    assert parse_json(payload, "instagram") == ParseResult(ignored=1)


def test_an_unsupported_instagram_message_is_a_marker() -> None:
    inbound = only(batch(event(message={"mid": "m_2", "is_unsupported": True})))
    assert (inbound.type, inbound.meta["kind"]) == ("unsupported", "unsupported")


def test_a_message_without_text_or_attachments_is_a_marker() -> None:
    inbound = only(batch(event(message={"mid": "m_3"})))
    assert (inbound.type, inbound.meta["kind"]) == ("unsupported", "empty")


@pytest.mark.parametrize(
    ("attachment", "kind", "media"),
    [
        (
            {"type": "fallback", "payload": {"url": "https://example.com", "title": "Example"}},
            "fallback",
            [{"kind": "fallback", "url": "https://example.com", "title": "Example"}],
        ),
        ({"type": "fallback"}, "fallback", [{"kind": "fallback"}]),
        ({"type": "template", "payload": {"template_type": "generic"}}, "template", None),
    ],
)
def test_other_attachments_are_unsupported_markers(
    attachment: dict[str, Any], kind: str, media: list[dict[str, Any]] | None
) -> None:
    inbound = only(batch(event(message={"mid": "m_4", "attachments": [attachment]})))
    assert (inbound.type, inbound.meta["kind"]) == ("unsupported", kind)
    if media is not None:
        assert inbound.media == media


def test_a_legacy_sticker_is_an_image_with_a_sticker_id() -> None:
    attachment = {"type": "image", "payload": {"url": "u", "sticker_id": 369239263222822}}
    inbound = only(batch(event(message={"mid": "m_5", "attachments": [attachment]})))
    assert (inbound.type, inbound.media) == (
        "sticker",
        [{"kind": "sticker", "url": "u", "sticker_id": "369239263222822"}],
    )


def test_several_attachments_keep_every_media() -> None:
    attachments = [
        {"type": "image", "payload": {"url": "a"}},
        {"type": "video", "payload": {"url": "b"}},
    ]
    inbound = only(batch(message(attachments=attachments, text="two")))
    assert (inbound.type, inbound.text, [m["kind"] for m in inbound.media]) == (
        "image",
        "two",
        ["image", "video"],
    )


def test_a_postback_with_a_referral_keeps_it() -> None:
    referral = {"ref": "summer-sale", "source": "SHORTLINK", "type": "OPEN_THREAD"}
    postback = {"title": "Get Started", "payload": "GET_STARTED", "referral": referral}
    inbound = only(batch(event(postback=postback)))
    assert inbound.meta["referral"] == referral


def test_a_plugin_user_without_psid_is_known_by_user_ref() -> None:
    inbound = only(batch(event(sender={"user_ref": "ur-8812"}, postback={"title": "Hi"})))
    assert inbound.external_id == "user_ref:ur-8812"
    assert inbound.provider_message_id == f"postback:user_ref:ur-8812:{millis(30)}"


def test_a_timestamp_in_seconds_or_as_a_string_is_understood() -> None:
    seconds = int(at(30).timestamp())
    assert only(batch(message() | {"timestamp": str(seconds)})).sent_at == at(30).replace(
        microsecond=0
    )
    assert only(batch(message() | {"timestamp": str(millis(30))})).sent_at == at(30)


def test_numeric_ids_become_strings() -> None:
    inbound = only(batch(message() | {"sender": {"id": 6732519843385021}}))
    assert inbound.external_id == PSID


def test_an_entry_without_events_is_empty() -> None:
    payload = batch()
    assert parse_json(payload) == ParseResult()


@pytest.mark.parametrize(
    "text",
    [
        "Thanks \U0001f64f\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467",
        "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u202eevil\u202c",
        "NUL\x00inside",
        "e\u0301\u0301\u0301 \ufeff zero\u200bwidth",
        "\U0010ffff last code point",
    ],
)
def test_odd_unicode_text_is_kept_exactly(text: str) -> None:
    assert only(batch(message(text=text))).text == text


def test_a_lone_surrogate_escape_is_refused_as_invalid_json() -> None:
    body = json.dumps(batch(message(text="x"))).replace('"x"', '"\\ud800"').encode()
    with pytest.raises(PayloadError, match="not valid JSON"):
        meta.parse("messenger", post(body))


# --- malformed bodies: PayloadError naming the field, never another exception ------------------

E = "entry[0].messaging[0]"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{oops", "body is not valid JSON"),
        (b"[]", "body must be a JSON object, got an array"),
        (b"\xc3\x28", "body is not valid JSON"),
        (b'{"entry": []}', "missing object"),
        (b'{"object": 7, "entry": []}', "object must be a string, got an integer"),
        (b'{"object": "page"}', "missing entry"),
        (b'{"object": "page", "entry": {}}', "entry must be an array"),
        (b'{"object": "page", "entry": [7]}', "entry[0] must be an object"),
        (b'{"object": "page", "entry": [{"id": "1"}]}', "missing entry[0].messaging"),
        (b'{"object": "page", "entry": [{"messaging": {}}]}', "entry[0].messaging must be an"),
        (b'{"object": "page", "entry": [{"messaging": ["x"]}]}', "messaging[0] must be an object"),
        (
            b'{"object": "page", "entry": [{"changes": [{"value": {}}]}]}',
            "missing entry[0].changes[0].field",
        ),
    ],
)
def test_malformed_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as error:
        meta.parse("messenger", post(body))
    assert reason in error.value.reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"sender": None}, f"missing {E}.sender"),
        ({"sender": "6732519843385021"}, f"{E}.sender must be an object, got a string"),
        ({"sender": {}}, f"missing {E}.sender.id"),
        ({"sender": {"id": ["1"]}}, f"{E}.sender.id must be an integer or a string"),
        ({"recipient": None}, f"missing {E}.recipient"),
        ({"recipient": {"id": True}}, f"{E}.recipient.id must be an integer or a string"),
        ({"timestamp": None}, f"missing {E}.timestamp"),
        ({"timestamp": "soon"}, f"{E}.timestamp: bad timestamp 'soon'"),
        ({"timestamp": 1.5}, f"{E}.timestamp must be a Unix timestamp, got a number"),
        ({"timestamp": 10**17}, f"{E}.timestamp: bad timestamp"),
        ({"timestamp": -(10**17)}, f"{E}.timestamp: bad timestamp"),
        ({"message": "hi"}, f"{E}.message must be an object, got a string"),
        ({"message": {"text": "hi"}}, f"missing {E}.message.mid"),
        ({"message": {"mid": 5, "text": "hi"}}, f"{E}.message.mid must be a string"),
        ({"message": {"mid": "m", "text": 5}}, f"{E}.message.text must be a string"),
        ({"message": {"mid": "m", "is_echo": "yes"}}, f"{E}.message.is_echo must be a boolean"),
        ({"message": {"mid": "m", "attachments": {}}}, f"{E}.message.attachments must be an"),
        (
            {"message": {"mid": "m", "attachments": ["image"]}},
            f"{E}.message.attachments[0] must be an object",
        ),
        (
            {"message": {"mid": "m", "attachments": [{"payload": {}}]}},
            f"missing {E}.message.attachments[0].type",
        ),
        (
            {"message": {"mid": "m", "attachments": [{"type": "image", "payload": []}]}},
            f"{E}.message.attachments[0].payload must be an object",
        ),
        (
            {"message": {"mid": "m", "attachments": [{"type": "image", "payload": {"url": 1}}]}},
            f"{E}.message.attachments[0].payload.url must be a string",
        ),
        (
            {"message": {"mid": "m", "attachments": [{"type": "location", "payload": {}}]}},
            f"missing {E}.message.attachments[0].payload.coordinates",
        ),
        (
            {
                "message": {
                    "mid": "m",
                    "attachments": [
                        {"type": "location", "payload": {"coordinates": {"lat": "1", "long": 2}}}
                    ],
                }
            },
            f"{E}.message.attachments[0].payload.coordinates.lat must be a number",
        ),
        (
            {"message": {"mid": "m", "text": "t", "quick_reply": "P"}},
            f"{E}.message.quick_reply must be an object",
        ),
        (
            {"message": {"mid": "m", "text": "t", "reply_to": {"mid": 3}}},
            f"{E}.message.reply_to.mid must be a string",
        ),
        ({"message_edit": {"text": "t", "num_edit": 1}}, f"missing {E}.message_edit.mid"),
        ({"message_edit": {"mid": "m", "num_edit": 1}}, f"missing {E}.message_edit.text"),
        ({"message_edit": {"mid": "m", "text": "t"}}, f"missing {E}.message_edit.num_edit"),
        ({"reaction": {"action": "react"}}, f"missing {E}.reaction.mid"),
        ({"reaction": {"mid": "m"}}, f"missing {E}.reaction.action"),
        (
            {"reaction": {"mid": "m", "action": "smile"}},
            f"{E}.reaction.action must be react or unreact, got 'smile'",
        ),
        ({"reaction": {"mid": "m", "action": "react", "emoji": 1}}, f"{E}.reaction.emoji must be"),
        ({"postback": []}, f"{E}.postback must be an object"),
        ({"postback": {"title": 5}}, f"{E}.postback.title must be a string"),
    ],
)
def test_malformed_events(fields: dict[str, Any], reason: str) -> None:
    base = event()
    if not any(key in fields for key in ("message", "message_edit", "reaction", "postback")):
        base = message()
    with pytest.raises(PayloadError) as error:
        parse_json(batch({**base, **fields}))
    assert reason in error.value.reason


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
EVENT_FIELDS = st.sampled_from(
    ["sender", "recipient", "timestamp", "message", "message_edit", "reaction", "postback", "read"]
)
MESSAGE_FIELDS = st.sampled_from(
    ["mid", "text", "attachments", "quick_reply", "reply_to", "is_echo", "is_deleted", "referral"]
)
ATTACHMENT = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["image", "sticker", "location", "file", "share"]) | JSON,
        "payload": JSON
        | st.fixed_dictionaries({"coordinates": JSON, "sticker_id": JSON, "url": JSON}),
    }
)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(EVENT_FIELDS, JSON),
    message_fields=st.dictionaries(MESSAGE_FIELDS, JSON | st.lists(ATTACHMENT, max_size=2)),
    kind=st.sampled_from(["messenger", "instagram"]),
)
def test_any_json_fails_only_with_payload_error(
    fields: dict[str, Any], message_fields: dict[str, Any], kind: str
) -> None:
    payload = batch(message(**message_fields) | fields, kind=kind)
    with contextlib.suppress(PayloadError):
        parse_json(payload, kind)
