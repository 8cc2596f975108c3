"""Escalation contacts from the shipped roster: who takes an escalated inquiry, who manages them,
and who hears of every tier 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.config_files import ConfigError
from activities.roster import RosterActivities, load_roster
from models.activities import EscalationContacts, EscalationInput
from models.contract import Department, Sector
from models.settings import PROJECT_ROOT
from tests.support import roster_with_load

ROSTER_PATH = PROJECT_ROOT / "config" / "roster.toml"
ROSTER = load_roster(ROSTER_PATH)
COMPLEX_MEMBERS = ["agent.ivy", "agent.jon", "agent.kai"]


def with_load(open_counts: dict[str, int]) -> RosterActivities:
    return roster_with_load(ROSTER_PATH, open_counts)


async def contacts(
    activities: RosterActivities,
    categories: list[str],
    tier: int,
    exclude: list[str] | None = None,
) -> EscalationContacts:
    request = EscalationInput(
        workflow_id="inquiry-INQ-1",
        sector=Sector.LEGAL,
        categories=[Department(c) for c in categories],
        tier=tier,
        exclude=exclude or [],
    )
    return await ActivityEnvironment().run(activities.escalation_contacts, request)


async def test_escalation_to_tier_2_goes_to_the_teams_escalation_owner_and_manager() -> None:
    found = await contacts(with_load({}), ["billing"], 2)

    assert found == EscalationContacts(
        owner_id="agent.mara",
        team="billing",
        manager="agent.mara",
        tier3_notify=["legal.ops", "compliance.office"],
    )


async def test_escalation_to_tier_3_goes_to_complex_cases_with_the_tier_3_desks() -> None:
    found = await contacts(with_load({}), ["legal"], 3)

    assert (found.owner_id, found.team, found.manager) == (
        "agent.zoe",
        "complex-cases",
        "agent.zoe",
    )
    assert found.tier3_notify == ["legal.ops", "compliance.office"]


async def test_an_excluded_escalation_owner_falls_back_to_the_least_loaded_member() -> None:
    activities = with_load({"agent.ivy": 4, "agent.jon": 1, "agent.kai": 2})

    found = await contacts(activities, ["clinical"], 3, exclude=["agent.zoe", "agent.jon"])

    assert (found.owner_id, found.team, found.manager) == (
        "agent.kai",
        "complex-cases",
        "agent.zoe",
    )


async def test_nobody_eligible_fails_without_retry_naming_the_team() -> None:
    with pytest.raises(ApplicationError) as caught:
        await contacts(with_load({}), ["billing"], 3, exclude=["agent.zoe", *COMPLEX_MEMBERS])

    assert caught.value.non_retryable
    assert caught.value.type == "NoEligibleOwner"
    assert "complex-cases" in str(caught.value)


def test_a_reviewer_as_escalation_owner_is_refused_naming_the_team(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    shipped = ROSTER_PATH.read_text()
    path.write_text(
        shipped.replace(
            'escalation_owner = { 1 = "agent.omar", 2 = "agent.omar"',
            'escalation_owner = { 1 = "agent.omar", 2 = "reviewer.lena"',
        )
    )

    with pytest.raises(ConfigError) as caught:
        load_roster(path)

    assert "team 'legal': escalation_owner.2 is a reviewer" in str(caught.value)


def test_a_roster_without_tier3_notify_notifies_nobody_extra(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    lines = ROSTER_PATH.read_text().splitlines()
    path.write_text("\n".join(s for s in lines if not s.startswith("tier3_notify")))

    assert load_roster(path).routing.tier3_notify == []
    assert ROSTER.routing.tier3_notify == ["legal.ops", "compliance.office"]
