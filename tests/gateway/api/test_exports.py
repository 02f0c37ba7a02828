"""/exports: streamed CSV, PDF, and their refusals."""

from __future__ import annotations

import re

from tests.gateway.api.support import Api, audit_rows, error

BOM = "\ufeff"


async def _people(api: Api) -> None:
    await api.create(name="José", email="jose@example.com", city="Quito")
    await api.create(name="=cmd()", email="eve@example.com", custom={"plan": "gold"})
    await api("POST", "/contacts/1/tags", json={"tags": ["vip", "lead"]})


async def test_csv_export_streams_chosen_columns(api: Api) -> None:
    await _people(api)
    reply = await api("GET", "/exports", role="admin", params={"columns": "email,tags,custom.plan"})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="contacts-\d{4}-\d\d-\d\d\.csv"',
        reply.headers["Content-Disposition"],
    )
    assert reply.headers.get("Transfer-Encoding") == "chunked"
    assert reply.body.decode() == (
        f"{BOM}name,email,tags,custom.plan\r\n"
        'José,jose@example.com,"lead, vip",\r\n'
        "'=cmd(),eve@example.com,,gold\r\n"
    )
    actor, action, target, detail = (await audit_rows())[-1]
    assert (actor, action, target, detail["rows"], detail["complete"]) == (
        "token:admin-bot",
        "contact.export",
        "csv",
        2,
        True,
    )


async def test_csv_export_by_search(api: Api) -> None:
    await _people(api)
    reply = await api("GET", "/exports", params={"q": "quito", "columns": "city"})
    assert reply.body.decode() == f"{BOM}name,city\r\nJosé,Quito\r\n"


async def test_csv_export_by_filter_and_view(api: Api) -> None:
    await _people(api)
    by_filter = await api("GET", "/exports", params={"filter": "tag:vip", "columns": "email"})
    assert by_filter.body.decode() == f"{BOM}name,email\r\nJosé,jose@example.com\r\n"
    await api("POST", "/views", json={"name": "gold", "filter": "custom.plan:gold",
                                      "columns": ["email", "custom.plan"]})  # fmt: skip
    by_view = await api("GET", "/exports", params={"view": "gold"})
    assert (
        by_view.body.decode() == f"{BOM}name,email,custom.plan\r\n'=cmd(),eve@example.com,gold\r\n"
    )


async def test_pdf_export(api: Api) -> None:
    await _people(api)
    reply = await api("GET", "/exports", params={"format": "PDF", "columns": "email"})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/pdf"
    assert reply.body.startswith(b"%PDF-")
    assert (await audit_rows())[-1][1:3] == ("contact.export", "pdf")


async def test_export_refusals(api: Api) -> None:
    cases = {
        "format=xml": (
            422,
            error("invalid", "format must be one of csv, pdf, CSV, PDF, not 'xml'"),
        ),
        "view=nope": (404, error("not_found", "no view 'nope'")),
        "q=%00": (400, error("bad_request", "query parameter q must not contain NUL characters")),
    }
    for query, expected in cases.items():
        reply = await api("GET", f"/exports?{query}")
        assert (query, reply.status, reply.body) == (query, *expected)
    bad = await api("GET", "/exports", params={"columns": "email,shoe"})
    assert bad.status == 422
    assert bad.body["detail"].startswith("columns[1]: a column: id, name, email, phone")


async def test_the_file_is_named_after_what_it_holds_and_the_day(api: Api) -> None:
    await _people(api)
    await api("POST", "/views", json={"name": "VIP Andinos", "filter": "tag:vip"})
    named = {
        "view=VIP%20Andinos": "vip-andinos",
        "filter=tag%3Avip%20country%3AEC": "tag-vip-country-ec",
        "q=Jos%C3%A9": "jose",
        "format=pdf": "contacts",
    }
    for query, stem in named.items():
        reply = await api("GET", f"/exports?{query}")
        disposition = reply.headers["Content-Disposition"]
        assert re.fullmatch(rf'attachment; filename="{stem}-\d{{4}}-\d\d-\d\d\.(csv|pdf)"',
                            disposition), (query, disposition)  # fmt: skip
