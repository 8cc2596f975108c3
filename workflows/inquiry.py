"""RegulatedInquiry: one inquiry from intake to closure, owned, routed, reviewed and documented.

The steps: take the inquiry in (register the id for good, triage, assign an owner), acknowledge;
route to the departments in parallel; draft; hold at the compliance checkpoint until an
authorised reviewer who is not the owner approves (or policy releases a routine one:
workflows/release.py); communicate; follow up; close. Every change is an audit event, written
by one documenting task in the background (workflows/documentation.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.contract import (
        FUTURE_RECEIVED_AT,
        RECEIVED_AT_SKEW,
        SIGNAL_PAYLOADS,
        InquiryIntake,
        Stage,
    )
    from models.status import ActionVerdict, InquiryOutcome, InquiryStatus

from workflows import (
    attendant,
    checkpoint,
    continuation,
    documentation,
    follow_up,
    policies,
    routing,
    stages,
    timekeeper,
    views,
)
from workflows.case import Case
from workflows.inbox import Inbox
from workflows.intake import PayloadError, decode_one

CANCEL_REFUSED = "a cancellation does not end an inquiry: send the withdraw action"


def _open(intake: InquiryIntake, info: workflow.Info) -> Case:
    if info.workflow_id != intake.workflow_id:
        # Signals and operators find an inquiry by its id: the contract fixes the pairing.
        raise PayloadError("workflow id must be 'inquiry-' + inquiry_id")
    if intake.received_at > info.start_time + RECEIVED_AT_SKEW:
        raise PayloadError(FUTURE_RECEIVED_AT)
    return Case(intake=intake, workflow_id=info.workflow_id, run_key=info.first_execution_run_id)


@workflow.defn(name="RegulatedInquiry")
class RegulatedInquiry:
    @workflow.init
    def __init__(self, *args: Any) -> None:
        # Decoded here rather than by the SDK: an input it cannot decode would fail workflow
        # tasks forever, while ours fails the run at once with a reason naming the field.
        self._refusal: str | None = None
        self._case: Case | None = None
        info = workflow.info()
        # A run continued as new is given its case (workflows/continuation.py); only the
        # server can start a run so, never a caller.
        self._continued = info.continued_run_id is not None
        try:
            if self._continued:
                self._case = decode_one(Case, args)
            else:
                self._case = _open(decode_one(InquiryIntake, args), info)
        except PayloadError as err:
            self._refusal = f"invalid intake: {err}"
        self._finished = False
        self._drained = False
        # Actions are checked (an activity) and applied one at a time, in the order they came.
        self._inbox = Inbox(self._case) if self._case is not None else None

    @workflow.run
    async def run(self, *args: Any) -> InquiryOutcome:
        if self._case is None:
            raise ApplicationError(
                self._refusal or "invalid intake", type="InvalidIntake", non_retryable=True
            )
        case = self._case
        # A Temporal cancellation is not how an inquiry ends (withdraw is: a signed action):
        # the lifecycle runs shielded from it, and each request is refused and documented.
        lifecycle = asyncio.create_task(self._live(case))
        while True:
            try:
                return await asyncio.shield(lifecycle)
            except asyncio.CancelledError:
                if lifecycle.done():
                    raise
                case.refuse("cancel", CANCEL_REFUSED, workflow.now(), "temporal")

    async def _live(self, case: Case) -> InquiryOutcome:
        inbox = self._inbox
        assert inbox is not None
        applying = asyncio.create_task(inbox.serve(lambda: self._finished))
        taken = None if self._continued else await stages.take_in(case)
        documenting = asyncio.create_task(documentation.document(case, lambda: self._drained))
        if not self._continued:
            case.record(
                workflow.now(),
                policies.INTAKE,
                "inquiry_received",
                {"channel": case.intake.channel.value},
            )
        helpers = [applying]
        try:
            if taken is not None:
                await stages.triage_and_assign(case, taken)
                await stages.acknowledge(case)
            # Time and requests are kept from the first clock on (started in triage).
            helpers += [
                asyncio.create_task(timekeeper.keep_time(case, lambda: self._finished)),
                asyncio.create_task(attendant.attend(case, lambda: self._finished)),
            ]
            await self._lifecycle(case, case.stage if self._continued else None)
        except continuation.Continue:
            await continuation.carry_on(case, inbox)
        except continuation.Withdrawn:
            pass  # at its next rest, or before telling anyone more
        case.move_to(Stage.WITHDRAWN if case.withdrawn else Stage.CLOSED, workflow.now())
        if case.policy is not None:
            case.sla.stop_all(workflow.now(), case.policy)
        case.idle = True  # the lifecycle is over: what it recorded is written now
        self._finished = True
        await asyncio.gather(*helpers)
        # Actions still being checked finish (and are documented) before the trail closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        # Only now may the documenting task stop: the helpers may have recorded to the end.
        self._drained = True
        await documenting
        return views.outcome(case)

    async def _lifecycle(self, case: Case, resume: Stage | None) -> None:
        """Route, resolve, communicate, follow up; again after a reopen. A continued run
        resumes at its stage (`resume`): each step picks up from the case where it rested. A
        withdrawal ends it at its next rest (continuation.Withdrawn)."""
        while True:
            if resume not in (Stage.DRAFTING, Stage.AWAITING_COMPLIANCE, Stage.FOLLOW_UP):
                await routing.route(case)
            if resume != Stage.FOLLOW_UP:
                await checkpoint.resolve(case)
                await stages.communicate(case)
            resume = None
            if await follow_up.follow_up(case) != "reopened":
                return
            case.reopen(workflow.now())

    @workflow.query(name="status")
    def status(self) -> InquiryStatus:
        if self._case is None:
            raise ApplicationError(self._refusal or "invalid intake", type="InvalidIntake")
        return views.status(self._case, workflow.now())

    # --- actions: each signal is posted to the inbox (workflows/inbox.py), which checks the actor
    # and applies the rules in arrival order; a refusal is recorded, never raised ----------------

    def _post(self, name: str, args: Sequence[Any]) -> None:
        if self._inbox is None:
            return  # the run is failing on its input; there is nothing to apply an action to
        self._inbox.post(name, args)

    # Every signal is also an Update of the same name (the contract's "Updates"): the same rules,
    # the same record of a refusal, and the verdict for the caller. Checked in the handler, not
    # a validator, so that a refusal is in the audit trail too.
    @workflow.update(dynamic=True)
    async def act(self, name: str, args: Sequence[RawValue]) -> ActionVerdict:
        if name not in SIGNAL_PAYLOADS:
            raise ApplicationError(f"no such action: {name}", type="UnknownAction")
        if self._inbox is None:
            return ActionVerdict(accepted=False, reason="the inquiry's input was refused")
        converter = workflow.payload_converter()
        reason = await self._inbox.ask(name, [converter.from_payload(a.payload) for a in args])
        # The stage after the action: what the lifecycle does about it in this same activation
        # (an approval moves the draft on, a revision goes back to the checkpoint) runs first.
        await workflow.wait_condition(lambda: True)
        stage = self._case.stage if self._case is not None else None
        return ActionVerdict(accepted=reason is None, reason=reason, stage=stage)

    @act.validator
    def _fits(self, name: str, args: Sequence[RawValue]) -> None:
        """An Update too large to record is turned away before it is accepted: accepted, its
        input would be written into the history, which refuses it, failing the workflow task
        for as long as the caller repeats it. (A signal that large the server refuses itself.)"""
        size = sum(arg.payload.ByteSize() for arg in args)
        if size > policies.MAX_ACTION_BYTES:
            raise ApplicationError(
                f"{name}: the payload is {size} bytes, over the {policies.MAX_ACTION_BYTES} "
                "bytes an action may carry",
                type="PayloadTooLarge",
            )

    @workflow.signal(name="compliance_decision")
    def compliance_decision(self, *args: Any) -> None:
        self._post("compliance_decision", args)

    @workflow.signal(name="department_result")
    def department_result(self, *args: Any) -> None:
        self._post("department_result", args)

    @workflow.signal(name="revise_response")
    def revise_response(self, *args: Any) -> None:
        self._post("revise_response", args)

    @workflow.signal(name="reassign_owner")
    def reassign_owner(self, *args: Any) -> None:
        self._post("reassign_owner", args)

    @workflow.signal(name="escalate")
    def escalate(self, *args: Any) -> None:
        self._post("escalate", args)

    @workflow.signal(name="survey_response")
    def survey_response(self, *args: Any) -> None:
        self._post("survey_response", args)

    @workflow.signal(name="reopen")
    def reopen(self, *args: Any) -> None:
        self._post("reopen", args)

    @workflow.signal(name="withdraw")
    def withdraw(self, *args: Any) -> None:
        self._post("withdraw", args)

    @workflow.signal(name="add_note")
    def add_note(self, *args: Any) -> None:
        self._post("add_note", args)

    @workflow.signal(name="close_recovery")
    def close_recovery(self, *args: Any) -> None:
        self._post("close_recovery", args)
