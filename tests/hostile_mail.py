"""Hostile and limit-sized mail, built in memory (the tests and bench/mail.py send these)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

HEAD = b"From: Ana <ana@example.com>\r\nTo: support@help.example.com\r\n"


def message_id(name: str) -> bytes:
    """A Message-ID header line for a mail named `name`."""
    return b"Message-ID: <%s@hostile.example>\r\n" % name.encode()


def nested_multipart(levels: int, name: str = "nested") -> bytes:
    """A text part inside `levels` nested multipart/mixed parts."""
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(levels)
    )
    closing = b"".join(b"\r\n--b%d--" % i for i in reversed(range(levels)))
    body = b"Content-Type: text/plain\r\n\r\nhello from the bottom"
    return HEAD + message_id(name) + opening + body + closing + b"\r\n"


def nested_rfc2231(levels: int, name: str = "rfc2231") -> bytes:
    """nested_multipart(), each boundary named in RFC 2231 pieces (boundary*0, boundary*1)."""
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary*0="b"; boundary*1="%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(levels)
    )
    closing = b"".join(b"\r\n--b%d--" % i for i in reversed(range(levels)))
    body = b"Content-Type: text/plain\r\n\r\nhello from the bottom"
    return HEAD + message_id(name) + opening + body + closing + b"\r\n"


def nested_messages(levels: int, name: str = "embedded") -> bytes:
    """A mail inside `levels` nested message/rfc822 parts (no multipart, no boundary)."""
    chain = b"Content-Type: message/rfc822\r\n\r\n" * levels
    return HEAD + message_id(name) + chain + b"From: b@example.com\r\n\r\nhello\r\n"


def many_parts(count: int, name: str = "parts") -> bytes:
    """A multipart/mixed mail of `count` text parts."""
    parts = b"".join(
        b"--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(count)
    )
    head = HEAD + message_id(name) + b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n'
    return head + parts + b"--p--\r\n"


def many_headers(count: int, name: str = "headers") -> bytes:
    """A mail of `count` header fields in all (200,000 of them make a 1.9 MB header block)."""
    extra = b"".join(b"X: %d\r\n" % i for i in range(count - 3))
    return HEAD + message_id(name) + extra + b"\r\nhello\r\n"


def huge_header(size: int, name: str = "huge") -> bytes:
    """A mail with one Subject of `size` bytes, folded every 76 characters."""
    line = b" " + b"x" * 75 + b"\r\n"
    subject = b"Subject:" + line * (size // len(line))
    return HEAD + message_id(name) + subject + b"\r\nhello\r\n"


def mailgun_signed(key: str, timestamp: int, token: str) -> dict[str, str]:
    """The three fields Mailgun signs a route forward with."""
    stamp = str(timestamp)
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": stamp, "token": token, "signature": signature}


def mailgun_form(key: str, timestamp: int, token: str, fields: dict[str, str]) -> bytes:
    """A form signed as Mailgun signs its route forwards."""
    return urlencode({**fields, **mailgun_signed(key, timestamp, token)}).encode()


def mailgun_multipart(
    signed: dict[str, str], fields: dict[str, str], files: dict[str, tuple[str, bytes]]
) -> tuple[bytes, str]:
    """A multipart/form-data forward (Mailgun's shape when a mail has attachments), and its
    Content-Type; `files` maps a file name to its content type and content."""
    boundary = "----MailgunBoundary7d9f1e2c"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in {**fields, **signed}.items()
    ]
    for n, (file_name, (content_type, content)) in enumerate(files.items(), 1):
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachment-{n}"; '
            f'filename="{file_name}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def attachment(size: int, name: str = "attachment") -> bytes:
    """A legitimate mail: a line of text and a base64 PDF attachment of `size` bytes."""
    content = base64.encodebytes(bytes(range(256)) * (size // 256))
    return (
        HEAD
        + message_id(name)
        + b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n'
        + b"--p\r\nContent-Type: text/plain\r\n\r\nthe invoice, attached\r\n"
        + b"--p\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        + b'Content-Disposition: attachment; filename="a.pdf"\r\n\r\n'
        + content
        + b"\r\n--p--\r\n"
    )
