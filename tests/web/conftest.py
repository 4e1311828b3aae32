"""Browser fixtures: the real app served by uvicorn on a free loopback port, driven by the
system Chromium (SHUA_TEST_CHROMIUM overrides /usr/bin/chromium) through Playwright. Without
Chromium the browser tests skip, unless SHUA_TEST_REQUIRE_BROWSER=1 makes that a failure."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page

CHROMIUM = os.environ.get("SHUA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
VIEWPORT = {"width": 360, "height": 640}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


def _need_browser() -> None:
    reason = None
    if not Path(CHROMIUM).is_file():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium fonts-wqy-zenhei)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            reason = "the playwright Python package is not installed (pip install playwright)"
    if reason:
        if os.environ.get("SHUA_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SHUA_TEST_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    _need_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app (built from the test `settings`) served for real on 127.0.0.1 in a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the OS picks a free port; no race between choosing and binding
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="shua-live-server")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@dataclass
class Tab:
    """A page plus what went wrong in it: script errors and CSP refusals must never happen."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        # A refused request (401 on a wrong password) is logged too; that is the API working.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.problems.append(message.text)


@pytest.fixture
async def new_tab(chromium: Browser, live_server: str) -> AsyncIterator[Any]:
    """Open a tab in a fresh browser profile (its own cookies): a separate device."""
    contexts: list[BrowserContext] = []
    tabs: list[Tab] = []

    async def open_tab(locale: str = "zh-CN", viewport: dict[str, int] | None = None) -> Tab:
        context = await chromium.new_context(
            base_url=live_server, viewport=viewport or VIEWPORT, locale=locale,  # type: ignore[arg-type]
            extra_http_headers={"Accept-Language": locale},
        )
        contexts.append(context)
        tab = Tab(await context.new_page())
        tab.page.on("console", tab.on_console)
        tab.page.on("pageerror", lambda exc: tab.problems.append(f"uncaught: {exc}"))
        tabs.append(tab)
        return tab

    yield open_tab
    for context in contexts:
        await context.close()
    problems = [p for tab in tabs for p in tab.problems]
    assert not problems, problems


@pytest.fixture
async def tab(new_tab: Any) -> Tab:
    opened: Tab = await new_tab()
    return opened
