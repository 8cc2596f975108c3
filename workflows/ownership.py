"""The first owner of an inquiry, chosen by the roster (activities/roster.py).

A team with nobody eligible (an empty or fully excluded roster team) holds the inquiry instead
of failing it: `assignment_held` is recorded once, the team's manager told, and the roster asked
again every LOCAL_PAUSE until an edit fixes it, or until the inquiry is withdrawn. Later owners
come from reassignment (signals.reassign_owner) and escalation (workflows/escalation.py)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.roster import NO_ELIGIBLE_OWNER, RosterActivities
    from models.activities import AssignedOwner, AssignOwnerInput, TriageResult

from workflows import outbox, policies, steps
from workflows.case import Case
from workflows.continuation import rest
from workflows.policies import SYSTEM


async def first_owner(case: Case, triage: TriageResult) -> AssignedOwner:
    """The roster's choice, once it can make one (Withdrawn if the inquiry is withdrawn while
    nobody could own it)."""
    held = False
    while True:
        try:
            return await steps.local(
                case,
                RosterActivities.assign_owner,
                AssignOwnerInput(
                    workflow_id=case.workflow_id,
                    sector=case.intake.sector,
                    categories=triage.categories,
                    tier=triage.tier,
                ),
                "assign owner",
            )
        except ActivityError as err:
            cause = err.cause
            if not isinstance(cause, ApplicationError) or cause.type != NO_ELIGIBLE_OWNER:
                raise
            if not held:
                held = True
                await _held(case, cause)
        # Not a rest to continue as new from: a run resumes only past triage.
        retry = workflow.now() + policies.LOCAL_PAUSE
        await rest(case, lambda: False, retry, "assign owner: retry", resumable=False)


async def _held(case: Case, cause: ApplicationError) -> None:
    # The details name the team and its manager (activities/roster.py), no personal data.
    team, manager = (list(cause.details) + [None, None])[:2]
    case.record(
        workflow.now(), SYSTEM, "assignment_held", {"team": team, "cause": NO_ELIGIBLE_OWNER}
    )
    if isinstance(manager, str):
        what = (
            f"no owner: team {team} has nobody eligible; add members to the roster "
            "(the inquiry is assigned as soon as it can be)"
        )
        await outbox.to_staff(case, manager, what)
