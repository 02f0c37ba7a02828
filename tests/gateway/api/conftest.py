"""The `api` fixture: the gateway on both databases with a workspace and a token per role."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.api.support import Api, tokens


@pytest.fixture
async def api(client: TestClient) -> Api:
    """The app with workspace `acme` (region EC) and agent/admin/owner tokens."""
    keys = await tokens()
    return Api(client, keys)
