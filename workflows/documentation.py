"""Documentation: the one writer of the audit trail and read model, and of what operators see
of a run (current details, search attributes), so rows land in order, in batches, and the
search attributes change once per rest rather than once per step.

A store that keeps refusing (after STORE_RETRY's attempts) never fails the inquiry and loses
nothing: the batch goes back in front of what came since, the owner is told once, and the
writer tries again after STORE_PAUSE.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.store import StoreActivities
    from models.activities import AuditEvent, RecordInput

from workflows import outbox, policies, steps, views
from workflows.case import Case
from workflows.visibility import ALL_KEYS, search_attribute_updates


async def document(case: Case, drained: Callable[[], bool]) -> None:
    """Write `case.pending` until it is empty and `drained()` says nothing more will come; keep
    what operators see current meanwhile."""
    await asyncio.gather(_write(case, drained), _keep_visible(case, drained))


async def _write(case: Case, drained: Callable[[], bool]) -> None:
    told = False
    while True:
        await workflow.wait_condition(lambda: due(case) or drained())
        await _settled()
        if not (due(case) or drained()):
            continue  # the rest ended in the activation that woke us: the lifecycle went on
        if not unwritten(case):
            return
        batch = _bounded(case.pending)
        del case.pending[: len(batch)]
        answers, case.answers_to_store = case.answers_to_store, []
        case.writing = True  # the batch is in no one's hands but the activity's
        workflow.set_current_details(views.current_details(case, workflow.now()))
        try:
            await workflow.execute_activity_method(
                StoreActivities.record_events,
                RecordInput(
                    events=batch,
                    snapshot=views.snapshot(case, workflow.now()),
                    survey_answers=answers,
                ),
                start_to_close_timeout=policies.LOCAL_TIMEOUT,
                retry_policy=policies.STORE_RETRY,
                summary="document",
            )
        except ActivityError as err:
            case.pending = batch + case.pending
            case.answers_to_store = answers + case.answers_to_store
            if not told:
                told = await _tell_owner_of_held_events(case, err)
            case.writing = False
            await workflow.sleep(policies.STORE_PAUSE, summary="documentation retry pause")
            continue
        case.writing = False
        told = False


def unwritten(case: Case) -> bool:
    return bool(case.pending or case.answers_to_store)


def due(case: Case) -> bool:
    """A batch is written when the lifecycle comes to a quiet rest (waiting on people or time,
    nothing of its own in flight), so the events of a busy stretch go in one write; and at any
    time once AUDIT_HOLD events are pending. While the run continues as new, what is pending is
    carried (continuation.carry_on waits until it is under AUDIT_HOLD)."""
    if not unwritten(case):
        return False
    return len(case.pending) >= policies.AUDIT_HOLD or (case.quiet and not case.continuing)


def _bounded(pending: list[AuditEvent]) -> list[AuditEvent]:
    """The oldest pending events, at most AUDIT_BATCH_BYTES of them (at least one)."""
    size = 0
    for taken, event in enumerate(pending):
        size += len(event.model_dump_json())
        if taken and size > policies.AUDIT_BATCH_BYTES:
            return pending[:taken]
    return list(pending)


async def _keep_visible(case: Case, drained: Callable[[], bool]) -> None:
    """The search attributes at every rest, in one upsert of what changed: a stage that lasts no
    longer than a step (communicating, when the message goes at once) is never upserted."""
    # What the run already shows: a run continued as new inherits its predecessor's attributes.
    shown = workflow.info().typed_search_attributes
    visible: dict[str, Any] = {key.name: shown.get(key) for key in ALL_KEYS}

    def changed() -> list[SearchAttributeUpdate[Any]]:
        return [u for u in search_attribute_updates(case) if visible.get(u.key.name) != u.value]

    while True:
        await workflow.wait_condition(lambda: (case.idle and bool(changed())) or drained())
        await _settled()
        updates = changed() if case.idle or drained() else []
        if updates:
            workflow.upsert_search_attributes(updates)
            visible.update({u.key.name: u.value for u in updates})
        if drained():
            return


async def _settled() -> None:
    """Once everything woken with us has run (conditions are checked only when nothing else is
    ready): a rest that ended in this activation has moved on by then."""
    await workflow.wait_condition(lambda: True)


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
