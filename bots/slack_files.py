"""Files between Slack and the bot: the CSV a user points `import` at (files.info, then its
private URL with the bot token) and the files a reply carries (files_upload_v2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.core import InFile, OutFile

# A file id alone (F0ABC12345), inside a permalink (…/files/U…/F…/name.csv), a private URL
# (…/files-pri/T…-F…/name.csv) or a Slack-escaped link (<https://…|name>).
FILE_ID = re.compile(r"(?:^|[/<|\-])(F[A-Z0-9]{6,})(?=$|[/>|?#])")
SLACK_FILE_HOST = "files.slack.com"


class FileProblem(Exception):
    """A shared file the bot cannot import; the message is the reply to the user."""


@dataclass(frozen=True, slots=True)
class FileRef:
    """The file an `import` line points at, and the rest of the line."""

    file_id: str
    rest: str


def find_file(text: str) -> FileRef | None:
    """The first word of `text` that is or holds a Slack file id, and the words around it."""
    words = text.split()
    for i, word in enumerate(words):
        if match := FILE_ID.search(word):
            return FileRef(match.group(1), " ".join(words[:i] + words[i + 1 :]))
    return None


class SlackFiles:
    """Downloads shared files and uploads reply files for one bot token."""

    def __init__(
        self,
        client: AsyncWebClient,
        session: aiohttp.ClientSession,
        token: str,
        api_url: str,
        max_bytes: int,
    ) -> None:
        self._client = client
        self._session = session
        self._token = token
        self._max_bytes = max_bytes
        # The token goes only to Slack's file host (or the API host, where tests run a fake).
        self._hosts = {SLACK_FILE_HOST, urlsplit(api_url).netloc}

    async def fetch(self, file_id: str) -> InFile:
        """The content of a file shared in Slack; FileProblem says why not."""
        try:
            info = await self._client.files_info(file=file_id)
        except SlackApiError as exc:
            raise FileProblem(_info_problem(file_id, str(exc.response.get("error")))) from exc
        file = info.get("file") or {}
        name = str(file.get("name") or file_id)
        size = int(file.get("size") or 0)
        if size > self._max_bytes:
            raise FileProblem(f"`{name}` is {size} bytes; the most I import is {self._max_bytes}.")
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        if urlsplit(url).netloc not in self._hosts:
            raise FileProblem(f"Slack gave no download link for `{name}`.")
        return InFile(name, await self._download(url, name))

    async def _download(self, url: str, name: str) -> bytes:
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with self._session.get(url, headers=headers) as resp:
                if resp.status != 200 or resp.content_type == "text/html":
                    # Slack answers a token without files:read with its sign-in page.
                    raise FileProblem(
                        f"Slack did not let me download `{name}` (HTTP {resp.status}):"
                        " check that the app has the files:read scope."
                    )
                return await self._read(resp, name)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FileProblem(f"Downloading `{name}` from Slack failed: {exc}.") from exc

    async def _read(self, resp: aiohttp.ClientResponse, name: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > self._max_bytes:
                raise FileProblem(f"`{name}` is over {self._max_bytes} bytes, the most I import.")
            chunks.append(chunk)
        return b"".join(chunks)

    async def upload(self, channel: str, file: OutFile, comment: str | None = None) -> None:
        """Share a file in a channel (files_upload_v2); raises SlackApiError or ClientError."""
        await self._client.files_upload_v2(
            channel=channel,
            file=file.content,
            filename=file.name,
            title=file.title or file.name,
            initial_comment=comment,
        )


def _info_problem(file_id: str, error: str) -> str:
    if error == "file_not_found":
        return (
            f"I cannot see file `{file_id}`. Share it in this channel (or in a direct message"
            " with me), then give me its link."
        )
    if error == "missing_scope":
        return "The Slack app lacks the files:read scope: add it and reinstall the app."
    return f"Slack would not give me file `{file_id}` ({error})."


def upload_problem(name: str, error: str) -> str:
    """The reply when a file could not be posted in the channel."""
    if error in ("not_in_channel", "channel_not_found"):
        return (
            f"I could not post `{name}` here: I am not in this conversation. Invite me"
            " (`/invite @contactgate`) or use the command in a channel I am in."
        )
    return f"I could not post `{name}` here ({error}); try again later."
