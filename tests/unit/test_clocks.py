"""SLA clocks (workflows/clocks.py) without Temporal: due times in wall and business time, pause
and resume, warnings and the breach in order, and what the status view reports."""

from __future__ import annotations

import ast
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from workflows import clocks
from workflows.clocks import Clock, Window, add_working_time, next_mark, working_time_between

H = timedelta(hours=1)
THRESHOLDS = [0.5, 0.75, 0.9]
THANKSGIVING = date(2026, 11, 26)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def office_hours(first: date, last: date, holidays: tuple[date, ...] = ()) -> list[Window]:
    """09:00-17:00 UTC, Monday to Friday, from `first` to `last` inclusive, without `holidays`."""
    windows = []
    day = first
    while day <= last:
        if day.weekday() < 5 and day not in holidays:
            opens = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
            windows.append((opens, opens + 8 * H))
        day += timedelta(days=1)
    return windows


# Friday 2026-11-13 to Thursday 2026-12-31.
CALENDAR = office_hours(date(2026, 11, 13), date(2026, 12, 31))
FRIDAY = 20  # 2026-11-20


def business_clock(now: datetime, budget: timedelta = 8 * H) -> Clock:
    return Clock.start("compliance", budget, now, business=True)


# --- due times -------------------------------------------------------------------------------


def test_wall_clock_is_due_its_budget_after_it_starts() -> None:
    clock = Clock.start("resolution", timedelta(days=3), at(FRIDAY, 16))
    assert clock.due_at(None) == at(23, 16)


def test_wall_clock_ignores_business_windows() -> None:
    clock = Clock.start("resolution", 8 * H, at(FRIDAY, 16))
    assert clock.due_at(CALENDAR) == at(21, 0)
    assert clock.elapsed(at(21, 16), CALENDAR) == 24 * H


def test_business_clock_skips_nights_and_the_weekend() -> None:
    clock = business_clock(at(FRIDAY, 16))
    assert clock.due_at(CALENDAR) == at(23, 16)  # Friday 1h, Monday 7h
    assert clock.elapsed(at(22, 12), CALENDAR) == H  # nothing counted over the weekend


def test_business_clock_skips_a_holiday() -> None:
    calendar = office_hours(date(2026, 11, 13), date(2026, 12, 31), holidays=(THANKSGIVING,))
    clock = business_clock(at(25, 16))  # Wednesday, the day before the holiday
    assert clock.due_at(CALENDAR) == at(26, 16)
    assert clock.due_at(calendar) == at(27, 16)


def test_business_clock_started_out_of_hours_counts_from_the_next_opening() -> None:
    clock = business_clock(at(21, 10), budget=2 * H)  # Saturday morning
    assert clock.due_at(CALENDAR) == at(23, 11)
    assert clock.elapsed(at(23, 9), CALENDAR) == timedelta(0)
    assert clock.elapsed(at(23, 10), CALENDAR) == H


def test_budget_ending_at_closing_time_is_due_at_closing_not_the_next_opening() -> None:
    clock = business_clock(at(23, 9))
    assert clock.due_at(CALENDAR) == at(23, 17)


def test_business_time_past_the_last_window_counts_as_wall_time() -> None:
    short = office_hours(date(2026, 11, 16), date(2026, 11, 20))  # ends Friday 17:00
    assert add_working_time(at(FRIDAY, 16), 3 * H, short) == at(FRIDAY, 19)
    assert add_working_time(at(21, 10), H, short) == at(21, 11)
    assert working_time_between(at(FRIDAY, 16), at(21, 17), short) == 25 * H


def test_adding_no_time_returns_the_start_even_out_of_hours() -> None:
    saturday = at(21, 10)
    assert add_working_time(saturday, timedelta(0), CALENDAR) == saturday


def test_adding_negative_time_is_refused() -> None:
    with pytest.raises(ValueError, match="amount"):
        add_working_time(at(23, 10), -H, CALENDAR)


def test_working_time_between_an_end_before_the_start_is_zero() -> None:
    assert working_time_between(at(23, 12), at(23, 10), CALENDAR) == timedelta(0)
    assert working_time_between(at(23, 12), at(23, 10), None) == timedelta(0)


def test_clock_without_a_positive_budget_is_refused() -> None:
    with pytest.raises(ValidationError, match="budget"):
        Clock.start("department", timedelta(0), at(23, 10))


# --- pause, resume, stop ---------------------------------------------------------------------


def test_paused_clock_stops_counting_and_has_no_due_time() -> None:
    clock = Clock.start("department", 10 * H, at(23, 8))
    clock.pause(at(23, 10), None)
    assert clock.paused and not clock.running
    assert clock.elapsed(at(25, 10), None) == 2 * H
    assert clock.due_at(None) is None
    assert clock.next_mark(THRESHOLDS, None) is None


def test_resume_moves_a_wall_due_time_by_the_paused_span() -> None:
    clock = Clock.start("department", 10 * H, at(23, 8))
    clock.pause(at(23, 10), None)
    clock.resume(at(23, 13))
    assert clock.running
    assert clock.due_at(None) == at(23, 18) + 3 * H
    assert clock.elapsed(at(23, 14), None) == 3 * H


