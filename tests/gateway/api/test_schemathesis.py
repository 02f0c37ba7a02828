"""Schemathesis against the served OpenAPI document, with every check and every phase.

The app runs on aiohttp's test server in the test's event loop; the `st` command line runs as
a subprocess against it over real HTTP: examples, coverage, fuzzing and the stateful phase
(the document's links), `--checks all` (no 5xx; responses, statuses, content types and headers
as documented; schema-valid requests accepted and schema-invalid ones refused; auth and
method checks). Fixed seed and example count: the same requests every run.
"""

from __future__ import annotations

import asyncio
import copy
import os
import re
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.api.support import seed_contacts, tokens

ST = str(Path(sys.executable).parent / "st")
ROOT = Path(__file__).resolve().parents[3]
HOOKS = {"SCHEMATHESIS_HOOKS": "tests.gateway.api.st_hooks", "PYTHONPATH": str(ROOT)}
MAX_EXAMPLES = 6
SEED = 1
PHASES = "examples,coverage,fuzzing,stateful"


async def run_st(
    client: TestClient, token: str, tmp_path: Path, doc: dict[str, Any] | None = None, *extra: str
) -> tuple[int, str]:
    """Run schemathesis against the app; (exit code, its whole report)."""
    base = str(client.make_url("")).rstrip("/")
    location = f"{base}/api/v1/openapi.json"
    if doc is not None:
        location = str(tmp_path / "openapi.json")
        await asyncio.to_thread(Path(location).write_bytes, orjson.dumps(doc))
    args = [location, "--url", base] if doc is not None else [location]
    process = await asyncio.create_subprocess_exec(
        *[ST, "run", *args, "-H", f"Authorization: Bearer {token}", "--checks", "all"],
        *["--phases", PHASES, "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED)],
        *["--workers", "1", "--no-color", "--suppress-health-check", "all", *extra],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
        env={**os.environ, **HOOKS},
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


def failures(report: str) -> dict[str, int]:
    """Failure kind -> count, from the report's summary."""
    block = report.split("Failures:", 1)[1].split("\n\n", 1)[0] if "Failures:" in report else ""
    return {m[0]: int(m[1]) for m in re.findall(r"❌ ([^:\n]+): (\d+)", block)}


def refusals(report: str) -> list[str]:
    """The error details of the failing responses the report shows."""
    return re.findall(r'`\{"error":"\w+","detail":"(.*?)"\}`', report.split("FAILURES", 1)[-1])


def requests_made(report: str) -> int:
    """How many test cases schemathesis generated (one request each, more when stateful)."""
    return int(re.findall(r"(\d+) generated", report)[-1])


@pytest.mark.parametrize("role", ["owner", "agent"])
async def test_schemathesis_finds_nothing_with_every_check(
    client: TestClient, role: str, tmp_path: Path
) -> None:
    keys = await tokens()
    await seed_contacts(client, keys["owner"])
    code, report = await run_st(client, keys[role], tmp_path)
    assert failures(report) == {}, report
    assert refusals(report) == [], report
    assert code == 0, report
    assert requests_made(report) > 1500, report
    assert "Server error" not in report and "Stateful" in report, report


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_harness_reports_a_response_that_breaks_the_schema(
    client: TestClient, tmp_path: Path
) -> None:
    keys = await tokens()
    await seed_contacts(client, keys["owner"])
    doc = copy.deepcopy(await (await client.get("/api/v1/openapi.json")).json())
    tag = doc["components"]["schemas"]["TagList"]["properties"]["tags"]["items"]
    tag["properties"]["contacts"] = {"type": "string"}  # the server sends an integer
    only = ("--include-path", "/tags", "--include-method", "GET")
    code, report = await run_st(client, keys["owner"], tmp_path, doc, *only)
    assert code == 1, report
    assert failures(report) == {"ST108 Response violates schema": 1}, report


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_harness_reports_a_refused_valid_request(client: TestClient, tmp_path: Path) -> None:
    """A schema looser than the server (any sort text) is caught as positive data refused."""
    keys = await tokens()
    doc = copy.deepcopy(await (await client.get("/api/v1/openapi.json")).json())
    params = doc["paths"]["/api/v1/contacts"]["get"]["parameters"]
    next(p for p in params if p["name"] == "sort")["schema"] = {"type": "string"}
    only = ("--include-path", "/contacts", "--include-method", "GET")
    code, report = await run_st(client, keys["owner"], tmp_path, doc, *only)
    assert code == 1, report
    assert failures(report) == {"ST202 Schema-valid request rejected": 1}, report
