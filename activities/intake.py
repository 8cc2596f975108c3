"""Taking an inquiry in, as one activity: register its id, resolve its timer policy, triage it,
choose its first owner. Each is one local read or write and they always go together at intake,
so they cost one activity (and one retry policy) instead of four.

A retried attempt does it all again: registration is idempotent per first run, and the rest
reads the files and roster as they stand."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.roster import NO_ELIGIBLE_OWNER, RosterActivities
from activities.store import StoreActivities
from activities.triage import TriageActivities
from models.activities import AssignOwnerInput
from models.take_in import TakeInInput, TakenIn


class IntakeActivities:
    def __init__(
        self, store: StoreActivities, triage: TriageActivities, roster: RosterActivities
    ) -> None:
        self._store = store
        self._triage = triage
        self._roster = roster

    @activity.defn(name="take_in")
    async def take_in(self, request: TakeInInput) -> TakenIn:
        registered = await self._store.register_inquiry(request.registration)
        if not registered.accepted:
            return TakenIn(registered=registered)
        policy = await self._triage.resolve_policy(request.policy)
        triage = await self._triage.triage_inquiry(request.triage)
        taken = TakenIn(registered=registered, policy=policy, triage=triage)
        try:
            owner = await self._roster.assign_owner(
                AssignOwnerInput(
                    workflow_id=request.registration.workflow_id,
                    sector=request.registration.sector,
                    categories=triage.categories,
                    tier=triage.tier,
                )
            )
        except ApplicationError as err:
            if err.type != NO_ELIGIBLE_OWNER:
                raise
            return taken  # the workflow holds the assignment and asks the roster again
        return taken.model_copy(update={"owner": owner})