def test_resume_moves_a_business_due_time_by_the_working_time_paused_only() -> None:
    clock = business_clock(at(19, 9), budget=16 * H)  # Thursday
    assert clock.due_at(CALENDAR) == at(FRIDAY, 17)
    clock.pause(at(19, 16), CALENDAR)
    clock.resume(at(FRIDAY, 10))  # 18h of wall time paused, 2h of it working time
    assert clock.elapsed(at(FRIDAY, 10), CALENDAR) == 7 * H
    assert clock.due_at(CALENDAR) == at(23, 11)


def test_pausing_twice_is_harmless() -> None:
    clock = Clock.start("department", 10 * H, at(23, 8))
    clock.pause(at(23, 10), None)
    clock.pause(at(23, 12), None)
    assert clock.elapsed(at(23, 20), None) == 2 * H


def test_resuming_a_running_clock_is_harmless() -> None:
    clock = Clock.start("department", 10 * H, at(23, 8))
    clock.resume(at(23, 12))
    assert clock.elapsed(at(23, 13), None) == 5 * H
    assert clock.due_at(None) == at(23, 18)


def test_stopping_is_final() -> None:
    clock = Clock.start("department", 10 * H, at(23, 8))
    clock.stop(at(23, 11), None)
    clock.resume(at(23, 12))
    clock.stop(at(23, 14), None)
    clock.pause(at(23, 15), None)
    assert clock.stopped and not clock.running and not clock.paused
    assert clock.stopped_at == at(23, 11)
    assert clock.elapsed(at(24, 8), None) == 3 * H
    assert clock.due_at(None) is None
    assert clock.next_mark(THRESHOLDS, None) is None


def test_stopping_a_paused_clock_keeps_the_time_it_used() -> None:
    clock = Clock.start("department", 10 * H, at(23, 8))
    clock.pause(at(23, 10), None)
    clock.stop(at(23, 15), None)
    assert clock.stopped
    assert clock.elapsed(at(23, 20), None) == 2 * H


# --- warnings and the breach -----------------------------------------------------------------


def test_warnings_fall_at_their_share_of_a_wall_budget() -> None:
    clock = Clock.start("resolution", 10 * H, at(23, 8))
    assert [clock.instant_of(t, None) for t in THRESHOLDS] == [
        at(23, 13),
        at(23, 15, 30),
        at(23, 17),
    ]


def test_warnings_fall_at_their_share_of_working_time() -> None:
    clock = business_clock(at(FRIDAY, 16))
    assert [clock.instant_of(t, CALENDAR) for t in THRESHOLDS] == [
        at(23, 12),  # 4h: Friday 1h, Monday 3h
        at(23, 14),
        at(23, 15, 12),  # 7.2h
    ]


def test_next_mark_goes_through_the_warnings_in_order_then_the_breach() -> None:
    clock = business_clock(at(FRIDAY, 16))
    seen = []
    while (mark := clock.next_mark([0.9, 0.5, 0.75], CALENDAR)) is not None:
        instant, threshold = mark
        seen.append(mark)
        if threshold is None:
            clock.breached = True
        else:
            clock.warned.append(threshold)
    assert seen == [
        (at(23, 12), 0.5),
        (at(23, 14), 0.75),
        (at(23, 15, 12), 0.9),
        (at(23, 16), None),
    ]


def test_next_mark_skips_thresholds_already_warned() -> None:
    clock = Clock.start("resolution", 10 * H, at(23, 8))
    clock.warned = [0.5, 0.75]
    assert clock.next_mark(THRESHOLDS, None) == (at(23, 17), 0.9)


def test_next_mark_ignores_thresholds_at_or_past_the_budget() -> None:
    clock = Clock.start("resolution", 10 * H, at(23, 8))
    assert clock.next_mark([1.0, 1.5], None) == (at(23, 18), None)


def test_next_mark_is_none_once_breached() -> None:
    clock = Clock.start("resolution", 10 * H, at(23, 8))
    clock.breached = True
    assert clock.next_mark(THRESHOLDS, None) is None


def test_threshold_passed_before_a_pause_is_due_at_once_on_resume() -> None:
    clock = Clock.start("department", 10 * H, at(23, 8))
    clock.pause(at(23, 14), None)  # 60% used, 0.5 never warned
    clock.resume(at(24, 9))
    assert clock.next_mark(THRESHOLDS, None) == (at(24, 9), 0.5)
    clock.warned.append(0.5)
    assert clock.next_mark(THRESHOLDS, None) == (at(24, 10, 30), 0.75)


def test_budget_used_up_before_a_pause_breaches_at_once_on_resume() -> None:
    clock = Clock.start("department", 2 * H, at(23, 8))
    clock.pause(at(23, 11), None)
    clock.resume(at(24, 9))
    assert clock.next_mark(THRESHOLDS, None) == (at(24, 9), None)


