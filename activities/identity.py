"""Who is acting: `verify_actors` says who sends an action, proven or not, and what the roster
lets them do; every staff action, department result and survey answer passes it before the
workflow's rules. `sign_survey_ref` signs the reference a survey message carries, inside the
send (activities/messaging.py), so the reference never enters the workflow's history.

The mode is the worker's configuration, read here and never in the workflow: with signed
actions required (REQUIRE_SIGNED_ACTIONS, implied by INQUIRY_ENV=production) an action without
its proof (an assertion; for a survey answer, the survey reference) is refused; otherwise it is
accepted as unverified and the workflow says so in the audit trail and the status. A proof that
is present but fails is refused in every mode. A valid proof is spent on the spot (table
`assertion_use`): each counts once, for good, even if the action is then refused by the rules,
and even across a reset of the workflow's history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import activity

from activities.db import in_store
from activities.roster import Roster
from activities.store import insert_ignoring_duplicates
from encryption.data_keys import DataKeyErased, DataKeys
from identity import verifier as verifying
from identity.assertions import SURVEY_ACTION, AssertionRefused, Verified
from identity.keys import survey_reference, survey_secret
from identity.verifier import Verifier
from models.activities import (
    ActorCheck,
    OwnerOnRoster,
    StaffRoles,
    SurveyRefInput,
    VerifyActorInput,
    VerifyActorsInput,
)
from models.store import AssertionUse

SIGNATURE_REQUIRED = "a signed assertion is required: signed actions are on"
# Kept in the store, not in the workflow's history: a reset run cannot spend one again.
ALREADY_USED = "assertion was already used"
SURVEY_REF_REQUIRED = "the survey_ref of the survey message is required: signed actions are on"
SurveySecret = Callable[[str], Awaitable[bytes]]


def survey_secrets(keys: DataKeys) -> SurveySecret:
    """Each inquiry's survey-reference key, derived from its data key (workflow id -> key)."""

    async def secret(workflow_id: str) -> bytes:
        return survey_secret((await keys.for_scope(workflow_id)).secret)

    return secret


class IdentityActivities:
    def __init__(
        self,
        verifier: Verifier,
        roster: Callable[[], Roster],
        survey_secret: SurveySecret,
        engine: Engine,
        *,
        require_signed: bool,
    ) -> None:
        self._engine = engine
        self._verifier = verifier
        self._roster = roster
        self._survey_secret = survey_secret
        self._require_signed = require_signed

    @activity.defn(name="verify_actors")
    async def verify_actors(self, input: VerifyActorsInput) -> list[ActorCheck]:
        """Each action's check, in order: the actions that queued up together are verified in
        one call (a flood of signals costs one activity per batch, not one per signal)."""
        info = activity.info()
        checks = [
            await self._check(action, f"{info.workflow_run_id}:{info.activity_id}:{index}")
            for index, action in enumerate(input.actions)
        ]
        return [check.model_copy(update={"call": input.call}) for check in checks]

    async def _check(self, input: VerifyActorInput, spender: str) -> ActorCheck:
        staff = input.action not in ("department_result", SURVEY_ACTION)
        roster = self._roster()
        roles = roster.roles_of(input.actor) if staff else StaffRoles()
        check = ActorCheck(roles=roles, signed_required=self._require_signed)
        if input.proposed_owner is not None:
            team = roster.owners_team(input.proposed_owner)
            check.proposed_owner = OwnerOnRoster(staff_id=input.proposed_owner, team=team)
        if input.assertion is None:
            if self._require_signed:
                required = (
                    SURVEY_REF_REQUIRED if input.action == SURVEY_ACTION else SIGNATURE_REQUIRED
                )
                return check.model_copy(update={"refusal": required})
            return check
        try:
            verified = await self._verify(input, input.assertion)
        except AssertionRefused as refused:
            return check.model_copy(update={"refusal": str(refused)})
        if not await in_store(self._spend, verified.jti, input, spender):
            return check.model_copy(update={"refusal": ALREADY_USED})
        return check.model_copy(
            update={
                "verified": True,
                "jti": verified.jti,
                "draft_version": verified.draft_version,
                "survey": verified.survey,
            }
        )

    async def sign_survey_ref(self, input: SurveyRefInput) -> str:
        secret = await self._survey_secret(input.workflow_id)
        return survey_reference(
            secret,
            inquiry_id=input.inquiry_id,
            survey=input.survey,
            now=input.now,
            expires=input.expires,
        )

    def _spend(self, jti: str, input: VerifyActorInput, spender: str) -> bool:
        """Spend the assertion for this activity; False if something else spent it before."""
        row = {
            "jti": jti,
            "workflow_id": input.workflow_id,
            "action": input.action,
            "spent_by": spender,
            "spent_at": datetime.now(UTC),
        }
        with Session(self._engine) as session:
            insert_ignoring_duplicates(session=session, model=AssertionUse, rows=[row], key="jti")
            spent_by = session.exec(
                select(AssertionUse.spent_by).where(AssertionUse.jti == jti)
            ).one()
            session.commit()
        return spent_by == spender

    async def _verify(self, input: VerifyActorInput, token: str) -> Verified:
        inquiry_id, now = input.inquiry_id, input.now
        if input.action == SURVEY_ACTION:
            try:
                secret = await self._survey_secret(input.workflow_id)
            except DataKeyErased:
                raise AssertionRefused("the inquiry's data was erased") from None
            return verifying.survey(token, secret=secret, inquiry_id=inquiry_id, now=now)
        if input.action == "department_result":
            return self._verifier.department(
                token, department=input.actor, inquiry_id=inquiry_id, digest=input.digest, now=now
            )
        return self._verifier.staff(
            token,
            action=input.action,
            actor=input.actor,
            inquiry_id=inquiry_id,
            digest=input.digest,
            now=now,
        )
