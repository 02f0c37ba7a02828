"""The widget in a real headless Chromium (Debian's `chromium`, driven by Playwright): a page on
another origin embeds it with one script tag; a visitor writes, an agent replies through the
API, the reply appears on the page, and a reload keeps the conversation.

Without a `chromium` on the PATH the test is skipped with the reason, except when CI=true
(`.ci/run` installs it), where it fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Page, async_playwright, expect

from gateway.provision import known_kinds
from store.channels import upsert_channel
from tests import helpers as h
from tests.gateway.api.support import tokens

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
KEY = "wc-acme-widget-01"
WAIT = 10_000  # milliseconds the page may take to show what must appear


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no chromium on the PATH: .ci/run installs Debian's chromium")
        pytest.skip("no chromium on the PATH (apt-get install chromium); CI runs this test")
    return CHROMIUM


@pytest.fixture
async def shop(aiohttp_server: Any, client: TestClient) -> AsyncIterator[str]:
    """The business's page, on its own origin, embedding the widget with one tag."""
    gateway = str(client.make_url("")).rstrip("/")
    html = (
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>Shop</title>"
        "<h1>Our shop</h1>"
        f"<script src='{gateway}/webchat/widget.js' data-channel='{KEY}' defer></script></html>"
    )

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    server: TestServer = await aiohttp_server(app)
    yield str(server.make_url("/"))


async def open_chat(page: Page, url: str | None = None) -> None:
    if url is not None:
        await page.goto(url)
    await page.click("#cg-launcher")
    await expect(page.locator("#cg-panel")).to_be_visible()


async def test_a_visitor_writes_an_agent_replies_and_a_reload_keeps_it(
    chromium: str, client: TestClient, shop: str
) -> None:
    agent = (await tokens())["agent"]
    origin = shop.rstrip("/")
    secrets = {"hmac_secret": "s3cret", "allowed_origins": origin}
    await upsert_channel("acme", "webchat", KEY, secrets, known_kinds=known_kinds())
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await open_chat(page, shop)
            await page.fill("#cg-text", "Hola, ¿tienen talla M?")
            await page.click("#cg-send")
            mine = page.locator("#cg-messages li.cg-in:not(.cg-pending)")
            await expect(mine).to_have_text(["Hola, ¿tienen talla M?"], timeout=WAIT)
            visitor = await page.evaluate(f"localStorage.getItem('contactgate:{KEY}:visitor')")
            cid = await h.scalar("SELECT contact_id FROM identity WHERE external_id = ?", visitor)
            resp = await client.post(
                f"/api/v1/contacts/{cid}/messages",
                json={"text": "Sí, tenemos."},
                headers={"Authorization": f"Bearer {agent}"},
            )
            assert resp.status == 201, await resp.text()
            replies = page.locator("#cg-messages li.cg-out")
            await expect(replies).to_have_text(["Sí, tenemos."], timeout=WAIT)

            await page.reload()
            await open_chat(page)
            everything = page.locator("#cg-messages li")
            await expect(everything).to_have_text(
                ["Hola, ¿tienen talla M?", "Sí, tenemos."], timeout=WAIT
            )
            assert (
                await page.evaluate(f"localStorage.getItem('contactgate:{KEY}:visitor')") == visitor
            )
        finally:
            await browser.close()


async def test_the_pre_chat_form_is_asked_once_and_fills_the_contact(
    chromium: str, client: TestClient, shop: str
) -> None:
    await h.workspace()
    secrets = {"hmac_secret": "s3cret", "allowed_origins": shop.rstrip("/"), "prechat": "true"}
    await upsert_channel("acme", "webchat", KEY, secrets, known_kinds=known_kinds())
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await open_chat(page, shop)
            await expect(page.locator("#cg-prechat")).to_be_visible(timeout=WAIT)
            await page.fill("#cg-name", "Ana")
            await page.fill("#cg-email", "ana@example.com")
            await page.fill("#cg-text", "Hola")
            await page.click("#cg-send")
            mine = page.locator("#cg-messages li.cg-in:not(.cg-pending)")
            await expect(mine).to_have_text(["Hola"], timeout=WAIT)
            await expect(page.locator("#cg-prechat")).to_be_hidden()
        finally:
            await browser.close()
    rows = await h.rows("SELECT name, email, custom FROM contact")
    assert [(r["name"], r["email"]) for r in rows] == [("Ana", "ana@example.com")]
    custom = rows[0]["custom"]
    assert (orjson.loads(custom) if isinstance(custom, str) else custom) == {"unverified": "email"}
