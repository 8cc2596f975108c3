"""What each contract signal may do to a case (workflows/signals.py), without Temporal: a valid
signal changes the case and is documented; a refused one changes nothing, and its reason names
the rule, never the payload."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from models.activities import ActorCheck, OwnerOnRoster, StaffRoles
from models.contract import SIGNAL_PAYLOADS, Department, Sector, Stage
from models.status import DepartmentState, SurveyState
from tests.unit.test_case import NOW, OWNER, REVIEWERS, at_checkpoint, make_case
from workflows import views
from workflows.case import Case
from workflows.requests import Escalation
from workflows.signals import RULES, actor_of

SSN = "123-45-6789"


# What the roster says of the sender, unless a test says otherwise: staff who manage the team.
MANAGER = StaffRoles(on_roster=True, manages=["care"])


def reviewer(staff_id: str, sectors: tuple[Sector, ...] = (Sector.HEALTHCARE,)) -> StaffRoles:
    """What the roster says of `staff_id` as a reviewer (tests/unit/test_case.py's REVIEWERS)."""
    known = REVIEWERS.get(staff_id)
    roles = list(known.roles) if known else []
    return StaffRoles(on_roster=known is not None, reviewer_roles=roles, review_sectors=sectors)


def send(case: Case, name: str, roles: StaffRoles | None = None, **payload: Any) -> str | None:
    """Apply one signal as the workflow does; a refusal must leave the case exactly as it was.
    The sender's roles: a reviewer's for a decision, a team manager's otherwise."""
    decoded = SIGNAL_PAYLOADS[name].model_validate(payload)
    if roles is None:
        roles = reviewer(payload["reviewer_id"]) if name == "compliance_decision" else MANAGER
    before = (case.seq, case.stage, case.tier, case.owner, len(case.reviews), len(case.drafts))
    reason = RULES[name](case, decoded, ActorCheck(verified=True, roles=roles), NOW)
    if reason is not None:
        after = (case.seq, case.stage, case.tier, case.owner, len(case.reviews), len(case.drafts))
        assert after == before, f"{name} was refused but changed the case"
        assert SSN not in reason
    return reason


def decision(reviewer: str, verdict: str = "approve") -> dict[str, Any]:
    return {"reviewer_id": reviewer, "decision": verdict, "note": f"see {SSN}"}


def routing(case: Case, **states: DepartmentState) -> Case:
    case.move_to(Stage.ROUTING, NOW)
    for name, state in states.items():
        case.department_update(Department(name), state, "system", NOW)
    return case


# --- compliance_decision ------------------------------------------------------------------


def test_decision_before_the_checkpoint_is_refused() -> None:
    case = routing(make_case())

    assert send(case, "compliance_decision", **decision("rev.rita")) == (
        "no draft awaits a compliance decision"
    )


@pytest.mark.parametrize(
    ("reviewer", "reason"),
    [
        (OWNER, "the owner may not review their own draft"),
        ("stranger.sam", "reviewer is not authorised to review this inquiry"),
        ("agent.al", "reviewer is not authorised to review this inquiry"),
    ],
)
def test_decision_by_the_wrong_person_is_refused(reviewer: str, reason: str) -> None:
    case = at_checkpoint(make_case())

    assert send(case, "compliance_decision", **decision(reviewer)) == reason


def test_nobody_who_owned_the_inquiry_or_wrote_a_draft_reviews_it() -> None:
    # rev.rita owned the inquiry once; rev.lena wrote a version of the draft while owning it.
    case = make_case()
    case.assign("rev.lena", "care", "cover", "system", NOW)
    case = at_checkpoint(case)
    case.add_draft("Written by the reviewer herself.", "rev.lena", NOW)
    case.assign(OWNER, "care", "back from leave", "system", NOW)
    case.owner_history.insert(0, case.owner_history[0].model_copy(update={"owner_id": "rev.rita"}))

    assert send(case, "compliance_decision", **decision("rev.rita")) == (
        "a former owner of the inquiry may not review its draft"
    )
    assert send(case, "compliance_decision", **decision("rev.lena")) == (
        "a former owner of the inquiry may not review its draft"
    )
    case.owner_history = [a for a in case.owner_history if a.owner_id != "rev.lena"]
    assert send(case, "compliance_decision", **decision("rev.lena")) == (
        "an author of the draft may not review it"
    )


def test_litigation_matter_needs_a_legal_reviewer() -> None:
    case = at_checkpoint(make_case(tier=3, flags=("LITIGATION",)))

    refused = send(case, "compliance_decision", **decision("rev.rita"))
    assert refused is not None and "legal_reviewer" in refused
    assert send(case, "compliance_decision", **decision("rev.lena")) is None


def test_after_a_breached_review_a_privileged_matter_needs_a_senior_legal_reviewer() -> None:
    """The senior pool takes over a breached review, but privilege still needs legal eyes."""
    case = at_checkpoint(make_case(tier=3, flags=("LITIGATION",)))
    case.senior_review = True
    senior_only = StaffRoles(
        on_roster=True, reviewer_roles=["senior_reviewer"], review_sectors=[Sector.HEALTHCARE]
    )
    legal_only = reviewer("rev.lena")
    both = senior_only.model_copy(update={"reviewer_roles": ["senior_reviewer", "legal_reviewer"]})

    refused = send(case, "compliance_decision", senior_only, **decision("rev.ravi"))
    assert refused is not None and "legal_reviewer" in refused
    refused = send(case, "compliance_decision", legal_only, **decision("rev.lena"))
    assert refused is not None and "senior_reviewer" in refused
    assert send(case, "compliance_decision", both, **decision("rev.ravi")) is None


def test_a_decision_naming_another_draft_version_is_refused() -> None:
    """A reviewer who read v1 while the owner's v2 landed first does not approve v2 unread."""
    case = at_checkpoint(make_case())
    case.add_draft("A revised answer.", OWNER, NOW)
    case.move_to(Stage.AWAITING_COMPLIANCE, NOW)

    stale = decision("rev.rita") | {"draft_version": 1}
    assert send(case, "compliance_decision", **stale) == "decision was for another draft version"
    assert send(case, "compliance_decision", **decision("rev.rita") | {"draft_version": 2}) is None


def test_approval_is_recorded_against_the_current_draft_once_per_reviewer() -> None:
    case = at_checkpoint(make_case())

    assert send(case, "compliance_decision", **decision("rev.rita")) is None
    assert send(case, "compliance_decision", **decision("rev.rita", "reject")) == (
        "reviewer has already decided on this draft"
    )
    [review] = case.reviews
    assert (review.reviewer_id, review.decision, review.draft_version) == ("rev.rita", "approve", 1)
    assert case.pending[-1].action == "compliance_approve"


# --- department_result --------------------------------------------------------------------


def result(department: str, case_ref: str, status: str = "completed") -> dict[str, Any]:
    return {"department": department, "case_ref": case_ref, "status": status, "summary": SSN}


def test_department_result_is_refused_unless_routing_to_that_department() -> None:
    case = make_case(categories=("billing",))
    assert send(case, "department_result", **result("billing", "B-1")) == (
        "inquiry is not waiting on departments"
    )
    routing(case)
    assert send(case, "department_result", **result("legal", "L-1")) == (
        "inquiry was not routed to this department"
    )


def test_department_result_must_match_the_case_it_opened() -> None:
    case = routing(make_case(), clinical=DepartmentState(status="accepted", case_ref="CL-1"))

    assert send(case, "department_result", **result("clinical", "CL-2")) == (
        "case_ref does not match the case opened with this department"
    )
    assert send(case, "department_result", **result("clinical", "CL-1")) is None
    assert case.departments[Department.CLINICAL].status == "completed"
    assert case.pending[-1].actor == "department:clinical"


def test_result_overtaking_the_departments_own_answer_is_taken() -> None:
    case = routing(make_case())  # clinical still pending: its answer has not arrived yet

    assert send(case, "department_result", **result("clinical", "CL-5")) is None
    assert case.departments[Department.CLINICAL].case_ref == "CL-5"


def test_only_needs_info_may_be_followed_by_another_result() -> None:
    case = routing(make_case(), clinical=DepartmentState(status="accepted", case_ref="CL-1"))

    assert send(case, "department_result", **result("clinical", "CL-1", "needs_info")) is None
    assert send(case, "department_result", **result("clinical", "CL-1")) is None
    assert send(case, "department_result", **result("clinical", "CL-1", "failed")) == (
        "department has already reported a final result"
    )


# --- the draft, the owner and the tier ----------------------------------------------------


def test_only_the_owner_revises_and_only_while_a_draft_is_open() -> None:
    case = routing(make_case())
    assert send(case, "revise_response", author_id=OWNER, text="x") == (
        "no draft is open for revision"
    )

    case = at_checkpoint(make_case())
    assert send(case, "revise_response", author_id="agent.al", text=SSN) == (
        "only the owner may revise the draft"
    )
    assert send(case, "revise_response", author_id=OWNER, text="Revised.") is None
    assert case.draft is not None and (case.draft.version, case.draft.author_id) == (2, OWNER)


def reassign(
    case: Case, owner_id: str, team: str | None, reason: str = "leave", roles: StaffRoles = MANAGER
) -> str | None:
    """A reassignment (by the team's manager unless `roles` say otherwise), with what the roster
    said of the new owner."""
    check = ActorCheck(
        verified=True,
        roles=roles,
        proposed_owner=OwnerOnRoster(staff_id=owner_id, team=team),
    )
    payload = {"owner_id": owner_id, "by": "lead.lee", "reason": reason}
    decoded = SIGNAL_PAYLOADS["reassign_owner"].model_validate(payload)
    return RULES["reassign_owner"](case, decoded, check, NOW)


def test_reassignment_moves_the_inquiry_to_someone_the_roster_lets_own_it() -> None:
    case = make_case()

    assert reassign(case, "agent.al", "care") is None

    assert case.owner == "agent.al"
    assert [(a.owner_id, a.team, a.by) for a in case.owner_history[1:]] == [
        ("agent.al", "care", "lead.lee")
    ]
    assert case.pending[-1].action == "owner_assigned"


@pytest.mark.parametrize(
    ("owner_id", "team", "reason"),
    [
        (OWNER, "care", "inquiry is already owned by that owner"),
        ("Jordan Example", None, "owner_id is not on the roster as staff who own inquiries"),
    ],
)
def test_a_reassignment_to_the_owner_or_to_nobody_on_the_roster_changes_nothing(
    owner_id: str, team: str | None, reason: str
) -> None:
    case = make_case()
    before = case.model_copy(deep=True)

    assert reassign(case, owner_id, team, reason=SSN) == reason

    assert case == before


@pytest.mark.parametrize("being", ["queued", "served"])
def test_a_reassignment_while_an_escalation_is_under_way_is_refused(being: str) -> None:
    """An escalation asked first may change the owner when it is walked: a reassignment applied
    before it would be undone by it, so it is refused until the escalation is done."""
    case = make_case()
    escalation = Escalation(actor="lead.lee", reason="chased")
    if being == "queued":
        case.requests.append(escalation)
    else:
        case.serving = escalation
    before = case.model_copy(deep=True)

    reason = reassign(case, "agent.al", "care")

    assert reason == "an escalation of the inquiry is under way; reassign it once that is done"
    assert case == before
    case.requests, case.serving = [], None
    assert reassign(case, "agent.al", "care") is None


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        (StaffRoles(on_roster=True, operator=True), True),
        (StaffRoles(on_roster=True, manages=["care"]), True),
        (StaffRoles(on_roster=True, manages=["billing"]), False),
        (StaffRoles(on_roster=True, owns_in="care"), False),
        (StaffRoles(on_roster=True, reviewer_roles=["senior_reviewer"]), False),
        (StaffRoles(), False),
    ],
)
def test_only_an_operator_or_the_teams_manager_reassigns(roles: StaffRoles, allowed: bool) -> None:
    case = make_case()

    reason = reassign(case, "agent.al", "care", roles=roles)
    if allowed:
        assert reason is None
    else:
        assert reason == "only an operator or the manager of the inquiry's team may reassign it"


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("escalate", {"by": "mallory", "reason": "x"}),
        ("withdraw", {"by": "mallory", "reason": "x"}),
        ("add_note", {"author_id": "mallory", "text": "x"}),
    ],
)
def test_someone_not_on_the_roster_cannot_act(name: str, payload: dict[str, Any]) -> None:
    case = make_case()

    assert send(case, name, StaffRoles(), **payload) == (
        "only staff on the roster may take this action"
    )


