"""Cheap checks on raw mail before the MIME parser sees it: header blocks, MIME depth and parts.

The stdlib parser recurses once per nested multipart or message part (a few hundred levels
raise ``RecursionError``), costs time per line of every header block, and the header objects
of ``policy=default`` cost kilobytes each. These checks look only at the bytes (regular
expressions and ``find``, no Python loop per line), so hostile mail is refused in a few
milliseconds, before any of that is built.

Depth counts the multipart levels open at each delimiter line (a boundary opens a level the
first time one of its delimiters is seen, its close delimiter ends it and every level inside
it) plus the chain of ``message/*`` header blocks that follows a part's own headers.
"""

from __future__ import annotations

import itertools
import re

from gateway.channels.base import PayloadError

MAX_HEADER_BYTES = 256 * 1024  # one header block (Postfix keeps 100 KiB of headers by default)
MAX_FIELD_BYTES = 64 * 1024  # one header field, folded lines included
MAX_HEADERS = 1_000  # fields in one header block
MAX_DEPTH = 20  # nested multipart and message levels
MAX_PARTS = 500  # MIME parts of one mail, embedded messages included

# A delimiter line follows a line break: the first line of a message is a header.
DELIMITER = re.compile(rb"\n--([^\r\n]{1,200}?)(--)?[ \t]*\r?(?=\n|\Z)")
BOUNDARY = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I)
# RFC 2231 continuations: boundary*0="ab"; boundary*1="cd" names the boundary "abcd".
BOUNDARY_PIECE = re.compile(
    rb'boundary\*(\d{1,2})\*?[ \t]*=[ \t]*(?:"([^"\r\n]{0,200})"|([^\s;"]{1,200}))', re.I
)
MESSAGE_TYPE = re.compile(rb"^content-type:[ \t]*(?:\r?\n[ \t]+)*message/", re.I | re.MULTILINE)
BLANK_LINE = re.compile(rb"\n\r?\n")
FIELD_START = re.compile(rb"\n(?![ \t])")


class MailLimit(PayloadError):
    """Mail over one of the limits above: refused for good, whoever sends it again."""


class MailTooLarge(MailLimit):
    """A header block or a header field over its size limit."""

    status = 413


class MailTooComplex(MailLimit):
    """Too many header fields, MIME parts or nested levels."""

    status = 422


def check(raw: bytes) -> None:
    """Raise a MailLimit when `raw` (a whole message, or a multipart body) is over a limit."""
    declared: set[bytes] = set()  # boundaries named by the header blocks seen so far
    stack: list[bytes] = []
    parts = _header_chain(raw, 0, 0, declared)
    for delimiter in DELIMITER.finditer(raw):
        boundary = delimiter[1]
        if boundary not in declared:
            continue
        if delimiter[2]:  # a close delimiter ends its level and every level inside it
            if boundary in stack:
                del stack[stack.index(boundary) :]
            continue
        if boundary in stack:  # a sibling part: the levels inside the previous one ended
            del stack[stack.index(boundary) + 1 :]
        else:
            stack.append(boundary)
        parts += 1 + _header_chain(raw, delimiter.end() + 1, len(stack), declared)
        if parts > MAX_PARTS:
            raise MailTooComplex(f"mail has more than {MAX_PARTS} MIME parts")


def _header_chain(raw: bytes, start: int, depth: int, declared: set[bytes]) -> int:
    """Check the header block at `start` and the message/* blocks it introduces; their count.

    The boundaries the blocks name are added to `declared`.
    """
    embedded = 0
    while True:
        if depth + embedded > MAX_DEPTH:
            raise MailTooComplex(f"mail nests MIME parts more than {MAX_DEPTH} levels deep")
        block, start = _header_block(raw, start)
        declared.update(quoted or bare for quoted, bare in BOUNDARY.findall(block))
        if pieces := sorted((int(n), q or b) for n, q, b in BOUNDARY_PIECE.findall(block)):
            declared.add(b"".join(piece for _, piece in pieces))
        if not MESSAGE_TYPE.search(block):
            return embedded
        embedded += 1


def _header_block(raw: bytes, start: int) -> tuple[bytes, int]:
    """The header block at `start`, checked, and where the body after it starts."""
    if raw.startswith((b"\r\n", b"\n"), start):
        return b"", start
    end, body = _blank_line(raw, start, start + MAX_HEADER_BYTES + 4)
    if end - start > MAX_HEADER_BYTES:
        raise MailTooLarge(f"a header block is larger than {MAX_HEADER_BYTES} bytes")
    block = raw[start:end]
    if block.count(b"\n") + 1 - block.count(b"\n ") - block.count(b"\n\t") > MAX_HEADERS:
        raise MailTooComplex(f"a header block has more than {MAX_HEADERS} fields")
    if len(block) > MAX_FIELD_BYTES:
        starts = [0, *(m.end() for m in FIELD_START.finditer(block)), len(block)]
        if max(b - a for a, b in itertools.pairwise(starts)) > MAX_FIELD_BYTES:
            raise MailTooLarge(f"a header field is larger than {MAX_FIELD_BYTES} bytes")
    return block, body


def _blank_line(raw: bytes, start: int, stop: int) -> tuple[int, int]:
    """Where the first blank line after `start` begins and ends (the end of `raw` if none)."""
    found = BLANK_LINE.search(raw, start, stop)
    return found.span() if found else (len(raw), len(raw))
