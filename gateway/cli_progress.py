"""Progress of a long CLI command (import, export): a bar on a terminal, a line every few
seconds otherwise (a log file, a pipe, CI), both on stderr so stdout stays the data."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

LINE_EVERY = 5.0  # seconds between progress lines when stderr is no terminal

Report = Callable[[int, int], None]  # (done, total)


@contextmanager
def progress(
    label: str,
    unit: str,
    *,
    stream: TextIO | None = None,
    every: float = LINE_EVERY,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Report]:
    """A `report(done, total)` for the work inside the block."""
    out = stream or sys.stderr
    if out.isatty():
        with _bar(label, out) as report:
            yield report
        return
    last = [clock()]  # work done within `every` seconds prints no line (the command sums up)

    def line(done: int, total: int) -> None:
        now = clock()
        if now - last[0] < every:
            return
        last[0] = now
        share = f" ({done * 100 // total} %)" if total else ""
        out.write(f"{label}: {done:,} of {total:,} {unit}{share}\n")
        out.flush()

    yield line


@contextmanager
def _bar(label: str, out: TextIO) -> Iterator[Report]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(file=out), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield report