def test_an_inquiry_not_yet_triaged_cannot_be_escalated() -> None:
    untriaged = Case(intake=make_case().intake, workflow_id="inquiry-INQ-1", run_key="run-2")
    assert send(untriaged, "escalate", by="lead.lee", reason="chased") == (
        "inquiry cannot be escalated at this stage"
    )


def timed(case: Case) -> Case:
    """With the resolution clock running since NOW, as every run has once triaged."""
    assert case.policy is not None
    case.sla.start("resolution", timedelta(days=3), NOW, case.policy)
    return case


def test_escalation_in_a_timed_run_is_left_for_the_escalation_path() -> None:
    case = timed(make_case(tier=2))

    assert send(case, "escalate", by="lead.lee", reason="chased") is None

    # the tier moves when the workflow has found the next owner, not in the handler
    assert case.tier == 2
    assert case.requests == [Escalation(actor="lead.lee", reason="chased")]
    assert case.pending[-1].action == "escalation_requested"


def test_needs_info_pauses_the_customer_clocks_until_the_next_result() -> None:
    case = timed(routing(make_case(), clinical=DepartmentState(status="accepted", case_ref="C-1")))
    assert case.policy is not None
    case.sla.start("department", timedelta(days=2), NOW, case.policy)

    assert send(case, "department_result", **result("clinical", "C-1", "needs_info")) is None
    assert {d.name: d.state for d in case.sla.deadlines(NOW, case.policy)} == {
        "resolution": "paused",
        "department": "paused",
    }
    assert [request.kind for request in case.requests] == ["notify"]

    assert send(case, "department_result", **result("clinical", "C-1")) is None
    assert {d.state for d in case.sla.deadlines(NOW, case.policy)} == {"running"}
    assert case.needs_info_rounds == 1


