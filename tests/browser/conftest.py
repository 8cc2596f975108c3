"""Browser fixtures: a dev server with its Web UI, the simulator and a worker for this folder
alone (so a filter's answer is exactly the inquiries its tests started), and Debian's Chromium,
headless, driven by Playwright. No browser is downloaded: without Chromium these tests are
skipped, and fail when CI=true."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.browser.ui import TemporalUi
from tests.integration.conftest import Stack, dev_server, running_stack

ROOT = Path(__file__).resolve().parents[2]
# As the issue asks, plus what keeps Chromium from reaching for the network on its own.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if found:
        return found
    reason = "Chromium is not installed (apt-get install chromium; or set CHROMIUM_PATH)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where screenshots are kept: TEST_ARTIFACTS_DIR/browser, by default test-artifacts/."""
    folder = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    executable = _chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
async def ui_stack(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Stack, str]]:
    """A fresh dev server with its UI, the simulator and a worker; and the UI's base URL."""
    port = _free_port()
    data = tmp_path_factory.mktemp("ui")
    async with (
        dev_server(data, ui=True, ui_port=port) as env,
        running_stack(env, data, ui_origin=f"http://127.0.0.1:{port}") as stack,
    ):
        yield stack, f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def browsing(
    browser: Browser, ui_stack: tuple[Stack, str], artifacts: Path
) -> AsyncIterator[TemporalUi]:
    """A fresh browser profile on the UI, with the codec server set in its codec settings."""
    stack, base_url = ui_stack
    context = await browser.new_context(viewport={"width": 1600, "height": 1000})
    page: Page = await context.new_page()
    try:
        ui = TemporalUi(page, base_url, artifacts)
        await ui.use_codec_server(stack.codec.url)
        yield ui
    finally:
        await context.close()


@pytest.fixture
async def ui(
    browser: Browser, ui_stack: tuple[Stack, str], artifacts: Path
) -> AsyncIterator[TemporalUi]:
    """The UI as the roster's operator sees it, signed in at the codec server."""
    async with browsing(browser, ui_stack, artifacts) as signed_in:
        codec = ui_stack[0].codec
        await signed_in.sign_in(codec.url, codec.operator, codec.token)
        yield signed_in


@pytest.fixture
async def stranger_ui(
    browser: Browser, ui_stack: tuple[Stack, str], artifacts: Path
) -> AsyncIterator[TemporalUi]:
    """The UI for someone with access to the namespace but no codec sign-in."""
    async with browsing(browser, ui_stack, artifacts) as stranger:
        yield stranger
