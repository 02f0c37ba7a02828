"""Names with any character route: `{`, `}`, `%`, `/` (as %2F) and spaces, percent-encoded.

Paths are sent exactly as written (already encoded), the way a client that quotes every
reserved character sends them.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from yarl import URL

from gateway.api.routes import ROUTES
from tests.gateway.api.support import Api, error

NAMES = [
    pytest.param("promo {2026}", "promo%20%7B2026%7D", id="braces"),
    pytest.param("t{1}", "t%7B1%7D", id="tight-braces"),
    pytest.param("a/b", "a%2Fb", id="slash"),
    pytest.param("100%", "100%25", id="percent"),
    pytest.param("{}", "%7B%7D", id="only-braces"),
]


async def call(api: Api, method: str, raw_path: str, role: str = "owner", **body: Any) -> Any:
    """A request whose path goes on the wire as written."""
    headers = {"Authorization": f"Bearer {api.tokens[role]}"}
    data = None
    if body:
        data, headers["Content-Type"] = orjson.dumps(body), "application/json"
    url = URL("/api/v1" + raw_path, encoded=True)
    response = await api.client.request(method, url, headers=headers, data=data)
    return response.status, await response.json()


@pytest.mark.parametrize(("name", "encoded"), NAMES)
async def test_a_view_with_any_name_can_be_shown_run_and_deleted(
    api: Api, name: str, encoded: str
) -> None:
    saved = await call(api, "POST", "/views", name=name, filter="tag:vip")
    assert saved[0] == 201
    shown = await call(api, "GET", f"/views/{encoded}")
    assert (shown[0], shown[1]["name"]) == (200, name)
    run = await call(api, "GET", f"/views/{encoded}/contacts")
    assert run == (200, {"contacts": [], "next_cursor": None, "total": None})
    assert await call(api, "DELETE", f"/views/{encoded}") == (200, {"deleted": name})
    assert await call(api, "GET", f"/views/{encoded}") == (
        404,
        error("not_found", f"no view {name!r}"),
    )


@pytest.mark.parametrize(("name", "encoded"), NAMES)
async def test_a_tag_with_any_name_can_be_deleted(api: Api, name: str, encoded: str) -> None:
    contact = await api.create(name="Ana")
    tagged = await call(api, "POST", f"/contacts/{contact['id']}/tags", tags=[name])
    assert (tagged[0], tagged[1]["tags"]) == (200, [name])
    assert await call(api, "DELETE", f"/tags/{encoded}") == (200, {"deleted": name, "contacts": 1})


@pytest.mark.parametrize(("name", "encoded"), NAMES)
async def test_an_agent_gets_403_on_admin_routes_whatever_the_name(
    api: Api, name: str, encoded: str
) -> None:
    forbidden = (403, error("forbidden", "this needs the admin role; you are agent"))
    assert await call(api, "DELETE", f"/tags/{encoded}", role="agent") == forbidden
    assert await call(api, "DELETE", f"/views/{encoded}", role="agent") == forbidden
    assert await call(api, "DELETE", f"/contacts/{encoded}", role="agent") == forbidden
    assert await call(api, "GET", f"/contacts/{encoded}/merge/{encoded}", role="agent") == (
        forbidden
    )


async def test_every_path_parameter_route_takes_encoded_braces(api: Api) -> None:
    """No route with a parameter answers "no API route" for a name with braces or %2F."""
    seen = {}
    for route in ROUTES:
        if not route.path_params:
            continue
        path = route.path
        for param in route.path_params:
            path = path.replace(f"{{{param}}}", "x%7By%7D%2Fz")
        status, body = await call(api, route.method, path, role="agent")
        seen[f"{route.method} {route.path}"] = "routed" if "no API route" not in str(body) else body
        assert status in {403, 404, 415, 400, 422}, (route.path, status, body)
    assert set(seen.values()) == {"routed"}
