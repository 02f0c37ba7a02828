"""A local receiver of events out (Standard Webhooks): records each POST as it arrived and
answers 204, or what a test scripted (an error status, or never: HANG)."""

from __future__ import annotations

from aiohttp import web

from tests.fake_server import FakeServer, Recorded

ROUTE = "hook"


class FakeReceiver(FakeServer[Recorded]):
    """POST /hook/{name}: every request kept in `calls` (headers and raw body)."""

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/hook/{name}", self._hook)

    def call_of(self, request: Recorded) -> Recorded:
        return request

    def hook(self, name: str = "a") -> str:
        """The URL of one of its endpoints."""
        return f"{self.url}/hook/{name}"

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        """Answer the next `times` requests with `status`."""
        for _ in range(times):
            self.script(ROUTE, web.json_response({"error": "down"}, status=status))

    async def _hook(self, request: web.Request) -> web.Response:
        await self.record(ROUTE, request)
        return await self.scripted(ROUTE) or web.Response(status=204)
