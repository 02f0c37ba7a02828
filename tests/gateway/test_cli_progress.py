"""Progress of long CLI work: a line every few seconds off a terminal, a bar on one; and the
store's import and export telling their progress."""

from __future__ import annotations

import io
from pathlib import Path

from gateway.cli_progress import progress
from store.files import csvio


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_a_line_every_few_seconds() -> None:
    out, clock = io.StringIO(), _Clock()
    with progress("importing", "rows", stream=out, every=5, clock=clock) as report:
        report(1_000, 40_000)  # within the first 5 s: nothing
        clock.now += 5
        report(20_000, 40_000)
        clock.now += 1
        report(25_000, 40_000)  # 1 s later: nothing
        clock.now += 4
        report(40_000, 40_000)
    assert out.getvalue() == (
        "importing: 20,000 of 40,000 rows (50 %)\nimporting: 40,000 of 40,000 rows (100 %)\n"
    )


def test_on_a_terminal_a_bar() -> None:
    out = _Terminal()
    with progress("exporting", "contacts", stream=out) as report:
        report(300, 1_200)
        report(1_200, 1_200)
    assert "exporting" in out.getvalue() and "1200/1200" in out.getvalue()


def test_count_lines_is_the_data_rows(tmp_path: Path) -> None:
    cases = {"a\n1\n2\n": 2, "a\r\n1\r\n2": 2, "a": 0, "": 0, "a\n": 0}
    for i, (text, rows) in enumerate(cases.items()):
        path = tmp_path / f"{i}.csv"
        path.write_text(text, newline="")
        assert csvio.count_lines(path) == rows, text
