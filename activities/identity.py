"""The `verify_actor` activity: who sends an action, proven or not, and what the roster lets
them do. Every staff action and department result passes here before the workflow's rules.

The mode is the worker's configuration, read here and never in the workflow: with signed
actions required (REQUIRE_SIGNED_ACTIONS, implied by INQUIRY_ENV=production) an action without
an assertion is refused; otherwise it is accepted as unverified and the workflow says so in the
audit trail and the status. An assertion that is present but fails is refused in every mode.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import activity

from activities.roster import Roster
from identity.assertions import AssertionRefused, Verified
from identity.verifier import Verifier
from models.activities import ActorCheck, VerifyActorInput

SIGNATURE_REQUIRED = "a signed assertion is required: signed actions are on"


class IdentityActivities:
    def __init__(
        self, verifier: Verifier, roster: Callable[[], Roster], *, require_signed: bool
    ) -> None:
        self._verifier = verifier
        self._roster = roster
        self._require_signed = require_signed

    @activity.defn(name="verify_actor")
    async def verify_actor(self, input: VerifyActorInput) -> ActorCheck:
        department = input.action == "department_result"
        roles = self._roster().roles_of(input.actor) if not department else None
        check = ActorCheck(roles=roles) if roles is not None else ActorCheck()
        if input.assertion is None:
            if self._require_signed:
                return check.model_copy(update={"refusal": SIGNATURE_REQUIRED})
            return check
        try:
            verified = self._verify(input, department)
        except AssertionRefused as refused:
            return check.model_copy(update={"refusal": str(refused)})
        return check.model_copy(
            update={
                "verified": True,
                "jti": verified.jti,
                "draft_version": verified.draft_version,
            }
        )

    def _verify(self, input: VerifyActorInput, department: bool) -> Verified:
        assert input.assertion is not None
        if department:
            return self._verifier.department(
                input.assertion,
                department=input.actor,
                inquiry_id=input.inquiry_id,
                digest=input.digest,
                now=input.now,
            )
        return self._verifier.staff(
            input.assertion,
            action=input.action,
            actor=input.actor,
            inquiry_id=input.inquiry_id,
            digest=input.digest,
            now=input.now,
        )