def test_an_unsigned_needs_info_stops_no_clock_and_a_repeat_tells_the_owner_once() -> None:
    """In development mode anyone with a Temporal client can send a department_result: an
    unsigned needs_info is recorded and the owner told, but the SLA clocks run on (a forged one
    paused them for good); asked again while waiting, the owner is not told again."""
    case = timed(routing(make_case(), clinical=DepartmentState(status="accepted", case_ref="C-1")))
    assert case.policy is not None
    payload = SIGNAL_PAYLOADS["department_result"].model_validate(
        result("clinical", "C-1", "needs_info")
    )

    for _ in range(3):
        assert RULES["department_result"](case, payload, ActorCheck(), NOW) is None

    assert {d.state for d in case.sla.deadlines(NOW, case.policy)} == {"running"}
    assert case.departments[Department.CLINICAL].unverified
    assert [request.kind for request in case.requests] == ["notify"]
    assert case.needs_info_rounds == 1


def test_first_contact_resolution_needs_a_quiet_resolved_run() -> None:
    case = timed(make_case())
    assert views.first_contact_resolution(case) is False  # nothing communicated yet

    case.resolution_ref = "inquiry-INQ-1:run-1:resolution:v1"
    assert views.first_contact_resolution(case) is True

    for change in ({"round": 1}, {"escalations": 1}, {"needs_info_rounds": 1}):
        other = timed(make_case())
        other.resolution_ref = case.resolution_ref
        for name, value in change.items():
            setattr(other, name, value)
        assert views.first_contact_resolution(other) is False, change


