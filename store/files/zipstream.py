"""Writing a ZIP as it is produced, for a streamed answer: no seek, entries with data
descriptors, the bytes drained after each piece so memory stays flat."""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path

READ = 1 << 20


class Sink:
    """A write-only stream the ZIP writer fills and the caller drains."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> bytes:
        """What was written since the last drain."""
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


async def zip_files(files: Sequence[tuple[str, Path]]) -> AsyncGenerator[bytes, None]:
    """The ZIP of `files` ((name in the archive, path on disk)), read 1 MiB at a time off the
    event loop."""
    sink = Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in files:
            with path.open("rb") as source, zf.open(name, "w", force_zip64=True) as out:
                while chunk := await asyncio.to_thread(source.read, READ):
                    await asyncio.to_thread(out.write, chunk)
                    yield sink.drain()
    yield sink.drain()
