"""send: an agent writes to a contact from chat, through the API's outbound path."""

from __future__ import annotations

from bots import render
from bots.core import RUNTIME, Context, Reply, Sent, Usage, command
from bots.i18n import N_
from bots.refs import contact_and_rest
from store.errors import OptedOut

# How people call each channel kind (product names: the same in every language).
KIND_NAMES = {
    "whatsapp": "WhatsApp", "twilio_whatsapp": "WhatsApp", "messenger": "Messenger",
    "instagram": "Instagram", "telegram": "Telegram", "email": "email", "twilio_sms": "SMS",
    "vonage_sms": "SMS", "bird_sms": "SMS", "webchat": "web chat",
}  # fmt: skip

REFUSALS = {  # a send error's code -> what it means for the person who sent
    "recipient_unavailable": N_(
        "{channel} does not deliver to this person (they blocked the bot, opted out or closed"
        " the account); nothing was sent"
    ),
    "invalid_recipient": N_("{channel} does not know this person; nothing was sent"),
    "provider_auth": N_(
        "{channel} refused this channel's credentials; an admin must fix the channel's secrets"
    ),
    "provider_error": N_("{channel} refused the message; nothing was sent"),
    "provider_unreachable": N_("{channel} could not be reached; nothing was sent, try again"),
    "provider_timeout": N_(
        "{channel} did not answer in time; the message may have arrived, look before resending"
    ),
}


@command(
    "send", es="enviar", role="agent", usage=N_("<contact> <text>"), group="tag",
    brief=N_("Send a message to a contact on their last channel"),
)  # fmt: skip
async def send(ctx: Context, args: str) -> Reply:
    """Send a text to a contact on the channel they last used (or reply `/send text` to a
    contact card or a forwarded customer message)."""
    contact, text = await contact_and_rest(ctx, args, need_rest=True)
    if not text.strip():
        raise Usage(ctx._("write the message after the contact"))
    if RUNTIME.outbound is None:
        return Reply(ctx._("Sending is not available here."))
    name = render.plain(contact.display_name)
    try:
        sent = await RUNTIME.outbound(ctx.actor, contact.id, text.strip())
    except OptedOut:
        return Reply(
            ctx._("Not sent to #{id} {name}: they asked not to be written to (an opt-out word"
                  " such as BAJA or STOP); they can write ALTA or START to allow it again.",
                  id=contact.id, name=name),
            contact_id=contact.id,
        )  # fmt: skip
    channel = KIND_NAMES.get(sent.kind, sent.kind)
    if sent.error is None:
        said = ctx._("Sent to #{id} {name} on {channel}.", id=contact.id, name=name,
                     channel=channel)  # fmt: skip
        return Reply(said, contact_id=contact.id)
    return Reply(
        ctx._("Not sent to #{id} {name}: {why}.", id=contact.id, name=name,
              why=refusal(ctx, sent, channel)),
        contact_id=contact.id,
    )  # fmt: skip


def refusal(ctx: Context, sent: Sent, channel: str) -> str:
    """A send error in words."""
    if sent.error == "window_closed":
        hours = format(sent.window_hours or 24, "g")
        return ctx._(
            "the {hours}-hour {channel} window is closed (the person has not written since);"
            " send an approved template instead",
            hours=hours, channel=channel,
        )  # fmt: skip
    if sent.error == "rate_limited":
        if sent.retry_after:
            return ctx._("{channel} asks to slow down; try again in {seconds} s", channel=channel,
                         seconds=sent.retry_after)  # fmt: skip
        return ctx._("{channel} asks to slow down; try again in a minute", channel=channel)
    return ctx._(REFUSALS.get(sent.error or "", REFUSALS["provider_error"]), channel=channel)
