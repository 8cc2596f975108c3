"""Where the lifecycle may be interrupted: its rests. A withdrawal ends the lifecycle at its
next rest (`Withdrawn`), and a long-lived inquiry continues as new from one (`Continue`); work in
flight (a message being sent, a department being called) is never cut off half-way.

Continue-as-new: a long-lived inquiry starts a fresh history now and then, carrying its case.

Every action, refusal and note adds events, and an inquiry may live for months. When the server
suggests it (Temporal's history count or size threshold), the run continues as new, but only
from a *rest*: a wait of the lifecycle at a stage it can resume from (routing waiting on the
departments, the checkpoint waiting on a reviewer or a revision, follow-up waiting on the
customer or a deadline), with nothing in flight: no routing call, no request being served, no
batch of the audit trail being written, no action being checked.

The next run's only input is the case file (workflows/case.py), which holds everything: owner
history, clocks, idempotency counters, the review so far, requests and events not yet written.
It resumes at the case's stage: each step looks at the case and does what is left, so a step
re-entered sends nothing twice. Only a run the server started by continue-as-new may take a
case as input (`continued_run_id` is the server's, not the caller's): a starter cannot hand an
inquiry a forged review.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NoReturn

from temporalio import workflow

from workflows import policies
from workflows.case import Case
from workflows.inbox import Inbox
from workflows.timekeeper import until


def nothing() -> bool:
    """Nothing in flight, nothing busy."""
    return False


class Continue(Exception):  # noqa: N818 - a signal to unwind, not an error
    """Raised from a rest when the run is to continue as new."""


class Withdrawn(Exception):  # noqa: N818 - a signal to unwind, not an error
    """Raised from a rest, or where a step is about to begin, once the inquiry is withdrawn."""


def unless_withdrawn(case: Case) -> None:
    """Before a step that would tell someone something: not for a withdrawn inquiry."""
    if case.withdrawn:
        raise Withdrawn


def suggested() -> bool:
    return workflow.info().is_continue_as_new_suggested()


async def rest(
    case: Case,
    ready: Callable[[], bool],
    deadline: datetime | None = None,
    summary: str = "",
    busy: Callable[[], bool] = nothing,
    resumable: bool = True,
) -> bool:
    """Wait until `ready` (at most until `deadline`): True if it came, False if the deadline
    passed. Raises Withdrawn once the inquiry is withdrawn, and (where the step can be resumed
    from the case) Continue when the run is to continue as new; the resumed step waits again
    from the same case, so the deadline is an instant, not a duration."""

    def go_on() -> bool:
        return resumable and not busy() and suggested()

    def woken() -> bool:
        return case.withdrawn or ready() or go_on()

    case.idle, case.in_flight = True, busy
    try:
        if deadline is None:
            await workflow.wait_condition(woken)
        else:
            await until(woken, deadline - workflow.now(), summary)
    finally:
        case.idle, case.in_flight = False, nothing
    unless_withdrawn(case)
    if ready():
        return True
    if go_on():
        raise Continue
    return False


async def carry_on(case: Case, inbox: Inbox) -> NoReturn:
    """Continue as new with the case once the lifecycle has unwound and nothing is in flight:
    no new work is taken up, what is queued (actions, requests, events) is carried."""
    case.continuing = True
    await workflow.wait_condition(
        lambda: (
            inbox.settled_for_continuing
            and case.serving is None
            and not case.writing
            and len(case.pending) < policies.AUDIT_HOLD
            and workflow.all_handlers_finished()
        )
    )
    workflow.continue_as_new(case)
