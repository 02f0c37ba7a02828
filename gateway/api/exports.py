"""/exports: a CSV (streamed) or PDF export of all contacts, a filter, a view or a search."""

from __future__ import annotations

import io

from aiohttp import web

from gateway.api.common import download, query_filter, query_text
from store.auth import Caller
from store.errors import Invalid
from store.files import export

FORMATS = {"csv": "text/csv", "pdf": "application/pdf"}


async def create(request: web.Request, caller: Caller) -> web.StreamResponse:
    """GET /exports?format=csv|pdf&columns=&filter=&view=&q=: download the contacts."""
    fmt = query_text(request, "format", "csv").lower()
    if fmt not in FORMATS:
        raise Invalid(f"format must be csv or pdf, not {fmt[:20]!r}")
    options: export.ExportOptions = {
        "filter": query_filter(request),
        "view": query_text(request, "view") or None,
        "q": query_text(request, "q"),
        "columns": [c for c in query_text(request, "columns").split(",") if c.strip()] or None,
    }
    name = await export.file_name(caller.actor, fmt, **options)
    if fmt == "pdf":
        out = io.BytesIO()
        await export.write_pdf(caller.actor, out, **options)
        return web.Response(body=out.getvalue(), headers=_headers("pdf", name))
    chunks = await export.iter_csv(caller.actor, **options)  # bad options raise here
    # A client that goes away ends the stream; the export is audited as partial.
    return await download(request, chunks, _headers("csv", name)["Content-Type"], name)


def _headers(fmt: str, name: str) -> dict[str, str]:
    charset = "; charset=utf-8" if fmt == "csv" else ""
    return {
        "Content-Type": FORMATS[fmt] + charset,
        "Content-Disposition": f'attachment; filename="{name}"',
    }
