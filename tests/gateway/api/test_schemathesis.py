"""Schemathesis against the served OpenAPI document: no 5xx, responses as documented.

The app runs on aiohttp's test server in the test's event loop; schemathesis (synchronous,
`requests`-based) runs in a worker thread and calls it over real HTTP. SQLite only: the point
is the HTTP contract, and the store tests cover both databases.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
import schemathesis
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.gateway.api.support import seed_contacts, tokens

MAX_EXAMPLES = 80
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


def run_schemathesis(
    doc: dict[str, Any], base_url: str, token: str, only: str | None = None
) -> list[str]:
    """Every operation (or the one labelled `only`) in both generation modes; returns one
    line per failing operation and mode."""
    schema = schemathesis.openapi.from_dict(doc)
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is not None and operation.label != only:
            continue
        for mode in MODES:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

            try:
                check()
            except (Exception, BaseExceptionGroup) as exc:  # collect all, then assert once
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    return failures


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_schemathesis_finds_no_server_error(client: TestClient) -> None:
    keys = await tokens()
    await seed_contacts(client, keys["owner"])
    doc = await (await client.get("/api/v1/openapi.json")).json()
    base_url = str(client.make_url("")).rstrip("/")
    failures = await asyncio.to_thread(run_schemathesis, doc, base_url, keys["owner"])
    assert failures == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_harness_reports_a_response_that_breaks_the_schema(client: TestClient) -> None:
    keys = await tokens()
    await seed_contacts(client, keys["owner"])
    doc = copy.deepcopy(await (await client.get("/api/v1/openapi.json")).json())
    tag = doc["components"]["schemas"]["TagList"]["properties"]["tags"]["items"]
    tag["properties"]["contacts"] = {"type": "string"}  # the server sends an integer
    base_url = str(client.make_url("")).rstrip("/")
    failures = await asyncio.to_thread(
        run_schemathesis, doc, base_url, keys["owner"], "GET /api/v1/tags"
    )
    assert [f.split(":")[0] for f in failures] == [
        "GET /api/v1/tags [positive]",
        "GET /api/v1/tags [negative]",
    ]
    assert all("Response violates schema" in f for f in failures)
