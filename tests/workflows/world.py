"""A fake world for workflow tests: RegulatedInquiry's activities re-declared under their
registered names, with the same input and result models, answering as each test configures and
writing down what the workflow asked of them (audit events, outbox messages, department cases).

The activities read the world's attributes when called, so a test may set `triage`, `answers`,
`reviewers`, `policy` or `first_run_id` after the worker has started, as long as it does so
before it starts the workflow.

Time: the world starts every inquiry as received *now* on the test server's clock, because the
resolution SLA runs from `received_at` and the session's clock only moves forward. Each outbox
message's time on that clock is kept in `sent_at`, so tests can assert timing to the minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.empty_pb2 import Empty
from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowHandle,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.config_files import PolicyFile, merge_policy
from models.activities import (
    SURVEY_REF_SLOT,
    ActorCheck,
    AssignedOwner,
    AssignOwnerInput,
    AuditEvent,
    DepartmentAnswer,
    DepartmentRequest,
    EscalationContacts,
    EscalationInput,
    InquirySnapshot,
    MessageReceipt,
    OutboxMessage,
    OwnerOnRoster,
    RecordInput,
    RegisterInquiryResult,
    Reviewer,
    StaffRoles,
    SurveyAnswer,
    TriageResult,
    VerifyActorInput,
    VerifyActorsInput,
)
from models.contract import ComplianceFlag, Department, Sector, Urgency, workflow_id_for
from models.status import InquiryOutcome, RuleHit
from models.take_in import TakeInInput, TakenIn
from tests.workflows.drive import WAIT_S
from tests.workflows.server import wind_down
from workflows.inquiry import RegulatedInquiry
from workflows.runner import workflow_runner

OWNER = "owner.olga"
REVIEWER = "rev.rita"
SENIOR = "rev.ravi"
SENIOR_2 = "rev.sara"  # the senior pool has two, so a breached tier 3 review can still pass
LEGAL = "rev.lena"  # may also decide on privileged and litigation matters
LEGAL_2 = "rev.leo"  # the second pair of eyes on a tier 3 litigation matter
AGENT = "agent.al"  # on the roster, but without a reviewing role
# The escalation path: who takes an inquiry at each tier, their manager, and who hears of tier 3.
TIER2_LEAD = "lead.tia"
TIER3_LEAD = "lead.theo"
MANAGER = "mgr.mia"
OPERATOR = "ops.oli"
TIER3_NOTIFY = ("legal.ops", "compliance.office")

OFFICE_HOURS: dict[str, Any] = {
    "timezone": "UTC",
    "workdays": ["mon", "tue", "wed", "thu", "fri"],
    "opens": "09:00",
    "closes": "17:00",
    "holidays": [],
}
# The shipped defaults, written here rather than read from config/policy.toml so that an
# operator's edit cannot change what these tests prove. A test replaces entries by setting
# `World.policy` (same keys and spelling as the file).
POLICY: dict[str, Any] = {
    "survey_delay": "PT24H",
    "survey_reminder": "PT72H",
    "survey_window": "P7D",
    "compliance_sla": {"1": "PT8H", "2": "PT4H", "3": "PT1H"},
    "department_sla": "P2D",
    "resolution_sla": {"1": "P5D", "2": "P3D", "3": "P1D"},
    "release_by_policy": {"enabled": True, "sectors": ["ecommerce"], "categories": ["billing"]},
    "minimum_necessary": {
        "privileged_to_legal_only": True,
        "sentences_about": {"billing": ["bill", "invoic", "charg", "pay", "refund", "claim"]},
    },
    "approvals_required": {"1": 1, "2": 1, "3": 2},
    "warning_thresholds": [0.5, 0.75, 0.9],
    "progress_update_at": 0.75,
    "business_clocks": [],
    "recovery_deadline": "P2D",
    "score_alerts": {"csat_at_most": 2, "nps_at_most": 6, "ces_at_least": 5},
    "calendar": OFFICE_HOURS,
}
MINUTE = timedelta(minutes=1)


def on_time(actual: datetime, expected: datetime) -> bool:
    """To the minute and never early: within the minute that begins at `expected`."""
    return expected <= actual < expected + MINUTE


def triage(
    tier: int = 2,
    flags: Iterable[str] = ("HIPAA",),
    categories: Iterable[str] = ("billing", "clinical"),
    urgency: str = "normal",
) -> TriageResult:
    return TriageResult(
        categories=[Department(c) for c in categories],
        compliance_flags=[ComplianceFlag(f) for f in flags],
        urgency=Urgency(urgency),
        tier=tier,
        distress=False,
        rules_fired=[],
    )


def routine() -> TriageResult:
    """Tier 1, billing only, a routine rule and no signal: what policy may release."""
    result = triage(tier=1, flags=(), categories=("billing",))
    hit = RuleHit(rule_id="routine.commerce", description="order", effect="routine", kind="routine")
    return result.model_copy(update={"rules_fired": [hit]})


def completed(summary: str, case_ref: str = "CASE-1") -> DepartmentAnswer:
    return DepartmentAnswer(case_ref=case_ref, status="completed", summary=summary)


def accepted(case_ref: str) -> DepartmentAnswer:
    return DepartmentAnswer(case_ref=case_ref, status="accepted")


def rejected(department: Department) -> ApplicationError:
    """What the real activity raises for an HTTP 400."""
    return ApplicationError(
        f"{department.value} department rejected the case: HTTP 400",
        type="DepartmentRejected",
        non_retryable=True,
    )


@dataclass
class World:
    client: Client
    task_queue: str = field(default_factory=lambda: f"wf-{uuid.uuid4().hex[:10]}")
    # how the world answers
    triage: TriageResult = field(default_factory=triage)
    answers: dict[Department, DepartmentAnswer | Exception] = field(default_factory=dict)
    reviewers: list[Reviewer] = field(
        default_factory=lambda: [
            Reviewer(reviewer_id=OWNER, roles=["agent", "compliance_reviewer"]),
            Reviewer(reviewer_id=REVIEWER, roles=["compliance_reviewer"]),
            Reviewer(reviewer_id=SENIOR, roles=["senior_reviewer"]),
            Reviewer(reviewer_id=SENIOR_2, roles=["senior_reviewer"]),
            Reviewer(reviewer_id=LEGAL, roles=["compliance_reviewer", "legal_reviewer"]),
            Reviewer(reviewer_id=LEGAL_2, roles=["compliance_reviewer", "legal_reviewer"]),
            Reviewer(reviewer_id=AGENT, roles=["agent"]),
        ]
    )
    owner: AssignedOwner = field(
        default_factory=lambda: AssignedOwner(owner_id=OWNER, team="care", reason="least loaded")
    )
    # entries replacing POLICY's before the intake's overrides are merged, e.g.
    # {"approvals_required": 2, "business_clocks": ["resolution"], "calendar": {...}}
    policy: dict[str, Any] = field(default_factory=dict)
    # fields of the resolved policy set last, e.g. {"business_windows": [(opens, closes)]}
    resolved: dict[str, Any] = field(default_factory=dict)
    escalation_owners: dict[int, str] = field(
        default_factory=lambda: {1: OWNER, 2: TIER2_LEAD, 3: TIER3_LEAD}
    )
    # staff ids the roster lets own inquiries, and their team (the actor check's proposed_owner)
    staff: dict[str, str] = field(
        default_factory=lambda: dict.fromkeys(
            (OWNER, AGENT, SENIOR, TIER2_LEAD, TIER3_LEAD, MANAGER), "care"
        )
    )
    # who acts (verify_actor): everyone is staff on the roster but `strangers`; nobody signs, so
    # every action is accepted as unverified, as in development
    strangers: set[str] = field(default_factory=set)
    operators: set[str] = field(default_factory=lambda: {OPERATOR})
    managers: dict[str, list[str]] = field(
        default_factory=lambda: {
            MANAGER: ["care", *(f"escalation-tier{tier}" for tier in (1, 2, 3))]
        }
    )
    first_run_id: str | None = None  # set: register_inquiry says the id ran before
    store_refuses: bool = False  # set: record_events fails every attempt
    # set: verify_actors answers with checks of another call (a verdict replayed by hand)
    replayed_verdicts: bool = False
    refused_writes: int = 0
    roster_down: bool = False  # set: assign_owner fails every attempt (an unreadable roster)
    team_empty: bool = False  # set: assign_owner finds nobody eligible in the team (a roster edit)
    customer_channel_down: bool = False  # set: every message to the customer fails to deliver
    # message kinds the customer's channel refuses for good (a non-retryable error)
    customer_refuses: set[str] = field(default_factory=set)
    staff_refused: set[str] = field(default_factory=set)  # staff inboxes that refuse for good
    departments_sign: bool = True  # False: department results come unsigned (anyone's)
    refused_deliveries: int = 0
    # set to n: each owner notice is held until n have been asked for, so they overlap
    owner_notices_together: int = 0
    _notices_due: asyncio.Event = field(default_factory=asyncio.Event)
    # what the workflow did to it
    calls: list[str] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)
    write_sizes: list[int] = field(default_factory=list)  # each audit write's input, in bytes
    snapshots: list[InquirySnapshot] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    requests: list[DepartmentRequest] = field(default_factory=list)
    escalations: list[EscalationInput] = field(default_factory=list)
    surveys: list[SurveyAnswer] = field(default_factory=list)
    sent_at: dict[str, datetime] = field(default_factory=dict)  # message_key -> server time
    handles: list[WorkflowHandle[Any, Any]] = field(default_factory=list)

    # --- looking at what happened ---------------------------------------------------------

    def sent(self, kind: str) -> list[OutboxMessage]:
        return [m for m in self.messages if m.kind == kind]

    def actions(self, action: str) -> list[AuditEvent]:
        return [e for e in self.events if e.action == action]

    def times(self, kind: str) -> list[datetime]:
        """When each message of `kind` was handed to the outbox, on the server's clock."""
        return [self.sent_at[m.message_key] for m in self.sent(kind)]

    async def messages_sent(self, kind: str, count: int) -> list[OutboxMessage]:
        """Wait (real time, bounded) until `count` messages of `kind` have been sent."""
        return await self._until(lambda: len(self.sent(kind)) >= count, lambda: self.sent(kind))

    async def actions_done(
        self, action: str, count: int, where: Callable[[AuditEvent], bool] = lambda _: True
    ) -> list[AuditEvent]:
        """Wait (real time, bounded) until `count` events of `action` (those `where` picks)
        have been documented; all of them, in order."""

        def found() -> list[AuditEvent]:
            return [e for e in self.actions(action) if where(e)]

        return await self._until(lambda: len(found()) >= count, found)

    async def _until(self, ready: Callable[[], bool], found: Callable[[], list[Any]]) -> list[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while not ready():
            if loop.time() > deadline:
                raise AssertionError(f"gave up waiting; found {len(found())}")
            await asyncio.sleep(0.02)
        return found()

    async def now(self) -> datetime:
        """The test server's clock, which `env.sleep` moves and workflows read."""
        answer = await self.client.test_service.get_current_time(Empty())
        return answer.time.ToDatetime().replace(tzinfo=UTC)

    async def sleep_until(self, env: WorkflowEnvironment, instant: datetime) -> None:
        """Move the server's clock to `instant` (no further than it already is)."""
        left = instant - await self.now()
        if left > timedelta(0):
            await env.sleep(left)

    async def hold_owner_notice(self) -> None:
        if len(self.sent("owner_notice")) >= self.owner_notices_together:
            self._notices_due.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._notices_due.wait(), 5)

    # --- driving -------------------------------------------------------------------------

    async def start(
        self, intake: Any, received_now: bool = True
    ) -> WorkflowHandle[Any, InquiryOutcome]:
        """Start as a raw client would: the type by name and the intake as plain JSON.

        With `received_now`, the intake's `received_at` is set (in the caller's dict too) to the
        server's current time, where the inquiry's resolution clock then starts.
        """
        inquiry_id = intake.get("inquiry_id") if isinstance(intake, dict) else None
        if received_now and isinstance(intake, dict) and "received_at" in intake:
            # Whole seconds, so marks computed from it are never a fraction of a millisecond
            # later than the server's timers, which count in milliseconds.
            intake["received_at"] = (await self.now()).replace(microsecond=0).isoformat()
        handle = await self.client.start_workflow(
            "RegulatedInquiry",
            intake,
            id=workflow_id_for(str(inquiry_id or uuid.uuid4().hex[:12])),
            task_queue=self.task_queue,
            result_type=InquiryOutcome,
        )
        self.handles.append(handle)
        return handle

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[World]:
        async with Worker(
            self.client,
            task_queue=self.task_queue,
            workflows=[RegulatedInquiry],
            activities=self.activities(),
            workflow_runner=workflow_runner(),
        ):
            try:
                yield self
            finally:
                for handle in self.handles:
                    await wind_down(handle)

    # --- the activities ------------------------------------------------------------------

    def activities(self) -> list[Callable[..., Any]]:
        world = self

        @activity.defn(name="take_in")
        async def take_in(request: TakeInInput) -> TakenIn:
            world.calls.append("take_in")
            first = world.first_run_id or request.registration.run_id
            registered = RegisterInquiryResult(
                accepted=world.first_run_id is None, first_run_id=first
            )
            if not registered.accepted:
                return TakenIn(registered=registered)
            defaults = PolicyFile.model_validate(POLICY | world.policy)
            starts_at = request.policy.starts_at or activity.info().current_attempt_scheduled_time
            resolved = merge_policy(defaults, request.policy.overrides, starts_at)
            policy = resolved.model_copy(update=world.resolved)
            if world.roster_down:
                raise ApplicationError("roster unreadable", type="ConfigUnavailable")
            owner = None if world.team_empty else world.owner
            return TakenIn(registered=registered, policy=policy, triage=world.triage, owner=owner)

        @activity.defn(name="record_events")
        async def record_events(request: RecordInput) -> None:
            world.calls.append("record_events")
            if world.store_refuses:
                world.refused_writes += 1
                raise ApplicationError("the store refused the operation", type="StoreError")
            world.events.extend(request.events)
            world.surveys.extend(request.survey_answers)
            world.write_sizes.append(len(request.model_dump_json()))
            if request.snapshot is not None:
                world.snapshots.append(request.snapshot)

        @activity.defn(name="assign_owner")
        async def assign_owner(request: AssignOwnerInput) -> AssignedOwner:
            world.calls.append("assign_owner")
            if world.roster_down:
                raise ApplicationError("roster unreadable", type="ConfigUnavailable")
            if world.team_empty:
                raise ApplicationError(
                    "team care has no eligible member", "care", MANAGER,
                    type="NoEligibleOwner", non_retryable=True,
                )  # fmt: skip
            return world.owner

        @activity.defn(name="escalation_contacts")
        async def escalation_contacts(request: EscalationInput) -> EscalationContacts:
            world.calls.append("escalation_contacts")
            world.escalations.append(request)
            return EscalationContacts(
                owner_id=world.escalation_owners[request.tier],
                team=f"escalation-tier{request.tier}",
                manager=MANAGER,
                tier3_notify=list(TIER3_NOTIFY),
            )

        def check(request: VerifyActorInput) -> ActorCheck:
            if request.action == "department_result":
                # signed by the department's token, as the simulator signs its own
                return ActorCheck(verified=world.departments_sign)
            if request.action == "survey_response":
                return ActorCheck()
            actor = request.actor
            roles = StaffRoles(
                on_roster=actor not in world.strangers,
                operator=actor in world.operators,
                manages=world.managers.get(actor, []),
                owns_in=world.staff.get(actor),
                reviewer_roles=[
                    r for x in world.reviewers if x.reviewer_id == actor for r in x.roles
                ],
                review_sectors=list(Sector),  # the world's reviewers review every sector
            )
            proposed = request.proposed_owner
            return ActorCheck(
                roles=roles,
                proposed_owner=(
                    None
                    if proposed is None
                    else OwnerOnRoster(staff_id=proposed, team=world.staff.get(proposed))
                ),
            )

        @activity.defn(name="verify_actors")
        async def verify_actors(request: VerifyActorsInput) -> list[ActorCheck]:
            world.calls.append("verify_actors")
            checks = [check(action) for action in request.actions]
            call = "an-earlier-call" if world.replayed_verdicts else request.call
            return [c.model_copy(update={"call": call}) for c in checks]

        @activity.defn(name="route_to_department")
        async def route_to_department(request: DepartmentRequest) -> DepartmentAnswer:
            world.calls.append("route_to_department")
            world.requests.append(request)
            answer = world.answers.get(request.department)
            if isinstance(answer, Exception):
                raise answer
            department = request.department.value
            return answer or completed(
                f"The {department} team checked the case; all is in order.",
                case_ref=f"{department.upper()}-1",
            )

        @activity.defn(name="send_message")
        async def send_message(message: OutboxMessage) -> MessageReceipt:
            world.calls.append("send_message")
            if message.survey is not None:  # signed in the send, as the real one does
                body = message.body.replace(SURVEY_REF_SLOT, f"survey-ref-{message.survey.survey}")
                message = message.model_copy(update={"body": body, "survey": None})
            if world.customer_channel_down and message.audience == "customer":
                world.refused_deliveries += 1
                raise ApplicationError(
                    f"relay said 550 for {message.recipient}", type="DeliveryFailed"
                )
            refused = (
                message.kind in world.customer_refuses
                if message.audience == "customer"
                else message.recipient in world.staff_refused
            )
            if refused:
                raise ApplicationError(
                    "the channel refused the address", type="AddressRejected", non_retryable=True
                )
            world.sent_at[message.message_key] = activity.info().current_attempt_scheduled_time
            world.messages.append(message)
            if message.kind == "owner_notice":
                await world.hold_owner_notice()
            return MessageReceipt(message_key=message.message_key, status="queued")

        return [
            take_in,
            record_events,
            assign_owner,
            escalation_contacts,
            route_to_department,
            send_message,
            verify_actors,
        ]
