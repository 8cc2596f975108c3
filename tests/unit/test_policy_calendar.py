"""The business calendar: working windows in UTC, the policy file's new keys, and when the
resolved policy carries windows at all."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.calendar import Calendar, working_windows
from activities.config_files import ConfigError, load_policy
from activities.triage import TriageActivities
from models.policy import ResolvedPolicy, ResolvePolicyInput
from models.settings import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "config"
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def calendar(**changes: Any) -> Calendar:
    values: dict[str, Any] = {
        "timezone": "UTC",
        "workdays": WEEKDAYS,
        "opens": "09:00",
        "closes": "17:00",
        "holidays": [],
    }
    return Calendar.model_validate(values | changes)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# --- working windows -------------------------------------------------------------------------


def test_a_weekend_has_no_working_window() -> None:
    friday_noon = utc(3, 6, 12)

    windows = working_windows(calendar(), friday_noon, days=4)

    assert windows == [(utc(3, 6, 9), utc(3, 6, 17)), (utc(3, 9, 9), utc(3, 9, 17))]


def test_a_holiday_is_skipped() -> None:
    windows = working_windows(calendar(holidays=["2026-12-24"]), utc(12, 23, 8), days=3)

    assert [opens.date() for opens, _ in windows] == [date(2026, 12, 23), date(2026, 12, 25)]


def test_a_day_already_over_at_the_start_is_left_out() -> None:
    windows = working_windows(calendar(), utc(3, 4, 17), days=2)

    assert windows == [(utc(3, 5, 9), utc(3, 5, 17))]


def test_berlin_hours_follow_daylight_saving_time_in_utc() -> None:
    # Clocks in Berlin go forward on Sunday 2026-03-29: UTC+1 before, UTC+2 after.
    berlin = calendar(timezone="Europe/Berlin")

    windows = working_windows(berlin, utc(3, 27, 6), days=4)

    assert windows == [(utc(3, 27, 8), utc(3, 27, 16)), (utc(3, 30, 7), utc(3, 30, 15))]


def test_holidays_are_dates_in_the_calendars_time_zone() -> None:
    # 23:30 UTC on the 23rd is already the 24th in Berlin, a holiday there.
    berlin = calendar(timezone="Europe/Berlin", holidays=["2026-12-24"])

    windows = working_windows(berlin, utc(12, 23, 23, 30), days=2)

    assert windows == [(utc(12, 25, 8), utc(12, 25, 16))]


# --- the policy file -------------------------------------------------------------------------


def edited_policy(tmp_path: Path, **lines: str) -> Path:
    """The shipped policy with the lines whose key is given replaced (key = new value)."""
    shipped = (CONFIG / "policy.toml").read_text().splitlines()
    replaced = [
        f"{s.split(' =', 1)[0]} = {lines[s.split(' =', 1)[0]]}"
        if s.split(" =", 1)[0] in lines
        else s
        for s in shipped
    ]
    assert len(set(replaced) - set(shipped)) == len(lines), "a key was not found"
    path = tmp_path / "policy.toml"
    path.write_text("\n".join(replaced))
    return path


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("timezone", '"Mars/Olympus_Mons"', "calendar.timezone"),
        ("closes", '"09:00"', "calendar.closes"),
        ("opens", '"9am"', "calendar.opens"),
        ("workdays", '["mon", "tue", "wed", "thu", "fry"]', "calendar.workdays.4"),
        ("holidays", '["2026-02-30"]', "calendar.holidays.0"),
        ("warning_thresholds", "[0.75, 0.5]", "warning_thresholds"),
        ("warning_thresholds", "[0.5, 1.5]", "warning_thresholds.1"),
        ("progress_update_at", '"0.75"', "progress_update_at"),
        ("business_clocks", '["resolution", "lunch"]', "business_clocks.1"),
        ("approvals_required", "{ 1 = 1, 2 = 1, 3 = 0 }", "approvals_required.3"),
        ("approvals_required", "{ 3 = 2 }", "approvals_required"),
        ("recovery_deadline", '"P1M"', "recovery_deadline"),
        ("nps_at_most", "11", "score_alerts.nps_at_most"),
    ],
)
def test_policy_file_mistakes_are_refused_naming_the_key(
    tmp_path: Path, key: str, value: str, named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_policy(edited_policy(tmp_path, **{key: value}))

    assert f"{named}:" in str(caught.value)


def test_an_unknown_time_zone_is_named_without_quoting_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_policy(edited_policy(tmp_path, timezone='"Mars/Olympus_Mons"'))

    assert "unknown time zone" in str(caught.value)
    assert "Olympus" not in str(caught.value)


def test_one_approval_count_applies_to_every_tier(tmp_path: Path) -> None:
    policy = load_policy(edited_policy(tmp_path, approvals_required="2"))

    assert policy.approvals_required == {"1": 2, "2": 2, "3": 2}


# --- business windows in the resolved policy -------------------------------------------------


async def resolve(policy_path: Path, starts_at: datetime | None) -> ResolvedPolicy:
    activities = TriageActivities(CONFIG / "triage_rules.toml", policy_path)
    return await ActivityEnvironment().run(
        activities.resolve_policy, ResolvePolicyInput(starts_at=starts_at)
    )


async def test_no_business_clock_means_no_windows_in_the_resolved_policy() -> None:
    policy = await resolve(CONFIG / "policy.toml", utc(3, 6, 12))

    assert policy.business_clocks == []
    assert policy.business_windows == []


async def test_a_business_clock_brings_a_years_windows_from_the_intake(tmp_path: Path) -> None:
    path = edited_policy(tmp_path, business_clocks='["resolution", "compliance"]')

    policy = await resolve(path, utc(12, 24, 16))

    assert policy.business_clocks == ["resolution", "compliance"]
    windows = policy.business_windows
    # Christmas and Boxing Day are the shipped holidays; the 26th is a Saturday anyway.
    assert windows[:2] == [(utc(12, 24, 9), utc(12, 24, 17)), (utc(12, 28, 9), utc(12, 28, 17))]
    assert date(2027, 1, 1) not in {opens.date() for opens, _ in windows}
    assert windows[-1][0] - windows[0][0] > timedelta(days=390)
    assert all(end - start == timedelta(hours=8) for start, end in windows)


async def test_without_an_intake_time_windows_start_from_now(tmp_path: Path) -> None:
    path = edited_policy(tmp_path, business_clocks='["department"]')

    policy = await resolve(path, None)

    first_closes = policy.business_windows[0][1]
    assert datetime.now(UTC) < first_closes < datetime.now(UTC) + timedelta(days=5)
