"""Browser fixtures: a dev server with its Web UI, the simulator and a worker for this folder
alone (so a filter's answer is exactly the inquiries its tests started), and Debian's Chromium,
headless, driven by Playwright. No browser is downloaded: without Chromium these tests are
skipped, and fail when CI=true."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright
from temporalio.testing import WorkflowEnvironment

import clients
from tests.browser.ui import TemporalUi
from tests.integration.conftest import Stack, running_stack
from tests.support import binary

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
    env = await WorkflowEnvironment.start_local(
        data_converter=clients.data_converter,
        dev_server_existing_path=binary("temporal"),
        dev_server_log_level="error",
        ui=True,
        ui_port=port,
    )
    async with env, running_stack(env, tmp_path_factory.mktemp("ui")) as stack:
        yield stack, f"http://127.0.0.1:{port}"


@pytest.fixture
async def ui(
    browser: Browser, ui_stack: tuple[Stack, str], artifacts: Path
) -> AsyncIterator[TemporalUi]:
    context = await browser.new_context(viewport={"width": 1600, "height": 1000})
    page: Page = await context.new_page()
    try:
        yield TemporalUi(page, ui_stack[1], artifacts)
    finally:
        await context.close()