# --- follow-up, withdrawal, notes ------------------------------------------------------------


def test_close_recovery_is_refused_unless_the_owner_closes_an_open_step() -> None:
    case = timed(make_case())
    assert send(case, "close_recovery", by=OWNER, note="done") == (
        "no service-recovery step is open"
    )

    case.survey = SurveyState(sent_at=NOW, csat=1, recovery_due_at=NOW + timedelta(days=2))
    assert send(case, "close_recovery", by="agent.al", note=SSN) == (
        "only the owner may close the service-recovery step"
    )
    assert send(case, "close_recovery", by=OWNER, note="called back") is None
    assert case.survey.recovery_closed_by == OWNER
    assert not case.recovery_open


def test_survey_and_reopen_are_refused_outside_follow_up() -> None:
    case = at_checkpoint(make_case())

    assert send(case, "survey_response", csat=5, comment=SSN) == "no survey awaits an answer"
    assert send(case, "reopen", by="agent.al", reason=SSN) == (
        "inquiry can only be reopened during follow-up"
    )


@pytest.mark.parametrize(
    ("by", "roles", "allowed"),
    [
        (OWNER, StaffRoles(on_roster=True, owns_in="care"), True),
        ("mgr.mia", MANAGER, True),
        ("ops.otto", StaffRoles(on_roster=True, operator=True), True),
        ("agent.gus", StaffRoles(on_roster=True, owns_in="billing"), False),
        ("reviewer.victor", StaffRoles(on_roster=True, reviewer_roles=["compliance"]), False),
        ("mgr.bo", StaffRoles(on_roster=True, manages=["billing"]), False),
    ],
)
def test_only_the_owner_the_teams_manager_or_an_operator_reopens_or_withdraws(
    by: str, roles: StaffRoles, allowed: bool
) -> None:
    """Reopening opens new department cases and sends the customer a new resolution; a
    withdrawal ends the inquiry unanswered: staff with no part in the inquiry may do neither."""
    case = timed(make_case())
    case.move_to(Stage.FOLLOW_UP, NOW)
    open_case = at_checkpoint(make_case())

    reopening = send(case, "reopen", roles, by=by, reason="not resolved")
    withdrawing = send(open_case, "withdraw", roles, by=by, reason="asked")

    if allowed:
        assert reopening is None and case.reopen_by == by
        assert withdrawing is None and open_case.withdrawn
    else:
        who = "the owner, the manager of the inquiry's team or an operator"
        assert reopening == f"only {who} may reopen it" and case.reopen_by is None
        assert withdrawing == f"only {who} may withdraw it" and not open_case.withdrawn


