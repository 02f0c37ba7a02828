"""The OpenAPI document: it matches the route table, and real responses match its schemas."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import orjson
import pytest

from gateway.api.openapi import document
from gateway.api.routes import ROUTES
from tests.gateway.api.support import Api
from tests.gateway.api.test_permissions import MATRIX

DOC = document(ROUTES)


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return found + [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def conforms(schema: dict[str, Any], body: Any) -> list[str]:
    """Validation errors of `body` against a schema of the document (refs resolved)."""
    validator = jsonschema_rs.validator_for({**schema, "components": DOC["components"]})
    return [str(e) for e in validator.iter_errors(body)]


def test_document_lists_every_route_with_its_role() -> None:
    listed = {
        (method.upper(), path.removeprefix("/api/v1")): op["x-required-role"]
        for path, ops in DOC["paths"].items()
        for method, op in ops.items()
    }
    assert listed == {(r.method, r.path): r.role for r in ROUTES}
    ids = [op["operationId"] for ops in DOC["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert DOC["security"] == [{"bearer": []}]


def test_every_reference_resolves_and_every_schema_is_used() -> None:
    names = {r.removeprefix("#/components/schemas/") for r in _refs(DOC)}
    assert names <= set(DOC["components"]["schemas"])
    assert set(DOC["components"]["schemas"]) == names


def test_path_parameters_are_declared() -> None:
    for path, ops in DOC["paths"].items():
        for op in ops.values():
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path


@pytest.mark.parametrize(("method", "path"), [pytest.param(*k, id=" ".join(k)) for k in MATRIX])
async def test_success_responses_match_the_document(api: Api, method: str, path: str) -> None:
    concrete, kwargs = await MATRIX[(method, path)][1](api)
    reply = await api(method, concrete, **kwargs)
    op = DOC["paths"][f"/api/v1{path}"][method.lower()]
    documented = op["responses"][str(reply.status)]
    assert reply.status < 300, reply.body
    media = reply.headers["Content-Type"].split(";")[0]
    schema = documented["content"][media]["schema"]
    body = reply.body if media == "application/json" else reply.body.decode("latin-1")
    assert conforms(schema, body) == []


async def test_error_bodies_match_the_document(api: Api) -> None:
    replies = [
        await api("GET", "/contacts", role=None),
        await api("GET", "/contacts/9"),
        await api("POST", "/contacts", json={"name": 5}),
        await api("POST", "/contacts", data=b"{", headers={"Content-Type": "application/json"}),
    ]
    for reply in replies:
        assert conforms({"$ref": "#/components/schemas/Error"}, reply.body) == []
    assert [r.status for r in replies] == [401, 404, 422, 400]


def test_document_is_json_serialisable() -> None:
    assert orjson.loads(orjson.dumps(DOC)) == DOC
