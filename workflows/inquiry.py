"""RegulatedInquiry: one inquiry from intake to closure, owned, routed, reviewed and documented.

The steps: register the id for good, triage, assign an owner, acknowledge; route to the
departments in parallel; draft; hold at the compliance checkpoint until an authorised reviewer
who is not the owner approves (or policy releases a tier 1 inquiry with no flag); communicate;
close. Every change is an audit event, written by one documenting task in the background.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.roster import RosterActivities
    from activities.store import StoreActivities
    from activities.triage import TriageActivities
    from models.activities import (
        AssignOwnerInput,
        LoadReviewersInput,
        RecordInput,
        RegisterInquiryInput,
        ResolvePolicyInput,
        TriageInput,
    )
    from models.contract import (
        SIGNAL_PAYLOADS,
        InquiryIntake,
        InquiryOutcome,
        InquiryStatus,
        Stage,
    )

from workflows import messages, outbox, policies, routing
from workflows.case import Case
from workflows.drafting import compose_draft
from workflows.intake import PayloadError, decode_one
from workflows.policies import SYSTEM
from workflows.signals import RULES, actor_of
from workflows.visibility import search_attribute_updates


@workflow.defn(name="RegulatedInquiry")
class RegulatedInquiry:
    @workflow.init
    def __init__(self, *args: Any) -> None:
        # Decoded here rather than by the SDK: an input it cannot decode would fail workflow
        # tasks forever, while ours fails the run at once with a reason naming the field.
        self._refusal: str | None = None
        self._case: Case | None = None
        try:
            intake = decode_one(InquiryIntake, args)
        except PayloadError as err:
            self._refusal = f"invalid intake: {err}"
        else:
            info = workflow.info()
            if info.workflow_id == intake.workflow_id:
                self._case = Case(intake, info.workflow_id, info.first_execution_run_id)
            else:
                # Signals and operators find an inquiry by its id: the contract fixes the pairing.
                self._refusal = "invalid intake: workflow id must be 'inquiry-' + inquiry_id"
        self._visible: dict[str, Any] = {}
        self._documenting = False
        self._finished = False

    @workflow.run
    async def run(self, *args: Any) -> InquiryOutcome:
        if self._case is None:
            raise ApplicationError(
                self._refusal or "invalid intake", type="InvalidIntake", non_retryable=True
            )
        case = self._case
        await self._register(case)
        documenting = asyncio.create_task(self._document(case))
        case.record(
            workflow.now(),
            policies.INTAKE,
            "inquiry_received",
            {"channel": case.intake.channel.value},
        )
        await self._triage_and_assign(case)
        if not case.withdrawn:
            await routing.route(case)
        if not case.withdrawn:
            await self._resolve(case)
        if not case.withdrawn:
            await self._communicate(case)
        case.move_to(Stage.WITHDRAWN if case.withdrawn else Stage.CLOSED, workflow.now())
        self._finished = True
        await documenting
        return case.outcome()

    @workflow.query(name="status")
    def status(self) -> InquiryStatus:
        if self._case is None:
            raise ApplicationError(self._refusal or "invalid intake", type="InvalidIntake")
        return self._case.status(workflow.now())

    # --- the steps ---------------------------------------------------------------------------

    async def _register(self, case: Case) -> None:
        info = workflow.info()
        registered = await workflow.execute_activity_method(
            StoreActivities.register_inquiry,
            RegisterInquiryInput(
                inquiry_id=case.intake.inquiry_id,
                workflow_id=info.workflow_id,
                run_id=info.first_execution_run_id,
                sector=case.intake.sector,
                received_at=case.intake.received_at,
            ),
            start_to_close_timeout=policies.LOCAL_TIMEOUT,
            retry_policy=policies.LOCAL_RETRY,
            summary="register inquiry id",
        )
        if not registered.accepted:
            # Temporal allows a new run once the first has closed; the store remembers for good.
            raise ApplicationError(
                f"inquiry already exists: first run {registered.first_run_id}",
                type="InquiryAlreadyExists",
                non_retryable=True,
            )

    async def _triage_and_assign(self, case: Case) -> None:
        policy = await workflow.execute_activity_method(
            TriageActivities.resolve_policy,
            ResolvePolicyInput(overrides=case.intake.policy),
            start_to_close_timeout=policies.LOCAL_TIMEOUT,
            retry_policy=policies.LOCAL_RETRY,
            summary="resolve timer policy",
        )
        triage = await workflow.execute_activity_method(
            TriageActivities.triage_inquiry,
            TriageInput(intake=case.intake),
            start_to_close_timeout=policies.LOCAL_TIMEOUT,
            retry_policy=policies.LOCAL_RETRY,
            summary="triage",
        )
        case.triaged(triage, policy, workflow.now())
        owner = await workflow.execute_activity_method(
            RosterActivities.assign_owner,
            AssignOwnerInput(
                workflow_id=case.workflow_id,
                sector=case.intake.sector,
                categories=triage.categories,
                tier=triage.tier,
            ),
            start_to_close_timeout=policies.LOCAL_TIMEOUT,
            retry_policy=policies.LOCAL_RETRY,
            summary="assign owner",
        )
        case.assign(owner.owner_id, owner.team, owner.reason, SYSTEM, workflow.now())
        due = case.intake.received_at + policy.resolution_sla[str(triage.tier)]  # type: ignore[index]
        subject, body = messages.acknowledgement(case.intake.inquiry_id, owner.owner_id, due)
        await outbox.to_customer(case, "acknowledgement", "ack", subject, body)

    async def _resolve(self, case: Case) -> None:
        case.move_to(Stage.DRAFTING, workflow.now())
        case.add_draft(compose_draft(case.departments, case.flags), SYSTEM, workflow.now())
        while not case.withdrawn:
            draft = case.draft
            assert draft is not None and case.policy is not None
            if not draft.checks_passed:
                await self._back_to_owner(case, draft.version, "the draft failed automated checks")
                continue
            if case.releasable_by_policy():
                case.release_by_policy(workflow.now())
                return
            await self._await_compliance(case)
            await workflow.wait_condition(
                lambda v=draft.version: case.withdrawn or case.verdict(v) is not None  # type: ignore[misc]
            )
            if case.verdict(draft.version) == "rejected":
                await self._back_to_owner(case, draft.version, "a reviewer sent the draft back")
            elif case.verdict(draft.version) == "approved":
                return

    async def _await_compliance(self, case: Case) -> None:
        if case.stage == Stage.AWAITING_COMPLIANCE:
            return
        roster = await workflow.execute_activity_method(
            RosterActivities.load_reviewers,
            LoadReviewersInput(sector=case.intake.sector, tier=case.tier or 3),
            start_to_close_timeout=policies.LOCAL_TIMEOUT,
            retry_policy=policies.LOCAL_RETRY,
            summary="load reviewers",
        )
        case.reviewers = {r.reviewer_id: r for r in roster.reviewers}
        case.move_to(Stage.AWAITING_COMPLIANCE, workflow.now())

    async def _back_to_owner(self, case: Case, version: int, why: str) -> None:
        """Drafting again: the owner is told why and the workflow waits for a revision."""
        if case.stage != Stage.DRAFTING:
            case.move_to(Stage.DRAFTING, workflow.now(), reason=why)
        await outbox.to_owner(case, f"{why}; please revise the response")
        await workflow.wait_condition(
            lambda: case.withdrawn or (case.draft is not None and case.draft.version > version)
        )

    async def _communicate(self, case: Case) -> None:
        draft = case.draft
        assert draft is not None
        case.move_to(Stage.COMMUNICATING, workflow.now(), draft_version=draft.version)
        subject = messages.resolution_subject(case.intake.inquiry_id)
        case.resolution_ref = await outbox.to_customer(
            case, "resolution", f"resolution:v{draft.version}", subject, draft.text
        )
        case.record(
            workflow.now(), SYSTEM, "resolution_communicated", {"message_key": case.resolution_ref}
        )

    # --- documentation -----------------------------------------------------------------------

    async def _document(self, case: Case) -> None:
        """The one writer of the audit trail and read model, so rows land in order, in batches."""
        while True:
            await workflow.wait_condition(lambda: bool(case.pending) or self._finished)
            if not case.pending:
                return
            self._show(case)
            batch, case.pending = case.pending, []
            await workflow.execute_activity_method(
                StoreActivities.record_events,
                RecordInput(events=batch, snapshot=case.snapshot(workflow.now())),
                start_to_close_timeout=policies.LOCAL_TIMEOUT,
                retry_policy=policies.LOCAL_RETRY,
                summary="document",
            )

    def _show(self, case: Case) -> None:
        changed = [
            u for u in search_attribute_updates(case) if self._visible.get(u.key.name) != u.value
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._visible.update({u.key.name: u.value for u in changed})

    # --- signals: each is decoded and judged by the rules; a refusal is recorded, never raised --

    def _signal(self, name: str, args: tuple[Any, ...]) -> None:
        case = self._case
        if case is None:
            return  # the run is failing on its input; there is nothing to apply a signal to
        now = workflow.now()
        try:
            payload = decode_one(SIGNAL_PAYLOADS[name], args)
        except PayloadError as err:
            case.refuse(name, f"malformed payload: {err}", now)
            return
        if case.stage in (Stage.CLOSED, Stage.WITHDRAWN):
            case.refuse(name, "inquiry is closed", now, actor_of(payload))
            return
        reason = RULES[name](case, payload, now)
        if reason is not None:
            case.refuse(name, reason, now, actor_of(payload))

    @workflow.signal(name="compliance_decision")
    def compliance_decision(self, *args: Any) -> None:
        self._signal("compliance_decision", args)

    @workflow.signal(name="department_result")
    def department_result(self, *args: Any) -> None:
        self._signal("department_result", args)

    @workflow.signal(name="revise_response")
    def revise_response(self, *args: Any) -> None:
        self._signal("revise_response", args)

    @workflow.signal(name="reassign_owner")
    def reassign_owner(self, *args: Any) -> None:
        self._signal("reassign_owner", args)

    @workflow.signal(name="escalate")
    def escalate(self, *args: Any) -> None:
        self._signal("escalate", args)

    @workflow.signal(name="survey_response")
    def survey_response(self, *args: Any) -> None:
        self._signal("survey_response", args)

    @workflow.signal(name="reopen")
    def reopen(self, *args: Any) -> None:
        self._signal("reopen", args)

    @workflow.signal(name="withdraw")
    def withdraw(self, *args: Any) -> None:
        self._signal("withdraw", args)

    @workflow.signal(name="add_note")
    def add_note(self, *args: Any) -> None:
        self._signal("add_note", args)
