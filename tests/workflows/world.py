"""A fake world for workflow tests: RegulatedInquiry's activities re-declared under their
registered names, with the same input and result models, answering as each test configures and
writing down what the workflow asked of them (audit events, outbox messages, department cases).

The activities read the world's attributes when called, so a test may set `triage`, `answers`,
`reviewers` or `first_run_id` after the worker has started, as long as it does so before it
starts the workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowHandle,
)
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.config_files import PolicyFile, merge_policy
from models.activities import (
    AssignedOwner,
    AssignOwnerInput,
    AuditEvent,
    DepartmentAnswer,
    DepartmentRequest,
    InquirySnapshot,
    LoadReviewersInput,
    MessageReceipt,
    OutboxMessage,
    RecordInput,
    RegisterInquiryInput,
    RegisterInquiryResult,
    ResolvedPolicy,
    ResolvePolicyInput,
    Reviewer,
    ReviewerRoster,
    TriageInput,
    TriageResult,
)
from models.contract import ComplianceFlag, Department, InquiryOutcome, Urgency, workflow_id_for
from tests.workflows.server import wind_down
from workflows.inquiry import RegulatedInquiry

OWNER = "owner.olga"
REVIEWER = "rev.rita"
SENIOR = "rev.ravi"
LEGAL = "rev.lena"  # may also decide on privileged and litigation matters
AGENT = "agent.al"  # on the roster, but without a reviewing role

# Written here rather than read from config/policy.toml, so an operator's edit of the shipped
# defaults cannot change what these tests prove.
POLICY_DEFAULTS = PolicyFile.model_validate(
    {
        "survey_delay": "PT24H",
        "survey_reminder": "PT72H",
        "survey_window": "P7D",
        "compliance_sla": {"1": "PT8H", "2": "PT4H", "3": "PT1H"},
        "department_sla": "P2D",
        "resolution_sla": {"1": "P5D", "2": "P3D", "3": "P1D"},
        "auto_release_tier1": True,
    }
)


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
    """Tier 1, billing only, no compliance flag: what policy may release without a reviewer."""
    return triage(tier=1, flags=(), categories=("billing",))


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
            Reviewer(reviewer_id=LEGAL, roles=["compliance_reviewer", "legal_reviewer"]),
            Reviewer(reviewer_id=AGENT, roles=["agent"]),
        ]
    )
    owner: AssignedOwner = field(
        default_factory=lambda: AssignedOwner(owner_id=OWNER, team="care", reason="least loaded")
    )
    first_run_id: str | None = None  # set: register_inquiry says the id ran before
    # set to n: each owner notice is held until n have been asked for, so they overlap
    owner_notices_together: int = 0
    _notices_due: asyncio.Event = field(default_factory=asyncio.Event)
    # what the workflow did to it
    calls: list[str] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)
    snapshots: list[InquirySnapshot] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    requests: list[DepartmentRequest] = field(default_factory=list)
    handles: list[WorkflowHandle[Any, Any]] = field(default_factory=list)

    # --- looking at what happened ---------------------------------------------------------

    def sent(self, kind: str) -> list[OutboxMessage]:
        return [m for m in self.messages if m.kind == kind]

    def actions(self, action: str) -> list[AuditEvent]:
        return [e for e in self.events if e.action == action]

    async def hold_owner_notice(self) -> None:
        if len(self.sent("owner_notice")) >= self.owner_notices_together:
            self._notices_due.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._notices_due.wait(), 5)

    # --- driving -------------------------------------------------------------------------

    async def start(self, intake: Any) -> WorkflowHandle[Any, InquiryOutcome]:
        """Start as a raw client would: the type by name and the intake as plain JSON."""
        inquiry_id = intake.get("inquiry_id") if isinstance(intake, dict) else None
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
        ):
            try:
                yield self
            finally:
                for handle in self.handles:
                    await wind_down(handle)

    # --- the activities ------------------------------------------------------------------

    def activities(self) -> list[Callable[..., Any]]:
        world = self

        @activity.defn(name="register_inquiry")
        async def register_inquiry(request: RegisterInquiryInput) -> RegisterInquiryResult:
            world.calls.append("register_inquiry")
            first = world.first_run_id or request.run_id
            return RegisterInquiryResult(accepted=world.first_run_id is None, first_run_id=first)

        @activity.defn(name="record_events")
        async def record_events(request: RecordInput) -> None:
            world.calls.append("record_events")
            world.events.extend(request.events)
            if request.snapshot is not None:
                world.snapshots.append(request.snapshot)

        @activity.defn(name="resolve_policy")
        async def resolve_policy(request: ResolvePolicyInput) -> ResolvedPolicy:
            world.calls.append("resolve_policy")
            return merge_policy(POLICY_DEFAULTS, request.overrides)

        @activity.defn(name="triage_inquiry")
        async def triage_inquiry(request: TriageInput) -> TriageResult:
            world.calls.append("triage_inquiry")
            return world.triage

        @activity.defn(name="assign_owner")
        async def assign_owner(request: AssignOwnerInput) -> AssignedOwner:
            world.calls.append("assign_owner")
            return world.owner

        @activity.defn(name="load_reviewers")
        async def load_reviewers(request: LoadReviewersInput) -> ReviewerRoster:
            world.calls.append("load_reviewers")
            return ReviewerRoster(reviewers=world.reviewers)

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
            world.messages.append(message)
            if message.kind == "owner_notice":
                await world.hold_owner_notice()
            return MessageReceipt(message_key=message.message_key, status="queued")

        return [
            register_inquiry,
            record_events,
            resolve_policy,
            triage_inquiry,
            assign_owner,
            load_reviewers,
            route_to_department,
            send_message,
        ]
