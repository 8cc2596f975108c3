"""Follow-up: the survey after the resolution, one reminder, closure when the window ends, and
service recovery when the customer's scores say the matter is not resolved."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.activities import SURVEY_REF_SLOT, SurveyAnswer, SurveyRefInput
    from models.contract import Stage, SurveyResponse
    from models.policy import ScoreThresholds
    from models.status import SurveyState

from workflows import attendant, escalation, messages, outbox
from workflows.case import Case, Recovery
from workflows.continuation import rest, unless_withdrawn
from workflows.policies import SYSTEM
from workflows.requests import Escalation

Ending = Literal["closed", "reopened"]


async def follow_up(case: Case) -> Ending:
    """The survey, the reminder, the window, the recovery: each wait is measured from what the
    case recorded (when follow-up began, when the survey went), so a continued run resumes."""
    policy = case.policy
    assert policy is not None
    if case.stage != Stage.FOLLOW_UP:
        case.move_to(Stage.FOLLOW_UP, workflow.now())
        case.survey, case.answer, case.reopen_by = None, None, None
        case.recovery = Recovery()

    def reopened() -> bool:
        return case.reopen_by is not None

    def answered() -> bool:
        return reopened() or case.answer is not None

    if case.survey is None:
        began = case.stage_since[Stage.FOLLOW_UP]
        if await rest(case, reopened, began + policy.survey_delay, "survey delay"):
            return ending(case)
        await _send_survey(case)
    # Read afresh after each wait: the answer's handler replaces the survey state.
    survey = case.survey
    assert survey is not None and survey.sent_at is not None
    if survey.reminded_at is None and policy.survey_reminder < policy.survey_window:
        reminder = survey.sent_at + policy.survey_reminder
        if not await rest(case, answered, reminder, "survey reminder"):
            await _send_survey(case, reminder=True)
    if not await rest(case, answered, survey.sent_at + policy.survey_window, "survey window"):
        case.record(workflow.now(), SYSTEM, "survey_window_closed", {})
        return "closed"
    if reopened() or case.answer is None:
        return ending(case)
    survey = case.survey
    assert survey is not None
    if survey.recovery_due_at is None:  # not yet recorded: recovery opens only after
        _store_answer(case, case.answer)
        alerts = score_alerts(case.answer, policy.score_alerts)
        if not alerts:
            return ending(case)
        case.survey = survey.model_copy(update={"alerts": alerts})
    await recover(case)
    return ending(case)


async def _send_survey(case: Case, reminder: bool = False) -> None:
    """The survey, or its reminder, with a freshly signed reference the answer must quote
    (workflows/acting.py); both name the same survey, and it closes with the window."""
    policy = case.policy
    assert policy is not None
    now = workflow.now()
    sent = case.survey.sent_at if case.survey and case.survey.sent_at else now
    signed = SurveyRefInput(
        workflow_id=case.workflow_id,
        inquiry_id=case.intake.inquiry_id,
        survey=case.survey_key,
        now=now,
        expires=sent + policy.survey_window,
    )
    subject, body = messages.survey(case.intake.inquiry_id, SURVEY_REF_SLOT, reminder=reminder)
    if reminder:
        assert case.survey is not None
        key = f"reminder:{case.round}"
        await outbox.to_customer(case, "survey_reminder", key, subject, body, survey=signed)
        case.survey = case.survey.model_copy(update={"reminded_at": workflow.now()})
        return
    ref = await outbox.to_customer(
        case, "survey", f"survey:{case.round}", subject, body, survey=signed
    )
    case.survey = SurveyState(sent_at=sent, survey_ref=ref, closes_at=sent + policy.survey_window)


async def recover(case: Case) -> None:
    """The owner must reopen the inquiry or close the step with a note before the deadline; the
    owner and the team's manager are alerted. Below tier 3 each deadline that passes escalates
    and gives the next owner a new one. At tier 3 nobody is above: the manager and the tier 3
    contacts are asked for a decision once, and the step stays open until someone settles it.
    A continued run re-enters at the deadline it rested on."""
    policy = case.policy
    assert policy is not None and case.survey is not None

    def settled() -> bool:
        return case.reopen_by is not None or not case.recovery_open

    while True:
        survey = case.survey
        due = survey.recovery_due_at
        if due is None:
            unless_withdrawn(case)
            due = workflow.now() + policy.recovery_deadline
            case.survey = survey.model_copy(update={"recovery_due_at": due})
            opened = {"alerts": survey.alerts}
            case.record(workflow.now(), SYSTEM, "service_recovery_opened", opened)
            await _alert(case, survey.alerts, due)
        if await rest(case, settled, due, "service recovery deadline"):
            return
        if case.tier == 3:
            if not case.recovery.escalated:
                await _escalate_unresolved(case, survey.alerts, due)
                case.recovery.escalated = True
            # One escalation, then people decide: no deadline of its own, and the inquiry stays
            # in follow-up with the step open until `close_recovery`, `reopen` or `withdraw`.
            await rest(case, settled)
            return
        # Escalations are walked by one task only (workflows/attendant.py), never two at once.
        case.requests.append(Escalation(actor=SYSTEM, reason="service recovery deadline passed"))
        # The next deadline belongs to the next owner: wait until the escalation is walked.
        await workflow.wait_condition(lambda: attendant.settled(case))
        case.survey = case.survey.model_copy(update={"recovery_due_at": None})


async def _alert(case: Case, alerts: list[str], due: datetime) -> None:
    """The owner, then the manager of the tier's team (unless already told, or the owner)."""
    owner = case.owner or "unassigned"
    told = case.recovery.told
    await outbox.to_owner(case, messages.score_alert(alerts, due), "score_alert")
    told.append(owner)
    assert case.tier is not None
    contacts = await escalation.contacts_or_none(case, case.tier, "score_alert")
    if contacts is not None and contacts.manager not in told:
        what = messages.score_alert(alerts, due, owner)
        await outbox.to_staff(case, contacts.manager, what, "score_alert")
        told.append(contacts.manager)


