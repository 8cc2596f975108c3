"""The owner and everything decided so far survive the worker going away mid-inquiry."""

from __future__ import annotations

from tests.integration.conftest import Stack
from tests.integration.helpers import REVIEWER, approve, status_when
from tests.support import intake, new_id
from worker import running_worker


async def test_a_new_worker_carries_on_with_the_same_owner_after_a_restart(
    stack: Stack,
) -> None:
    # A task queue of its own, so only the workers of this test can pick the inquiry up.
    settings = stack.settings.model_copy(update={"task_queue": new_id("restart-queue")})
    payload = intake()
    async with running_worker(stack.client, settings):
        handle = await stack.client.start_workflow(
            "RegulatedInquiry", payload, id=f"inquiry-{payload['inquiry_id']}",
            task_queue=settings.task_queue,
        )  # fmt: skip
        before = await status_when(handle, lambda s: s.stage == "awaiting_compliance")

    # No worker now: the decision waits in history until one comes back.
    await approve(handle)
    async with running_worker(stack.client, settings):
        outcome = await handle.result()

    assert outcome["stage"] == "closed"
    assert outcome["owner"] == before.owner
    assert [o["owner_id"] for o in outcome["owner_history"]] == [before.owner]
    assert outcome["approved_by"] == [REVIEWER]
