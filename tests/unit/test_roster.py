"""Owner assignment and reviewer lists, against the shipped roster and small edited copies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.config_files import ConfigError
from activities.roster import RosterActivities, load_roster
from models.activities import AssignedOwner, AssignOwnerInput
from models.contract import Department, Sector
from models.settings import PROJECT_ROOT
from tests.support import roster_with_load

ROSTER_PATH = PROJECT_ROOT / "config" / "roster.toml"
ROSTER = load_roster(ROSTER_PATH)


def fake_load(open_counts: dict[str, int]) -> RosterActivities:
    return roster_with_load(ROSTER_PATH, open_counts)


async def assign(
    activities: RosterActivities,
    categories: list[str],
    tier: int,
    workflow_id: str = "inquiry-INQ-1",
    exclude: list[str] | None = None,
) -> AssignedOwner:
    request = AssignOwnerInput(
        workflow_id=workflow_id,
        sector=Sector.ECOMMERCE,
        categories=[Department(c) for c in categories],
        tier=tier,
        exclude=exclude or [],
    )
    return await ActivityEnvironment().run(activities.assign_owner, request)


async def test_least_loaded_member_of_the_matching_team_wins() -> None:
    activities = fake_load({"agent.ana": 3, "agent.ben": 1, "agent.cleo": 2})

    owner = await assign(activities, ["billing"], 1)

    assert (owner.owner_id, owner.team) == ("agent.ben", "billing")
    assert "least loaded in team billing (1 open)" in owner.reason
    assert "tier 1, categories billing" in owner.reason


async def test_ties_are_broken_the_same_way_for_the_same_workflow_id() -> None:
    activities = fake_load({})

    first = await assign(activities, ["clinical"], 2, workflow_id="inquiry-INQ-42")
    again = await assign(activities, ["clinical"], 2, workflow_id="inquiry-INQ-42")

    assert first == again
    assert "tie of 3" in first.reason


async def test_ties_spread_across_the_team_for_different_inquiries() -> None:
    activities = fake_load({})

    owners = {
        (await assign(activities, ["billing"], 1, f"inquiry-INQ-{n}")).owner_id for n in range(30)
    }

    assert owners == {"agent.ana", "agent.ben", "agent.cleo"}


async def test_excluded_owners_are_skipped_even_when_least_loaded() -> None:
    activities = fake_load({"agent.ana": 0, "agent.ben": 4, "agent.cleo": 2})

    owner = await assign(activities, ["billing"], 1, exclude=["agent.ana"])

    assert owner.owner_id == "agent.cleo"


async def test_tier_3_goes_to_complex_cases() -> None:
    owner = await assign(fake_load({}), ["billing"], 3)

    assert owner.team == "complex-cases"
    assert owner.owner_id in ROSTER.team("complex-cases").members


async def test_several_departments_go_to_complex_cases() -> None:
    owner = await assign(fake_load({}), ["billing", "clinical"], 2)

    assert owner.team == "complex-cases"


async def test_single_department_tier_2_goes_to_that_department_team() -> None:
    owner = await assign(fake_load({}), ["legal"], 2)

    assert owner.team == "legal"


async def test_team_with_nobody_eligible_fails_without_retry_naming_the_team() -> None:
    everyone = list(ROSTER.team("legal").members)

    with pytest.raises(ApplicationError) as caught:
        await assign(fake_load({}), ["legal"], 1, exclude=everyone)

    assert caught.value.non_retryable
    assert caught.value.type == "NoEligibleOwner"
    assert "legal" in str(caught.value)


def test_a_reviewers_roles_name_the_sectors_they_review() -> None:
    lena = ROSTER.roles_of("reviewer.lena")

    assert lena.reviewer_roles == ["compliance_reviewer", "legal_reviewer"]
    assert Sector.LEGAL in lena.review_sectors
    assert ROSTER.roles_of("nobody.here").review_sectors == []


def test_shipped_roster_has_no_reviewer_who_owns_or_manages_inquiries() -> None:
    staff = {m for t in ROSTER.teams for m in [*t.members, t.manager]}

    assert ROSTER.reviewers
    assert not staff & {r.id for r in ROSTER.reviewers}


def test_shipped_roster_has_a_senior_reviewer_and_two_reviewers_for_every_sector() -> None:
    for sector in Sector:
        allowed = [r for r in ROSTER.reviewers if sector in r.sectors]
        assert len(allowed) >= 2, sector
        assert any("senior_reviewer" in r.roles for r in allowed), sector


def test_roster_with_personal_data_as_an_id_is_refused_naming_the_team(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    path.write_text(ROSTER_PATH.read_text().replace('"agent.ben"', '"Ben.Smith@example.org"'))

    with pytest.raises(ConfigError) as caught:
        load_roster(path)

    assert "team 'billing': members.1" in str(caught.value)
    assert "example.org" not in str(caught.value)


@pytest.mark.parametrize("reserved", ["system", "customer", "intake", "temporal"])
def test_roster_naming_someone_as_the_system_is_refused(tmp_path: Path, reserved: str) -> None:
    """A person named "system" would pass for the system itself: their revision would read as
    the system's own draft, which policy may release unreviewed."""
    path = tmp_path / "roster.toml"
    path.write_text(ROSTER_PATH.read_text().replace('"agent.ben"', f'"{reserved}"'))

    with pytest.raises(ConfigError) as caught:
        load_roster(path)

    assert "team 'billing': members.1" in str(caught.value)
    assert "reserved" in str(caught.value)


async def test_roster_edited_on_disk_applies_to_the_next_assignment(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    shutil.copy(ROSTER_PATH, path)
    activities = RosterActivities(path, lambda ids: _no_load())
    with pytest.raises(ApplicationError):
        await assign(activities, ["legal"], 1, exclude=["agent.gus", "agent.hana"])

    path.write_text(path.read_text().replace('"agent.hana"]', '"agent.hana", "agent.lou"]'))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    owner = await assign(activities, ["legal"], 1, exclude=["agent.gus", "agent.hana"])

    assert owner.owner_id == "agent.lou"


async def _no_load() -> dict[str, int]:
    return {}


@pytest.mark.parametrize(
    ("staff_id", "team"),
    [
        ("agent.ana", "billing"),  # a member
        ("agent.nadia", "clinical-records"),  # a manager
        ("agent.zoe", "complex-cases"),  # the manager of complex cases, escalation owner too
        ("reviewer.rita", None),  # reviewers own nothing
        ("legal.ops", None),  # told of tier 3 inquiries, owns nothing
        ("Jordan Example", None),
    ],
)
def test_only_staff_who_may_own_inquiries_have_an_owners_team(
    staff_id: str, team: str | None
) -> None:
    roster = roster_with_load(ROSTER_PATH, {})

    assert roster.current().owners_team(staff_id) == team
