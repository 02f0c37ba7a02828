"""Getting replies to Slack: through the interaction's response_url, else as an ephemeral
message, else in the app's direct message with the user; files with files_upload_v2;
notifications with chat.postMessage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bots.core import OutFile, Reply
from bots.slack_blocks import Message, render
from bots.slack_files import SlackFiles, upload_problem

log = structlog.get_logger("contactgate.slack")
SEND_ERRORS = (SlackApiError, SlackRequestError, aiohttp.ClientError, TimeoutError)


@dataclass(frozen=True, slots=True)
class Target:
    """Where the replies of one interaction go."""

    channel: str
    user: str  # Slack user id: the app's direct message with them is the last resort
    response_url: str | None = None
    pressed: bool = False  # a button's message, which a reply with `replace` may replace


class Delivery:
    """Posts rendered replies and their files for one bot token."""

    def __init__(
        self, client: AsyncWebClient, session: aiohttp.ClientSession, files: SlackFiles
    ) -> None:
        self._client = client
        self._session = session
        self._files = files

    async def deliver(self, replies: list[Reply], target: Target) -> None:
        """Each reply as a message, then its files in the channel (a refusal is explained)."""
        for reply in replies:
            message = render(reply)
            if message.blocks:
                await self.post(message, target, replace=target.pressed and reply.replace)
            for file in files_of(reply, message):
                try:
                    await self._files.upload(target.channel, file)
                except SEND_ERRORS as exc:
                    log.info("slack_upload_failed", channel=target.channel, error=str(exc))
                    problem = upload_problem(file.name, _error_code(exc))
                    await self.post(render(Reply(problem)), target, replace=False)

    async def post(self, message: Message, target: Target, *, replace: bool) -> None:
        """Through the response_url; else an ephemeral message; else the app's DM."""
        payload: dict[str, Any] = {"text": message.text, "blocks": message.blocks}
        if target.response_url and await self._respond(
            target.response_url,
            {**payload, "response_type": "ephemeral", "replace_original": replace},
        ):
            return
        try:
            await self._client.chat_postEphemeral(
                channel=target.channel, user=target.user, **payload
            )
        except SlackApiError as exc:
            log.info("slack_ephemeral_failed", channel=target.channel, error=str(exc))
            await self._client.chat_postMessage(channel=target.user, **payload)

    async def _respond(self, url: str, payload: dict[str, Any]) -> bool:
        try:
            async with self._session.post(url, json=payload) as resp:
                if resp.status == 200:
                    return True
                log.info("slack_response_url_refused", status=resp.status, body=await resp.text())
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("slack_response_url_failed", error=str(exc))
        return False

    async def notify(self, chat_id: str, reply: Reply) -> None:
        """Post a notification in a channel; raises when Slack did not take the message."""
        message = render(reply)
        await self._client.chat_postMessage(
            channel=chat_id, text=message.text, blocks=message.blocks
        )
        for file in files_of(reply, message):  # the message is in: a failed file is only told
            try:
                await self._files.upload(chat_id, file)
            except SEND_ERRORS as exc:
                log.warning(
                    "slack_notify_file_failed", chat=chat_id, file=file.name, error=str(exc)
                )


def files_of(reply: Reply, message: Message) -> list[OutFile]:
    """A reply's file, and its text when too long for a message."""
    return [f for f in (reply.file, message.overflow) if f is not None]


def _error_code(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return "upload failed"
