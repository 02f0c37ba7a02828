"""/imports: CSV bodies streamed to a file, counts, inline error report, dry run, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient

from gateway.api.imports import IMPORT_LIMIT
from gateway.app import create_app
from gateway.settings import Settings
from tests import helpers as h
from tests.gateway.api.support import Api, audit_rows, error, finished_job, import_job, tokens

CSV = {"Content-Type": "text/csv"}
SKIP = {"on_conflict": "skip", "finished": True}
PEOPLE = (
    "name,email,phone,tags,plan\n"
    "Ana,ana@example.com,0991234567,vip,gold\n"
    "Bea,bad-email,,,\n"
    "José,jose@example.com,,,\n"
).encode()


def counts(
    rows: int,
    created: int = 0,
    updated: int = 0,
    skipped: int = 0,
    failed: int = 0,
    conflicts: int = 0,
) -> dict[str, int]:
    """The count part of an import result."""
    return {
        "rows": rows,
        "created": created,
        "updated": updated,
        "skipped": skipped,
        "failed": failed,
        "conflicts": conflicts,
    }


async def test_import_creates_then_updates_with_an_inline_error_report(api: Api) -> None:
    first = await import_job(api, "/imports", role="admin", data=PEOPLE, headers=CSV)
    assert (first.status, first.body) == (
        200,
        {
            **counts(3, created=2, failed=1),
            "encoding": "utf-8",
            "delimiter": ",",
            "dry_run": False,
            "on_conflict": "skip",
            "errors_csv": "line,error,name,email,phone,tags,plan\r\n"
            "3,email 'bad-email' is not a valid address,Bea,bad-email,,,\r\n",
            "errors_truncated": False,
        },
    )
    ana = await api("GET", "/contacts/email:ana@example.com")
    assert (ana.body["phone"], ana.body["tags"], ana.body["custom"], ana.body["source"]) == (
        "+593991234567",
        ["vip"],
        {"plan": "gold"},
        "import",
    )
    again = await import_job(
        api, "/imports", data=b"email,city\nana@example.com,Quito\n", headers=CSV
    )
    assert {k: again.body[k] for k in counts(0)} == counts(1, updated=1)
    actions = [(r[0], r[1], r[3]) for r in await audit_rows() if r[1] == "contact.import"]
    assert actions == [
        ("token:admin-bot", "contact.import", {**counts(3, created=2, failed=1), **SKIP}),
        ("token:owner-bot", "contact.import", {**counts(1, updated=1), **SKIP}),
    ]


async def test_dry_run_changes_nothing(api: Api) -> None:
    reply = await import_job(api, "/imports", params={"dry_run": "true"}, data=PEOPLE, headers=CSV)
    assert (reply.status, {k: reply.body[k] for k in counts(0)}, reply.body["dry_run"]) == (
        200,
        counts(3, created=2, failed=1),
        True,
    )
    assert reply.body["errors_csv"].startswith("line,error,")
    listed = await api("GET", "/contacts")
    assert listed.body["contacts"] == []
    assert [r for r in await audit_rows() if r[1] == "contact.import"] == []


async def test_latin1_semicolon_file(api: Api) -> None:
    data = "nombre;correo;ciudad\nJosé;jose@example.com;Cuenca\n".encode("latin-1")
    reply = await import_job(api, "/imports", data=data, headers=CSV)
    assert (reply.body["created"], reply.body["encoding"], reply.body["delimiter"]) == (
        1,
        "cp1252",
        ";",
    )
    shown = await api("GET", "/contacts/email:jose@example.com")
    assert (shown.body["name"], shown.body["city"]) == ("José", "Cuenca")


async def test_import_refusals(api: Api) -> None:
    nul = error("invalid", "the file contains NUL bytes: it is not a CSV text file")
    not_csv = error("bad_request", "send the CSV as the body with Content-Type: text/csv")
    cases = [
        (b"", CSV, 422, error("invalid", "the file is empty")),
        (b"name\n\x00\n", CSV, 422, nul),
        (b"name\nAna\n", {"Content-Type": "application/json"}, 400, not_csv),
        (b"name\nAna\n", {}, 400, not_csv),
    ]
    for data, headers, status, expected in cases:
        reply = await import_job(api, "/imports", data=data, headers=headers)
        assert (data, reply.status, reply.body) == (data, status, expected)
    bad_flag = await import_job(api, "/imports?dry_run=maybe", data=b"name\nAna\n", headers=CSV)
    assert (bad_flag.status, bad_flag.body) == (
        400,
        error("bad_request", "query parameter dry_run must be true or false, not 'maybe'"),
    )


async def test_import_over_the_limit_is_413(aiohttp_client: object, settings: Settings) -> None:
    app = create_app(settings)
    app[IMPORT_LIMIT] = 1000
    client: TestClient = await aiohttp_client(app)  # type: ignore[operator]
    api = Api(client, await tokens())
    body = b"name\n" + b"Ana\n" * 300
    declared = await import_job(api, "/imports", data=body, headers=CSV)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(300):
            yield b"Ana\n"

    streamed = await client.post(
        "/api/v1/imports",
        data=chunks(),
        headers={**CSV, "Authorization": f"Bearer {api.tokens['owner']}"},
    )
    too_large = error("too_large", "body over 1000 bytes")
    assert (declared.status, declared.body) == (413, too_large)
    assert (streamed.status, await streamed.json()) == (413, too_large)
    small = await import_job(api, "/imports", data=b"name\n" + b"Ana\n" * 200, headers=CSV)
    assert (small.status, small.body["rows"]) == (200, 200)


CONFLICTING = (
    "name,email,city\n"
    "José Pérez,ana@example.com,Lima\n"  # Ana's email, another person's name
    "ANA PÉREZ,ana@example.com,Quito\n"  # her own name, folded: an update
    "Ana Pérez,ana@example.com,Cuenca\n"  # the row above wrote her already
).encode()


async def test_conflicts_are_reported_and_written_only_with_on_conflict_update(api: Api) -> None:
    made = await api("POST", "/contacts", json={"name": "Ana Pérez", "email": "ana@example.com"})
    ana = made.body["id"]
    dry = await import_job(api, "/imports?dry_run=true", data=CONFLICTING, headers=CSV)
    real = await import_job(api, "/imports", data=CONFLICTING, headers=CSV)
    report = (
        "line,error,name,email,city\r\n"
        f"2,\"conflict: the email matches contact #{ana}, whose name is another person's; not"
        f" written (differs: name 'Ana Pérez' -> 'José Pérez', city (empty) -> 'Lima')\",José"
        " Pérez,ana@example.com,Lima\r\n"
        f"4,conflict: an earlier row of this file already wrote contact #{ana}; not written"
        " (differs: city 'Quito' -> 'Cuenca'),Ana Pérez,ana@example.com,Cuenca\r\n"
    )
    expected = {
        **counts(3, updated=1, conflicts=2),
        **{"encoding": "utf-8", "delimiter": ",", "on_conflict": "skip"},
        **{"errors_csv": report, "errors_truncated": False},
    }
    assert (dry.status, dry.body) == (200, {**expected, "dry_run": True})
    assert (real.status, real.body) == (200, {**expected, "dry_run": False})
    shown = await api("GET", f"/contacts/{ana}")
    assert (shown.body["name"], shown.body["city"]) == ("Ana Pérez", "Quito")
    again = await import_job(api, "/imports", data=CONFLICTING, headers=CSV)
    assert {k: again.body[k] for k in counts(0)} == counts(3, skipped=1, conflicts=2)
    forced = await import_job(
        api, "/imports", params={"on_conflict": "update"}, data=CONFLICTING, headers=CSV
    )
    assert (forced.status, {k: forced.body[k] for k in counts(0)}) == (200, counts(3, updated=3))
    assert (forced.body["on_conflict"], forced.body["errors_csv"]) == ("update", None)
    shown = await api("GET", f"/contacts/{ana}")
    # Each row wrote in turn; the last one's name is the same as the stored one, folded.
    assert (shown.body["name"], shown.body["city"]) == ("ANA PÉREZ", "Cuenca")
    audits = [r[3] for r in await audit_rows() if r[1] == "contact.import"]
    assert audits == [
        {**counts(3, updated=1, conflicts=2), **SKIP},
        {**counts(3, skipped=1, conflicts=2), **SKIP},
        {**counts(3, updated=3), "on_conflict": "update", "finished": True},
    ]


async def test_an_unknown_on_conflict_is_refused_before_the_body_is_read(api: Api) -> None:
    reply = await import_job(api, "/imports?on_conflict=merge", data=CONFLICTING, headers=CSV)
    assert (reply.status, reply.body) == (
        422,
        error("invalid", "on_conflict must be one of skip, update, not 'merge'"),
    )
    assert [r for r in await audit_rows() if r[1] == "contact.import"] == []


async def test_an_import_is_a_job_answered_at_once(api: Api) -> None:
    started = await api("POST", "/imports", role="admin", data=PEOPLE, headers=CSV)
    assert started.status == 202
    job = started.body
    assert {k: job[k] for k in ("state", "dry_run", "on_conflict", "rows_done", "rows_total")} == {
        "state": "running",
        "dry_run": False,
        "on_conflict": "skip",
        "rows_done": 0,
        "rows_total": 3,
    }
    assert (job["result"], job["errors_csv"], job["created_by"]) == (None, None, "token:admin-bot")
    done = await finished_job(api, job["id"])
    assert (done.body["state"], done.body["rows_done"], done.body["error"]) == ("done", 3, None)
    assert done.body["result"] == {**counts(3, created=2, failed=1), "encoding": "utf-8",
                                   "delimiter": ","}  # fmt: skip
    assert done.body["finished_at"] is not None


async def test_jobs_are_the_workspaces_own_and_an_interrupted_one_says_so(api: Api) -> None:
    started = await api("POST", "/imports", data=PEOPLE, headers=CSV)
    await finished_job(api, started.body["id"])
    assert (await api("GET", "/imports/999999")).status == 404
    assert (await api("GET", f"/imports/{started.body['id']}", role="agent")).status == 403
    other = Api(api.client, await tokens("other"))
    assert (await other("GET", f"/imports/{started.body['id']}")).status == 404
    # A job whose process died: still `running` in its row, not heard of for minutes.
    await h.rows(
        "UPDATE import_job SET state = 'running', heartbeat_at = ? WHERE id = ?",
        datetime(2001, 1, 1, tzinfo=UTC),
        started.body["id"],
    )
    cut = await api("GET", f"/imports/{started.body['id']}")
    assert cut.body["state"] == "failed"
    assert cut.body["error"] == (
        "interrupted: the gateway process running it stopped; rows written stay"
    )
