"""The time-skipping test server for workflow tests and replay recordings, and how a test
leaves it clean for the next."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

import clients
from tests.support import binary


async def wind_down(handle: WorkflowHandle[Any, Any]) -> None:
    """End a run a test left waiting, the way a user would: by withdrawing it.

    Terminating it instead, while one of its tasks is in flight, can leave the test server's
    clock locked, and every later `env.sleep` in the session then takes real time.
    """
    if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
        return
    await handle.signal("withdraw", {"by": "test-teardown", "reason": "test finished"})
    try:
        await asyncio.wait_for(handle.result(), 10)
    except (TimeoutError, WorkflowFailureError):
        with contextlib.suppress(RPCError):
            await handle.terminate(reason="test finished")


async def start_test_server() -> WorkflowEnvironment:
    """The time-skipping test server with the contract's search attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=clients.data_converter,
        test_server_existing_path=binary("temporal-test-server"),
    )
    try:
        await register_search_attributes(env)
    except BaseException:
        await env.shutdown()
        raise
    return env


async def register_search_attributes(env: WorkflowEnvironment) -> None:
    await clients.ensure_search_attributes(env.client, register=True)