def test_module_next_mark_picks_the_earliest_mark_across_clocks() -> None:
    resolution = Clock.start("resolution", 24 * H, at(23, 8))
    department = Clock.start("department", 4 * H, at(23, 9))
    compliance = business_clock(at(FRIDAY, 16))
    assert next_mark([resolution, department, compliance], THRESHOLDS, CALENDAR) == (
        department,
        at(23, 11),
        0.5,
    )
    department.stop(at(23, 10), None)
    assert next_mark([resolution, department, compliance], THRESHOLDS, CALENDAR) == (
        compliance,
        at(23, 12),
        0.5,
    )


def test_module_next_mark_puts_a_breach_before_a_warning_then_orders_by_name() -> None:
    warning = Clock.start("compliance", 4 * H, at(23, 8))  # 0.5 at 10:00
    breach = Clock.start("resolution", 2 * H, at(23, 8))  # due at 10:00
    breach.warned = list(THRESHOLDS)
    other_warning = Clock.start("department", 4 * H, at(23, 8))
    assert next_mark([warning, breach], THRESHOLDS, None) == (breach, at(23, 10), None)
    assert next_mark([other_warning, warning], THRESHOLDS, None) == (warning, at(23, 10), 0.5)


def test_module_next_mark_is_none_when_no_clock_runs() -> None:
    clock = Clock.start("resolution", 2 * H, at(23, 8))
    clock.pause(at(23, 9), None)
    assert next_mark([clock], THRESHOLDS, None) is None
    assert next_mark([], THRESHOLDS, None) is None


# --- the status view -------------------------------------------------------------------------


def test_deadline_reports_a_running_business_clock_with_its_share() -> None:
    clock = business_clock(at(FRIDAY, 16), budget=3 * H)
    deadline = clock.deadline(at(22, 12), CALENDAR)  # Sunday: 1h of 3h counted
    assert deadline.name == "compliance"
    assert deadline.state == "running"
    assert deadline.due_at == at(23, 11)
    assert deadline.elapsed_share == 0.333
    assert deadline.business_time is True


def test_deadline_reports_paused_stopped_and_breached_clocks() -> None:
    clock = Clock.start("department", 4 * H, at(23, 8))
    clock.pause(at(23, 10), None)
    paused = clock.deadline(at(23, 12), None)
    assert (paused.state, paused.due_at, paused.elapsed_share) == ("paused", None, 0.5)
    clock.resume(at(23, 12))
    clock.breached = True
    breached = clock.deadline(at(23, 15), None)
    assert (breached.state, breached.due_at, breached.elapsed_share) == (
        "breached",
        at(23, 14),
        1.25,
    )
    clock.breached = False
    clock.stop(at(23, 13), None)
    assert clock.deadline(at(23, 20), None).state == "stopped"


def test_clock_survives_a_round_trip_through_json() -> None:
    clock = business_clock(at(FRIDAY, 16))
    clock.warned.append(0.5)
    clock.pause(at(23, 10), CALENDAR)
    assert Clock.model_validate_json(clock.model_dump_json()) == clock


# --- working time, against a reference, over a random calendar --------------------------------


def random_calendar(rng: random.Random) -> list[Window]:
    windows = []
    edge = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(rng.randint(1, 40)):
        opens = edge + timedelta(seconds=rng.randint(1, 3 * 86400))
        edge = opens + timedelta(seconds=rng.randint(1, 12 * 3600), microseconds=rng.randint(0, 9))
        windows.append((opens, edge))
    return windows


def reference_between(start: datetime, end: datetime, windows: list[Window]) -> timedelta:
    total = sum(
        (max(timedelta(0), min(closes, end) - max(opens, start)) for opens, closes in windows),
        timedelta(0),
    )
    return total + max(timedelta(0), end - max(start, windows[-1][1]))


def test_working_time_between_and_add_working_time_agree_over_random_calendars() -> None:
    rng = random.Random(20261120)
    for _ in range(400):
        windows = random_calendar(rng)
        span = int((windows[-1][1] - windows[0][0]).total_seconds())
        start = windows[0][0] + timedelta(seconds=rng.randint(-86400, span + 86400))
        amount = timedelta(seconds=rng.randint(0, span), microseconds=rng.randint(0, 999999))
        end = start + timedelta(seconds=rng.randint(0, span + 86400))

        due = add_working_time(start, amount, windows)
        assert working_time_between(start, due, windows) == amount
        assert working_time_between(start, end, windows) == reference_between(start, end, windows)
        # The earliest such instant: nothing counted between it and any later end.
        counted = working_time_between(start, end, windows)
        reached = add_working_time(start, counted, windows)
        assert reached <= end
        assert working_time_between(reached, end, windows) == timedelta(0)


# --- the sandbox -----------------------------------------------------------------------------


def test_clock_module_imports_only_what_the_workflow_sandbox_allows() -> None:
    allowed = {"__future__", "bisect", "collections", "datetime", "typing", "pydantic", "models"}
    tree = ast.parse(Path(clocks.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= allowed
