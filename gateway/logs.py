"""Structured logging: one JSON object per line (or console for humans), third-party loggers
included; never a secret, never message text."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import orjson
import structlog
from aiohttp.http_exceptions import HttpProcessingError

from gateway.settings import Settings

REDACTED = "[redacted]"
# Configured secret values shorter than this are not searched for: a short value ("abc")
# would blank out ordinary words. The patterns below still catch tokens of known shapes.
MIN_SECRET_LENGTH = 8
# Tokens recognised by their shape, whether configured here or not.
TOKEN_PATTERNS = (
    r"(?i:bearer|basic)\s+[^\s'\",;]+",  # an Authorization header value
    r"cg_[A-Za-z0-9_-]{16,}",  # our API tokens
    r"(?<![0-9])[0-9]{5,16}:[A-Za-z0-9_-]{30,}",  # Telegram bot tokens, also in /bot<token>/
    r"xox[abposr]-[A-Za-z0-9-]{8,}",  # Slack tokens
    r"whsec_[A-Za-z0-9+/=]{16,}",  # events-out signing secrets (Standard Webhooks)
)
DSN_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@")
HANDLER_NAME = "contactgate"
# Request loggers that would put a line (and a URL, maybe with a token) per call in the log;
# slack-bolt's logs a refused request with its whole body (our name for bolt's logger).
QUIET_LOGGERS = (
    *("aiohttp.access", "httpx", "httpcore", "fontTools", "tortoise", "aiosqlite"),
    "contactgate.slack.bolt",
)
# Channel secrets named so hold credentials; the others are settings (smtp_host, from_number).
SECRET_NAME = re.compile(r"secret|token|key|password|auth")


SCALARS = (str, int, float, bool, type(None))


class Redactor:
    """A structlog processor removing secret values and token-shaped strings from every string
    of an event, however deeply nested (exception text included)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern = re.compile("|".join(TOKEN_PATTERNS))
        self.learn(secrets)

    def learn(self, secrets: Iterable[str]) -> None:
        """Also remove these values (from now on)."""
        new = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH} - self._secrets
        if new:
            self._secrets |= new
            literals = sorted(self._secrets, key=len)[::-1]  # the longest first
            self._pattern = re.compile("|".join([*map(re.escape, literals), *TOKEN_PATTERNS]))

    def text(self, value: str) -> str:
        """`value` with every secret replaced by [redacted]."""
        value = self._pattern.sub(REDACTED, value)
        return DSN_PASSWORD.sub(rf"\g<head>{REDACTED}@", value) if "://" in value else value

    def clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.clean(v) for v in value]
        if isinstance(value, bytes | bytearray):
            return self.text(bytes(value).decode("utf-8", "replace"))
        return value

    def __call__(self, _logger: Any, _name: str, event: structlog.typing.EventDict) -> Any:
        if all(isinstance(v, SCALARS) for v in event.values()):  # the usual line: one search
            joined = "\n".join(v for v in event.values() if isinstance(v, str))
            if not self._pattern.search(joined) and "://" not in joined:
                return event
        return {key: self.clean(value) for key, value in event.items()}


_active = Redactor()  # the one `configure` installed, which learns channels' secrets


def learn(secrets: Iterable[str]) -> None:
    """Remove these values from every line from now on (channels' secrets read at run time)."""
    _active.learn(secrets)


def channel_secrets(secrets: Mapping[str, str]) -> list[str]:
    """The credentials among a channel's secrets (smtp_host or from_number are not)."""
    return [value for name, value in secrets.items() if SECRET_NAME.search(name) and value]


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value the settings hold: channel secrets, API tokens, bot credentials and
    the database password."""
    values: list[str | None] = [v for ch in settings.channels for v in channel_secrets(ch.secrets)]
    values += [t.token for t in settings.tokens]
    values += [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.telegram_admin_bot_token,
        settings.telegram_admin_webhook_secret,
        settings.bot_action_secret,
    ]
    found = DSN_PASSWORD.search(settings.database_url)
    if found:
        values.append(settings.database_url[found.end("head") : found.end() - 1])
    return [v for v in values if v]


class _BadRequestFilter(logging.Filter):
    """aiohttp logs a malformed request with the raw bytes it received (headers, tokens, body):
    keep one line with the error's name instead, as a warning (the client is at fault)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg = f"bad HTTP request from {peer}: {type(exc).__name__} ({exc.code})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            if record.levelno > logging.WARNING:  # aiohttp says ERROR; a client's fault is less
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _json_text(event: Any, **kw: Any) -> str:
    return orjson.dumps(event, **kw).decode()


def configure(
    level: str = "INFO",
    fmt: str = "json",
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
    *,
    cache: bool = True,
) -> None:
    """Route structlog and every stdlib logger through one renderer on `stream` (stdout by
    default; the CLI's commands log to stderr, their stdout is their answer), removing
    `secrets` and token-shaped strings from every line. `cache` binds each logger once (for a
    long-running server; a short command need not, and then a later configure still counts)."""
    global _active
    out = stream or sys.stdout
    redact = _active = Redactor(secrets)
    head: list[structlog.typing.Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    tail: list[structlog.typing.Processor] = [structlog.processors.format_exc_info, redact]
    if fmt == "json":
        renderer: structlog.typing.Processor = structlog.processors.JSONRenderer(orjson.dumps)
        factory: structlog.typing.WrappedLogger = structlog.BytesLoggerFactory(out.buffer)
        text_renderer: structlog.typing.Processor = structlog.processors.JSONRenderer(_json_text)
    else:
        renderer = text_renderer = structlog.dev.ConsoleRenderer(colors=False)
        factory = structlog.PrintLoggerFactory(out)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *head, *tail, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=factory,
        cache_logger_on_first_use=cache,
    )
    _route_stdlib(level, out, [*head, structlog.stdlib.add_logger_name], [*tail, text_renderer])


def _route_stdlib(
    level: str,
    out: TextIO,
    pre_chain: list[structlog.typing.Processor],
    processors: list[structlog.typing.Processor],
) -> None:
    """One handler on the root logger renders every stdlib record like a structlog event."""
    handler = logging.StreamHandler(out)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=pre_chain,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *processors],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _BadRequestFilter) for f in server.filters):
        server.addFilter(_BadRequestFilter())
    logging.captureWarnings(True)
