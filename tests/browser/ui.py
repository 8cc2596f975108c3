"""The Temporal Web UI as an operator uses it: the workflow list under a filter, and a workflow's
User Metadata tab (summary, details, current details). Reads what the page shows, nothing else.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

NAMESPACE = "default"
WAIT_S = 20.0
ROW = "[data-testid=workflows-summary-configurable-table-row]"
EMPTY = "No Workflows Found"


@dataclass
class UserMetadata:
    summary: str
    details: str
    current_details: str

    @property
    def everything(self) -> str:
        return "\n".join((self.summary, self.details, self.current_details))


@dataclass
class TemporalUi:
    page: Page
    base_url: str
    artifacts: Path

    async def use_codec_server(self, url: str) -> None:
        """What an operator sets once in the UI's codec server settings: the endpoint, with
        "include cross-origin credentials" so the codec server sees their sign-in."""
        settings = {"endpoint": url, "includeCredentials": True,
                    "overrideRemoteCodecConfiguration": True}  # fmt: skip
        script = "".join(
            f"window.localStorage.setItem({json.dumps(k)}, {json.dumps(json.dumps(v))});"
            for k, v in settings.items()
        )
        origin = json.dumps(self.base_url)
        await self.page.context.add_init_script(f"if (location.origin === {origin}) {{{script}}}")

    async def sign_in(self, codec_url: str, operator: str, token: str) -> None:
        """The codec server's sign-in page, as the operator fills it in."""
        await self.page.goto(f"{codec_url}/login")
        await self.page.get_by_label("Operator id").fill(operator)
        await self.page.get_by_label("Token").fill(token)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.get_by_text(f"Signed in as {operator}").wait_for()

    async def input_shown(self, workflow_id: str, marker: str, shot: str) -> bool:
        """Whether the workflow page's input, as rendered, shows `marker` (waits for it)."""
        await self.page.goto(f"{self.base_url}/namespaces/{NAMESPACE}/workflows/{workflow_id}")
        found = self.page.get_by_text(marker, exact=False).first
        try:
            await found.wait_for(timeout=WAIT_S * 1000 / 2)
            shown = True
        except PlaywrightTimeout:
            shown = False
        await self.screenshot(shot)
        return shown

    async def listed(self, query: str) -> set[str]:
        """The workflow ids the list shows for this filter, once it has loaded."""
        url = f"{self.base_url}/namespaces/{NAMESPACE}/workflows?query={quote(query)}"
        await self.page.goto(url)
        empty = self.page.get_by_text(EMPTY)
        await self.page.locator(ROW).or_(empty).first.wait_for()
        ids = await self.page.locator(f"{ROW} a[href*='/workflows/']").all_inner_texts()
        return {text.strip() for text in ids if text.strip().startswith("inquiry-")}

    async def listed_as(self, query: str, expected: set[str], shot: str) -> set[str]:
        """`listed`, again until it shows `expected` (visibility lags a little) or time is up;
        the screenshot shows the last look."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while True:
            shown = await self.listed(query)
            if shown == expected or loop.time() > deadline:
                await self.screenshot(shot)
                return shown
            await asyncio.sleep(0.5)

    async def user_metadata(self, workflow_id: str, shot: str | None = None) -> UserMetadata:
        """The workflow page's User Metadata tab, as rendered (for a run started with a static
        summary, as starter.py starts them)."""
        await self.page.goto(f"{self.base_url}/namespaces/{NAMESPACE}/workflows/{workflow_id}")
        await self.page.get_by_role("tab", name=re.compile("User Metadata")).click()
        # Static parts and the current details arrive separately: wait for both.
        await self.page.locator("#user-metadata-summary").wait_for()
        await self.page.locator("#user-metadata-current-details").wait_for()
        shown = UserMetadata(
            summary=await self._rendered("#user-metadata-summary"),
            details=await self._rendered("#user-metadata-details"),
            current_details=await self._rendered("#user-metadata-current-details"),
        )
        if shot:
            await self.screenshot(shot)
        return shown

    async def user_metadata_until(
        self, workflow_id: str, ready: Callable[[UserMetadata], bool], shot: str
    ) -> UserMetadata:
        """`user_metadata`, looked at again until `ready` holds or time is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while True:
            shown = await self.user_metadata(workflow_id)
            if ready(shown) or loop.time() > deadline:
                await self.screenshot(shot)
                return shown
            await asyncio.sleep(0.5)

    async def _rendered(self, frame: str) -> str:
        # Each markdown block is rendered in its own iframe; a missing one shows nothing.
        if await self.page.locator(frame).count() == 0:
            return ""
        body = self.page.frame_locator(frame).locator("body")
        await body.wait_for()
        return (await body.inner_text()).strip()

    async def screenshot(self, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        await self.page.screenshot(path=path, full_page=True)
        return path
