"""Documentation: the one writer of the audit trail and read model, and of what operators see
of a run (current details, search attributes), so rows land in order, in batches.

A store that keeps refusing (after STORE_RETRY's attempts) never fails the inquiry and loses
nothing: the batch goes back in front of what came since, the owner is told once, and the
writer tries again after STORE_PAUSE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.store import StoreActivities
    from models.activities import RecordInput

from workflows import metrics, outbox, policies, steps, views
from workflows.case import Case
from workflows.visibility import search_attribute_updates


async def document(case: Case, drained: Callable[[], bool]) -> None:
    """Write `case.pending` until it is empty and `drained()` says nothing more will come."""
    visible: dict[str, Any] = {}
    told = False
    while True:
        # A batch when the lifecycle comes to wait (on people, on time, on a held step): the
        # events of a busy stretch go in one write. None while the run continues as new: what
        # is pending is carried.
        await workflow.wait_condition(
            lambda: (bool(case.pending) and case.idle and not case.continuing) or drained()
        )
        if not case.pending:
            return
        _show(case, visible)
        batch, case.pending = case.pending, []
        case.writing = True  # the batch is in no one's hands but the activity's
        try:
            await workflow.execute_activity_method(
                StoreActivities.record_events,
                RecordInput(events=batch, snapshot=views.snapshot(case, workflow.now())),
                start_to_close_timeout=policies.LOCAL_TIMEOUT,
                retry_policy=policies.STORE_RETRY,
                summary="document",
            )
        except ActivityError as err:
            case.pending = batch + case.pending
            if not told:
                told = await _tell_owner_of_held_events(case, err)
            case.writing = False
            await workflow.sleep(policies.STORE_PAUSE, summary="documentation retry pause")
            continue
        case.writing = False
        metrics.count(batch)
        told = False


async def _tell_owner_of_held_events(case: Case, err: ActivityError) -> bool:
    """Whether the owner could be told; the cause is named by its type, never its text."""
    cause = steps.cause_of(err)
    what = (
        f"the audit trail could not be written ({cause}); {len(case.pending)} events are "
        "held and written as soon as the store accepts them"
    )
    try:
        await outbox.to_owner(case, what, retry=policies.NOTICE_RETRY)
    except ActivityError:
        return False
    return True


def _show(case: Case, visible: dict[str, Any]) -> None:
    """Current details and the changed search attributes (`visible`: what was last set).
    Neither is a command: replay is unaffected."""
    workflow.set_current_details(views.current_details(case, workflow.now()))
    changed = [u for u in search_attribute_updates(case) if visible.get(u.key.name) != u.value]
    if changed:
        workflow.upsert_search_attributes(changed)
        visible.update({u.key.name: u.value for u in changed})