def test_withdrawal_is_taken_once_and_not_once_communicating() -> None:
    case = at_checkpoint(make_case())
    assert send(case, "withdraw", by="agent.al", reason="customer called") is None
    assert case.withdrawn
    assert send(case, "withdraw", by="agent.al", reason=SSN) == "inquiry can no longer be withdrawn"

    communicating = at_checkpoint(make_case())
    communicating.move_to(Stage.COMMUNICATING, NOW)
    assert send(communicating, "withdraw", by="agent.al", reason="late") == (
        "inquiry can no longer be withdrawn"
    )
    assert not communicating.withdrawn


def test_note_is_counted_and_documented() -> None:
    case = make_case()

    assert send(case, "add_note", author_id="agent.al", text="upset", kind="sentiment") is None
    assert case.notes == 1
    assert case.pending[-1].detail == {"kind": "sentiment", "text": "upset"}


@pytest.mark.parametrize(
    ("name", "payload", "actor"),
    [
        ("compliance_decision", decision("rev.rita"), "rev.rita"),
        ("revise_response", {"author_id": OWNER, "text": "x"}, OWNER),
        ("withdraw", {"by": "agent.al", "reason": "x"}, "agent.al"),
        ("department_result", result("legal", "L-1"), "department:legal"),
        ("survey_response", {"csat": 4}, None),
    ],
)
def test_the_sender_of_a_signal_is_named_for_the_audit_trail(
    name: str, payload: dict[str, Any], actor: str | None
) -> None:
    assert actor_of(SIGNAL_PAYLOADS[name].model_validate(payload)) == actor
