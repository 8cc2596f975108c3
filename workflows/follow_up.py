"""Follow-up: the survey after the resolution, one reminder, closure when the window ends, and
service recovery when the customer's scores say the matter is not resolved."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.identity import IdentityActivities
    from activities.surveys import SurveyActivities
    from models.activities import SurveyAnswer, SurveyRefInput
    from models.contract import Stage, SurveyResponse
    from models.policy import ScoreThresholds
    from models.status import SurveyState

from workflows import escalation, messages, outbox, steps
from workflows.case import Case, Request
from workflows.policies import SYSTEM
from workflows.timekeeper import until

Ending = Literal["closed", "reopened", "withdrawn"]


async def follow_up(case: Case) -> Ending:
    policy = case.policy
    assert policy is not None
    case.move_to(Stage.FOLLOW_UP, workflow.now())
    case.survey, case.answer, case.reopen_by = None, None, None

    def interrupted() -> bool:
        return case.withdrawn or case.reopen_by is not None

    def answered() -> bool:
        return interrupted() or case.answer is not None

    if await until(interrupted, policy.survey_delay, "survey delay"):
        return ending(case)
    sent = workflow.now()
    # The survey carries a signed reference that the answer must quote (workflows/acting.py).
    token = await steps.local(
        case,
        IdentityActivities.sign_survey_ref,
        SurveyRefInput(
            workflow_id=case.workflow_id,
            inquiry_id=case.intake.inquiry_id,
            survey=case.survey_key,
            now=sent,
            expires=sent + policy.survey_window,
        ),
        "sign the survey reference",
    )
    subject, body = messages.survey(case.intake.inquiry_id, token)
    ref = await outbox.to_customer(case, "survey", f"survey:{case.round}", subject, body)
    case.survey = SurveyState(sent_at=sent, survey_ref=ref, closes_at=sent + policy.survey_window)
    reminder = min(policy.survey_reminder, policy.survey_window)
    if not await until(answered, reminder - (workflow.now() - sent), "survey reminder"):
        if policy.survey_reminder < policy.survey_window:
            subject, body = messages.survey(case.intake.inquiry_id, token, reminder=True)
            await outbox.to_customer(
                case, "survey_reminder", f"reminder:{case.round}", subject, body
            )
            case.survey = case.survey.model_copy(update={"reminded_at": workflow.now()})
        window_left = policy.survey_window - (workflow.now() - sent)
        if not await until(answered, window_left, "survey window"):
            case.record(workflow.now(), SYSTEM, "survey_window_closed", {})
            return "closed"
    if interrupted() or case.answer is None:
        return ending(case)
    await _store_answer(case, case.answer)
    alerts = score_alerts(case.answer, policy.score_alerts)
    if alerts:
        await recover(case, alerts)
    return ending(case)


async def recover(case: Case, alerts: list[str]) -> None:
    """The owner must reopen the inquiry or close the step with a note before the deadline; the
    owner and the team's manager are alerted. Below tier 3 each deadline that passes escalates
    and gives the next owner a new one. At tier 3 nobody is above: the manager and the tier 3
    contacts are asked for a decision once, and the step stays open until someone settles it."""
    policy = case.policy
    assert policy is not None and case.survey is not None

    def settled() -> bool:
        return case.withdrawn or case.reopen_by is not None or not case.recovery_open

    told: set[str] = set()  # managers hear of the scores once; each owner with their deadline
    while True:
        due = workflow.now() + policy.recovery_deadline
        case.survey = case.survey.model_copy(update={"alerts": alerts, "recovery_due_at": due})
        case.record(workflow.now(), SYSTEM, "service_recovery_opened", {"alerts": alerts})
        await _alert(case, alerts, due, told)
        if await until(settled, policy.recovery_deadline, "service recovery deadline"):
            return
        if case.tier == 3:
            await _escalate_unresolved(case, alerts, due)
            # One escalation, then people decide: no deadline of its own, and the inquiry stays
            # in follow-up with the step open until `close_recovery`, `reopen` or `withdraw`.
            await workflow.wait_condition(settled)
            return
        # Escalations are walked by one task only (timekeeper.attend), never two at once.
        case.requests.append(Request("escalate", SYSTEM, "service recovery deadline passed"))
        # The next deadline belongs to the next owner: wait until the escalation is walked.
        await workflow.wait_condition(lambda: not case.requests and not case.serving)


async def _alert(case: Case, alerts: list[str], due: datetime, told: set[str]) -> None:
    """The owner, then the manager of the tier's team (unless already told, or the owner)."""
    owner = case.owner or "unassigned"
    await outbox.to_owner(case, messages.score_alert(alerts, due), "score_alert")
    told.add(owner)
    assert case.tier is not None
    contacts = await escalation.contacts_or_none(case, case.tier, "score_alert")
    if contacts is not None and contacts.manager not in told:
        what = messages.score_alert(alerts, due, owner)
        await outbox.to_staff(case, contacts.manager, what, "score_alert")
        told.add(contacts.manager)


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
    if case.withdrawn:
        return "withdrawn"
    return "reopened" if case.reopen_by is not None else "closed"


async def _store_answer(case: Case, answer: SurveyResponse) -> None:
    assert case.survey is not None and case.survey.answered_at is not None
    await steps.local(
        case,
        SurveyActivities.record_survey,
        SurveyAnswer(
            inquiry_id=case.intake.inquiry_id,
            workflow_id=case.workflow_id,
            survey_ref=case.survey.survey_ref or case.survey_key,
            csat=answer.csat,
            nps=answer.nps,
            ces=answer.ces,
            comment=answer.comment,
            answered_at=case.survey.answered_at,
        ),
        "record survey answer",
    )
