"""Initializers for the parser worker process in tests (a small module: each worker imports it)."""

from __future__ import annotations

import os
from datetime import datetime

from gateway.channels import email


def freeze_clock(now: datetime) -> None:
    """Stop the email channel's clock at `now`."""
    email.utc_now = lambda: now  # type: ignore[assignment]


def die() -> None:
    """A worker process that dies as it starts (killed, out of memory)."""
    os._exit(1)
