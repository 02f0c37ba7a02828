"""Mail helpers for the email channel: MIME and multipart parsing, HTML to text, auto-replies."""

from __future__ import annotations

import functools
import re
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy, default
from email.utils import parseaddr
from html import unescape
from html.parser import HTMLParser
from typing import Any

from gateway.channels import email_limits
from gateway.channels.base import PayloadError

Headers = list[tuple[str, str]]
MEDIA_KINDS = ("image", "audio", "video")  # by MIME major type; anything else is a document
BULK_PRECEDENCE = ("bulk", "junk", "auto_reply")
AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond")
DAEMONS = ("mailer-daemon", "postmaster")
SKIPPED_TAGS = ("script", "style", "head", "title")
BLOCK_TAGS = ("br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote")
FOLDING = re.compile(r"\r?\n(?=[ \t])")
SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
BLANK_LINES = re.compile(r"\n\s*\n+")


def message(raw: bytes) -> EmailMessage:
    """A whole RFC 5322 message; the stdlib parser is lenient, so this rarely fails.

    Mail over the limits of email_limits is refused (MailLimit) before it is parsed.
    """
    email_limits.check(raw)
    parsed = BytesParser(policy=_policy()).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)  # policy=default builds EmailMessage objects
    return parsed


def _policy() -> EmailPolicy[EmailMessage]:
    """policy=default, parsing each distinct header once per message.

    The parser, get_body() and our walk ask every part for its Content-Type several times, and
    policy=default parses the header anew each time (a fifth of a millisecond each).
    """
    return default.clone(header_factory=functools.lru_cache(maxsize=None)(default.header_factory))


def raw_headers(msg: Message) -> Headers:
    """The header fields of `msg`, unfolded, as text: no header objects are built.

    Bytes that are not ASCII are read as UTF-8 (RFC 6532), anything undecodable replaced.
    """
    return [(name, _text(FOLDING.sub("", value))) for name, value in msg.raw_items()]


def _text(value: str) -> str:
    if value.isascii():
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def header(headers: Headers, name: str) -> str | None:
    """The first header of that name (case-insensitive), encoded words decoded."""
    lowered = name.lower()
    value = next((v for k, v in headers if k.lower() == lowered), None)
    return None if value is None else decoded(value)


def decoded(value: str) -> str:
    """A header value with RFC 2047 encoded words decoded; undecodable values as given."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return value


def is_automatic(headers: Headers, senders: tuple[str | None, ...]) -> bool:
    """Auto-replies, bulk mail and bounces (RFC 3834, RFC 3464): never a customer's message."""
    submitted = (header(headers, "Auto-Submitted") or "no").split(";")[0].strip().lower()
    precedence = (header(headers, "Precedence") or "").strip().lower()
    content_type = (header(headers, "Content-Type") or "").strip().lower()
    return (
        submitted != "no"
        or any(header(headers, name) is not None for name in AUTOREPLY_HEADERS)
        or precedence in BULK_PRECEDENCE
        or content_type.startswith("multipart/report")
        or (header(headers, "Return-Path") or "").strip() == "<>"
        or any(_is_daemon(sender) for sender in senders)
    )


def _is_daemon(sender: str | None) -> bool:
    local = parseaddr(sender or "")[1].partition("@")[0].lower()
    return local in DAEMONS


def text_of(msg: EmailMessage) -> tuple[str | None, str | None]:
    """The plain and the HTML body of a message, either None when absent."""
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return (_content(plain) if plain else None), (_content(html) if html else None)


def _content(part: Message) -> str:
    payload = part.get_payload(decode=True)
    raw = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = raw.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        text = raw.decode("utf-8", errors="replace")
    return newlines(text)


def newlines(text: str) -> str:
    """Mail's CRLF (and any lone CR) as `\n`, the line ending of Mailgun's parsed fields."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def attachments(msg: EmailMessage) -> list[dict[str, Any]]:
    """Media references for every attachment (contents are not kept)."""
    body_parts = {id(p) for p in (msg.get_body(("plain",)), msg.get_body(("html",))) if p}
    found = []
    for part in _leaves(msg):
        if id(part) in body_parts:
            continue
        if part.get_content_disposition() == "attachment" or part.get_filename():
            found.append(media_item(part.get_filename(), part.get_content_type(), _size(part)))
    return found


def _leaves(part: Message) -> list[Message]:
    # A forwarded message (message/rfc822) is one attachment: its own parts are not ours.
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        return [part]
    children = part.get_payload()
    if not isinstance(children, list):
        return [part]
    return [leaf for child in children if isinstance(child, Message) for leaf in _leaves(child)]


def _size(part: Message) -> int:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return len(payload)
    inner = part.get_payload()
    if not isinstance(inner, list):
        return 0
    return sum(len(m.as_bytes()) for m in inner if isinstance(m, Message))


def media_item(file_name: str | None, mime_type: str | None, size: int) -> dict[str, Any]:
    """One attachment as a media reference."""
    major = (mime_type or "").partition("/")[0]
    kind = major if major in MEDIA_KINDS else "document"
    return {"kind": kind, "file_name": file_name, "mime_type": mime_type, "size": size}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        if tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS and self.skipping:
            self.skipping -= 1
        if tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:  # a line break in the source is a space, as a browser shows it
            self.chunks.append(data.replace("\n", " "))


def html_to_text(html: str) -> str:
    """The visible text of an HTML body: tags stripped, entities unescaped, spaces collapsed."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    text = unescape("".join(extractor.chunks))
    lines = (SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def form_data(body: bytes, content_type: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """A multipart/form-data body: its text fields, and its files as media references."""
    if "boundary=" not in content_type.lower():
        raise PayloadError("multipart/form-data without a boundary")
    envelope = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = message(envelope + body)
    if not msg.is_multipart() or msg.defects:
        raise PayloadError("malformed multipart/form-data body")
    fields: dict[str, str] = {}
    files: list[dict[str, Any]] = []
    for part in msg.iter_parts():
        _form_part(part, fields, files)
    return fields, files


def _form_part(part: Message, fields: dict[str, str], files: list[dict[str, Any]]) -> None:
    name = part.get_param("name", header="content-disposition")
    if not isinstance(name, str):
        raise PayloadError("multipart/form-data part without a name")
    payload = part.get_payload(decode=True)
    raw = payload if isinstance(payload, bytes) else b""
    if part.get_filename() is not None:
        files.append(media_item(part.get_filename(), part.get_content_type(), len(raw)))
        return
    try:
        fields[name] = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError(f"form field {name} is not valid UTF-8") from None