async def _escalate_unresolved(case: Case, alerts: list[str], due: datetime) -> None:
    """A tier 3 step past its deadline: the owner, the manager and the tier 3 contacts are told
    it needs a decision (the owner even when the roster cannot name the others)."""
    case.record(workflow.now(), SYSTEM, "recovery_escalated", {"alerts": alerts})
    contacts = await escalation.contacts_or_none(case, 3, "escalation_notice")
    recipients = [case.owner or "unassigned"]
    if contacts is not None:
        recipients += [contacts.manager, *contacts.tier3_notify]
    what = messages.recovery_unresolved(alerts, due, case.owner)
    for recipient in dict.fromkeys(recipients):
        await outbox.to_staff(case, recipient, what, "escalation_notice")


def score_alerts(answer: SurveyResponse, limits: ScoreThresholds | None) -> list[str]:
    """Which scores are at or past their alert threshold, e.g. ['csat 1 <= 2']."""
    if limits is None:
        return []
    alerts = []
    if answer.csat is not None and limits.csat_at_most is not None:
        if answer.csat <= limits.csat_at_most:
            alerts.append(f"csat {answer.csat} <= {limits.csat_at_most}")
    if answer.nps is not None and limits.nps_at_most is not None:
        if answer.nps <= limits.nps_at_most:
            alerts.append(f"nps {answer.nps} <= {limits.nps_at_most}")
    if answer.ces is not None and limits.ces_at_least is not None:
        if answer.ces >= limits.ces_at_least:
            alerts.append(f"ces {answer.ces} >= {limits.ces_at_least}")
    return alerts


def ending(case: Case) -> Ending:
    return "reopened" if case.reopen_by is not None else "closed"


def _store_answer(case: Case, answer: SurveyResponse) -> None:
    """For the store, with the next batch of the audit trail (workflows/documentation.py)."""
    assert case.survey is not None and case.survey.answered_at is not None
    case.answers_to_store.append(
        SurveyAnswer(
            inquiry_id=case.intake.inquiry_id,
            workflow_id=case.workflow_id,
            survey_ref=case.survey.survey_ref or case.survey_key,
            csat=answer.csat,
            nps=answer.nps,
            ces=answer.ces,
            comment=answer.comment,
            answered_at=case.survey.answered_at,
        )
    )
