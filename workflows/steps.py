"""Running a step so that no activity retries forever and no passing outage fails the inquiry.

Every activity call is bounded by its retry policy. When the attempts run out for a retryable
cause (a store or roster that is down), the step is held: `on_held` hears of it once (the audit
trail notes it, the owner may be told), and the call is made again after a pause, for as long as
it takes. A cause no retry can mend (a non-retryable error) still reaches the caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, RetryState

from workflows import policies
from workflows.case import Case
from workflows.policies import SYSTEM

A = TypeVar("A")
R = TypeVar("R")


async def persist(
    case: Case,
    call: Callable[[], Awaitable[R]],
    *,
    pause: timedelta,
    summary: str,
    on_held: Callable[[str], Awaitable[None]],
) -> R:
    held = False
    while True:
        try:
            return await call()
        except ActivityError as err:
            if err.retry_state != RetryState.MAXIMUM_ATTEMPTS_REACHED:
                raise
            if not held:
                held = True
                await on_held(cause_of(err))
            case.idle = True  # the trail is written while the step is held
            try:
                await workflow.sleep(pause, summary=f"{summary}: retry pause")
            finally:
                case.idle = False


async def local(case: Case, activity: Callable[[Any, A], Awaitable[R]], arg: A, summary: str) -> R:
    """A local step (config files, the roster, the store): LOCAL_RETRY, then held and retried
    every LOCAL_PAUSE, noted once in the audit trail as `step_held`."""

    async def held(cause: str) -> None:
        case.record(workflow.now(), SYSTEM, "step_held", {"step": summary, "cause": cause})

    async def call() -> R:
        result: R = await workflow.execute_activity_method(
            activity,
            arg,
            start_to_close_timeout=policies.LOCAL_TIMEOUT,
            retry_policy=policies.LOCAL_RETRY,
            summary=summary,
        )
        return result

    return await persist(case, call, pause=policies.LOCAL_PAUSE, summary=summary, on_held=held)


def cause_of(err: ActivityError) -> str:
    """An activity failure named by its type, never its text (which may quote a value)."""
    return getattr(err.cause, "type", None) or type(err.cause).__name__
