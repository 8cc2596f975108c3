"""The attendant: the one task that serves what the signal rules, the timekeeper and follow-up
ask for (workflows/requests.py), one at a time, in the order asked. A request that fails for good
is recorded and the next one is served: time keeping must not stop over one undeliverable
notice. While the run is continuing as new nothing new is taken up: the queue is carried."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import escalation, messages, outbox
from workflows.case import TERMINAL, Case
from workflows.policies import SYSTEM
from workflows.requests import (
    Escalation,
    OwnerNotice,
    ProgressUpdate,
    Request,
    SlaWarning,
)


def settled(case: Case) -> bool:
    """Nothing asked for is waiting or being served."""
    return not case.requests and case.serving is None


async def attend(case: Case, finished: Callable[[], bool]) -> None:
    """Serve the requests until `finished()` and none is left."""
    while True:
        # Nothing new is taken up while the run continues as new: the queue is carried.
        await workflow.wait_condition(
            lambda: (bool(case.requests) and not case.continuing) or finished()
        )
        if not case.requests:
            return
        request = case.requests.pop(0)
        case.serving = request
        try:
            await _serve(case, request)
        except ActivityError as err:
            cause = getattr(err.cause, "type", None) or type(err.cause).__name__
            detail = {"request": request.kind, "cause": cause}
            case.record(workflow.now(), SYSTEM, "request_failed", detail)
        finally:
            case.serving = None


async def _serve(case: Case, request: Request) -> None:
    match request:
        case Escalation(actor=actor, reason=reason):
            if case.stage in TERMINAL:
                skipped = {"reason": "inquiry ended"}
                case.record(workflow.now(), actor, "escalation_skipped", skipped)
                return
            await escalation.escalate(case, actor, reason)
        case SlaWarning(text=text):
            await outbox.to_owner(case, text, "sla_warning")
        case ProgressUpdate(due=due):
            subject, body = messages.progress_update(case.intake.inquiry_id, case.owner or "", due)
            key = f"progress:{case.round}"
            await outbox.to_customer(case, "progress_update", key, subject, body)
        case OwnerNotice(text=text):
            await outbox.to_owner(case, text)
