"""The `api` fixture: the gateway on both databases with a workspace and a token per role."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from gateway.settings import Settings
from tests.fake_providers import FakeProviders
from tests.gateway.api.support import Api, tokens


@pytest.fixture
async def providers() -> AsyncIterator[FakeProviders]:
    """Local fakes of the providers' send APIs (outbound messages go there)."""
    async with FakeProviders() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, providers: FakeProviders) -> Settings:
    """The test settings with every provider API pointed at the local fakes."""
    return settings.model_copy(update=providers.settings())


@pytest.fixture
async def api(client: TestClient) -> Api:
    """The app with workspace `acme` (region EC) and agent/admin/owner tokens."""
    keys = await tokens()
    return Api(client, keys)
