"""The time-skipping test server for workflow tests and replay recordings, and how a test
leaves it clean for the next."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

import clients
from encryption import DataKeys
from tests.support import binary


async def wind_down(handle: WorkflowHandle[Any, Any]) -> None:
    """End a run a test left waiting, the way a user would: by withdrawing it.

    Terminating it instead, while one of its tasks is in flight, can leave the test server's
    clock locked, and every later `env.sleep` in the session then takes real time.
    """
    if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
        return
    # ops.oli: the test world's operator (tests/workflows/world.py), who may end any inquiry
    await handle.signal("withdraw", {"by": "ops.oli", "reason": "test finished"})
    try:
        await asyncio.wait_for(handle.result(), 10)
    except (TimeoutError, WorkflowFailureError):
        with contextlib.suppress(RPCError):
            await handle.terminate(reason="test finished")


async def start_test_server(keys: DataKeys | None) -> WorkflowEnvironment:
    """The time-skipping test server with the contract's search attributes registered.

    With `keys`, clients and workers use the project's encrypting converter. Without, payloads
    stay plain: only for recording replay histories, which must replay without this run's keys
    (encryption changes payload bytes, never the workflow's commands)."""
    return await with_search_attributes(
        await WorkflowEnvironment.start_time_skipping(
            data_converter=clients.data_converter(keys) if keys else pydantic_data_converter,
            test_server_existing_path=binary("temporal-test-server"),
        )
    )


async def start_dev_server(suggest_continue_as_new_after: int) -> WorkflowEnvironment:
    """A dev server (plain payloads, for recording) that suggests continue-as-new after the given
    number of history events; Temporal's default is 4 096."""
    limit = f"limit.historyCount.suggestContinueAsNew={suggest_continue_as_new_after}"
    return await with_search_attributes(
        await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=binary("temporal"),
            dev_server_log_level="error",
            dev_server_extra_args=["--dynamic-config-value", limit],
        )
    )


async def with_search_attributes(env: WorkflowEnvironment) -> WorkflowEnvironment:
    """`env` with the contract's search attributes registered (shut down if that fails)."""
    try:
        await register_search_attributes(env)
    except BaseException:
        await env.shutdown()
        raise
    return env


async def register_search_attributes(env: WorkflowEnvironment) -> None:
    await clients.ensure_search_attributes(env.client, register=True)
