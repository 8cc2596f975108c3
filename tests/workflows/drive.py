"""Driving a running inquiry the way its users do: the `status` query, plain-dict signals, and
its result or failure. Waits poll the query (real time, bounded); the workflow's own clock only
moves with `env.sleep(...)` or while a test awaits the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from models.contract import Department, Stage
from models.status import InquiryOutcome, InquiryStatus

WAIT_S = 15.0
POLL_S = 0.02

Handle = WorkflowHandle[Any, InquiryOutcome]


async def status(handle: Handle) -> InquiryStatus:
    current: InquiryStatus = await handle.query("status", result_type=InquiryStatus)
    return current


async def wait_for(
    handle: Handle, check: Callable[[InquiryStatus], bool], what: str
) -> InquiryStatus:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        current = await status(handle)
        if check(current):
            return current
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}; stage is {current.stage}")
        await asyncio.sleep(POLL_S)


async def wait_for_stage(handle: Handle, stage: Stage) -> InquiryStatus:
    return await wait_for(handle, lambda s: s.stage == stage, f"stage {stage}")


async def wait_for_department(handle: Handle, department: Department, state: str) -> InquiryStatus:
    def reached(current: InquiryStatus) -> bool:
        found = current.departments.get(department)
        return found is not None and found.status == state

    return await wait_for(handle, reached, f"{department} to be {state}")


async def refusals(handle: Handle, count: int) -> InquiryStatus:
    """Signals are asynchronous: wait until the workflow has judged `count` refusals."""
    return await wait_for(
        handle, lambda s: len(s.refused_signals) >= count, f"{count} refused signals"
    )


async def outcome(handle: Handle) -> InquiryOutcome:
    return await asyncio.wait_for(handle.result(), WAIT_S)


async def failure(handle: Handle) -> ApplicationError:
    """The application error a failed run ended with."""
    try:
        await asyncio.wait_for(handle.result(), WAIT_S)
    except WorkflowFailureError as err:
        assert isinstance(err.cause, ApplicationError), err.cause
        return err.cause
    raise AssertionError("the run completed instead of failing")
