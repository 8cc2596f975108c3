"""Ownership and reviewers from config/roster.toml, re-read when an operator edits it.

Choosing an owner is two pure steps, `choose_team` and `choose_member`, and one I/O call (the
open-inquiry count per member). The choice is deterministic for a given roster, load and
workflow id, so a retried activity picks the same person. Escalation contacts use the same team
choice: the team's escalation owner for the tier, its manager, and who hears of every tier 3.

Errors
    ConfigError       the roster file cannot be used (at start-up; later edits keep the last
                      good version, see activities.config_files)
    ApplicationError  type "NoEligibleOwner", non-retryable: the chosen team has nobody left
                      once exclusions are applied (for an escalation: its escalation owner is
                      excluded and so is every member); the message names the team, the
                      details are (team id, its manager's staff id)
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.config_files import ConfigModel, WatchedFile, load_toml
from models.activities import (
    AssignedOwner,
    AssignOwnerInput,
    EscalationContacts,
    EscalationInput,
    StaffRoles,
)
from models.contract import Department, Sector

# The actors the audit trail writes for the system itself (workflows/policies.py SYSTEM, INTAKE;
# "customer" for survey answers, "temporal" for a refused cancellation). A person named so would
# pass for the system: a draft by "system" is the system's own, and may be released by policy.
RESERVED_IDS = frozenset({"system", "intake", "customer", "temporal"})


def _not_reserved(staff_id: str) -> str:
    if staff_id in RESERVED_IDS:
        raise ValueError("is reserved for the system's own actions")
    return staff_id


StaffId = Annotated[
    str,
    Field(pattern=r"^[a-z][a-z0-9._-]*$", max_length=128),
    AfterValidator(_not_reserved),
]
TeamId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Role = Literal["compliance_reviewer", "senior_reviewer", "legal_reviewer"]
OwnerLoad = Callable[[list[str]], Awaitable[dict[str, int]]]

NO_ELIGIBLE_OWNER = "NoEligibleOwner"


class Team(ConfigModel):
    id: TeamId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    manager: StaffId
    categories: Annotated[list[Department], Field(min_length=1)]
    tiers: Annotated[list[Literal[1, 2, 3]], Field(min_length=1)]
    members: list[StaffId]
    escalation_owner: dict[Literal["1", "2", "3"], StaffId]

    @model_validator(mode="after")
    def _escalation_for_every_tier(self) -> Team:
        if set(self.escalation_owner) != {"1", "2", "3"}:
            raise ValueError('escalation_owner needs keys "1", "2" and "3"')
        return self


class ReviewerEntry(ConfigModel):
    id: StaffId
    roles: Annotated[list[Role], Field(min_length=1)]
    sectors: Annotated[list[Sector], Field(min_length=1)]


class OperatorEntry(ConfigModel):
    """Someone who may read decoded inquiries through the codec server (the Temporal UI, the
    CLI) in the namespaces listed."""

    id: StaffId
    namespaces: Annotated[list[str], Field(min_length=1)] = ["default"]


class Routing(ConfigModel):
    complex_team: TeamId
    fallback_team: TeamId
    # Staff notified whenever an inquiry is tier 3 at intake (e.g. a legal or compliance desk).
    tier3_notify: list[StaffId] = []


class Roster(ConfigModel):
    routing: Routing
    teams: Annotated[list[Team], Field(min_length=1)]
    reviewers: list[ReviewerEntry] = []
    operators: list[OperatorEntry] = []

    @model_validator(mode="after")
    def _consistent(self) -> Roster:
        team_ids = [t.id for t in self.teams]
        for ids, what in (
            (team_ids, "team"),
            ([r.id for r in self.reviewers], "reviewer"),
            ([o.id for o in self.operators], "operator"),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"{what} id(s) used twice: {', '.join(dupes)}")
        for key in ("complex_team", "fallback_team"):
            if getattr(self.routing, key) not in team_ids:
                raise ValueError(f"routing.{key} names no team in this file")
        # An escalation owner owns the inquiry from then on, and nobody may review their own draft.
        reviewer_ids = {r.id for r in self.reviewers}
        for team in self.teams:
            for tier, staff_id in sorted(team.escalation_owner.items()):
                if staff_id in reviewer_ids:
                    raise ValueError(
                        f"team '{team.id}': escalation_owner.{tier} is a reviewer; "
                        "reviewers may not own inquiries"
                    )
        return self

    def team(self, team_id: str) -> Team:
        for team in self.teams:
            if team.id == team_id:
                return team
        raise KeyError(f"no team {team_id} in the roster")

    def owners_team(self, staff_id: str) -> str | None:
        """The team in which `staff_id` may own inquiries (where a member, else where the
        manager, else where an escalation owner), or None: reviewers and notification-only staff
        own nothing."""
        for roles in (
            lambda t: t.members,
            lambda t: [t.manager],
            lambda t: list(t.escalation_owner.values()),
        ):
            for team in self.teams:
                if staff_id in roles(team):
                    return team.id
        return None

    def roles_of(self, staff_id: str) -> StaffRoles:
        """What `staff_id` may do: review (roles), manage teams, own inquiries, operate."""
        reviewer = next((r for r in self.reviewers if r.id == staff_id), None)
        operator = any(o.id == staff_id for o in self.operators)
        manages = [t.id for t in self.teams if t.manager == staff_id]
        owns_in = self.owners_team(staff_id)
        return StaffRoles(
            on_roster=bool(
                reviewer or operator or manages or owns_in or staff_id in self.routing.tier3_notify
            ),
            operator=operator,
            manages=manages,
            owns_in=owns_in,
            reviewer_roles=list(reviewer.roles) if reviewer else [],
            review_sectors=list(reviewer.sectors) if reviewer else [],
        )

    def escalation_owner(self, team_id: str, tier: int) -> str:
        """Who answers for an escalation to `tier` in a team (tier clamped to 1-3)."""
        key: Literal["1", "2", "3"] = "1" if tier <= 1 else "2" if tier == 2 else "3"
        return self.team(team_id).escalation_owner[key]


def load_roster(path: Path) -> Roster:
    return load_toml(
        path, Roster, {"teams": "team", "reviewers": "reviewer", "operators": "operator"}
    )


def choose_team(roster: Roster, categories: list[Department], tier: int) -> tuple[Team, str]:
    """The team for an inquiry, and a short why (no personal data)."""
    complex_team = roster.team(roster.routing.complex_team)
    if (tier == 3 or len(categories) > 1) and tier in complex_team.tiers:
        return complex_team, "tier 3" if tier == 3 else "several departments"
    if categories:
        for team in roster.teams:
            if categories[0] in team.categories and tier in team.tiers:
                return team, f"handles {categories[0].value} at tier {tier}"
    return roster.team(roster.routing.fallback_team), "no team matched; routing fallback"


def _tie_break(workflow_id: str, count: int) -> int:
    # Python's hash() of a str changes per process; a digest keeps retries and replays stable.
    digest = hashlib.sha256(workflow_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def choose_member(
    team: Team, load: Mapping[str, int], exclude: list[str], workflow_id: str
) -> tuple[str, int, int]:
    """(member, their open inquiries, how many were tied) or an error naming the team."""
    eligible = list(dict.fromkeys(m for m in team.members if m not in exclude))
    if not eligible:
        raise ApplicationError(
            f"team {team.id} has no eligible member",
            team.id,
            team.manager,
            type=NO_ELIGIBLE_OWNER,
            non_retryable=True,
        )
    lowest = min(load.get(m, 0) for m in eligible)
    tied = [m for m in eligible if load.get(m, 0) == lowest]
    return tied[_tie_break(workflow_id, len(tied))], lowest, len(tied)


class RosterActivities:
    """Owner assignment and reviewer lists; `owner_load` counts open inquiries per owner."""

    def __init__(self, roster_path: Path, owner_load: OwnerLoad) -> None:
        self._roster = WatchedFile(roster_path, load_roster)
        self._owner_load = owner_load

    def current(self) -> Roster:
        """The roster in force (the last good version of the file)."""
        return self._roster.current()

    @activity.defn(name="assign_owner")
    async def assign_owner(self, input: AssignOwnerInput) -> AssignedOwner:
        team, why_team = choose_team(self._roster.current(), input.categories, input.tier)
        load = await self._owner_load(list(team.members))
        owner, open_count, tied = choose_member(team, load, input.exclude, input.workflow_id)
        tie = f", tie of {tied} broken by inquiry" if tied > 1 else ""
        categories = ", ".join(c.value for c in input.categories) or "none"
        reason = (
            f"least loaded in team {team.id} ({open_count} open{tie}); "
            f"team chosen: {why_team}; tier {input.tier}, categories {categories}"
        )
        return AssignedOwner(owner_id=owner, team=team.id, reason=reason)

    @activity.defn(name="escalation_contacts")
    async def escalation_contacts(self, input: EscalationInput) -> EscalationContacts:
        roster = self._roster.current()
        team, _ = choose_team(roster, input.categories, input.tier)
        owner = roster.escalation_owner(team.id, input.tier)
        if owner in input.exclude:
            # Typically the escalation owner already owns the inquiry: the escalation must still
            # land on someone new, so it goes to the team like a fresh assignment.
            load = await self._owner_load(list(team.members))
            owner, _, _ = choose_member(team, load, input.exclude, input.workflow_id)
        return EscalationContacts(
            owner_id=owner,
            team=team.id,
            manager=team.manager,
            tier3_notify=list(roster.routing.tier3_notify),
        )
