"""The business calendar (config/policy.toml's [calendar]) and its working windows in UTC.

`working_windows` is a pure function: a calendar, an instant and a number of days give the same
windows every time. The policy activity resolves them once, when an inquiry starts, and the
workflow measures business time against those UTC windows alone, so neither workflow code nor
replay ever needs the time zone database.

Errors: a calendar that cannot be used fails validation naming the key (`calendar.timezone`,
`calendar.closes`, `calendar.workdays.2`), never quoting the value; `load_toml` turns that into a
`ConfigError`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Long enough for any inquiry's clocks, short enough to keep the resolved policy in history small.
BUSINESS_HORIZON_DAYS = 400

_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _clock_time(value: object) -> object:
    # TOML's own local times (opens = 09:00:00) arrive as `time`; strings must be "HH:MM", so a
    # bare number is never read as seconds since midnight.
    if isinstance(value, time):
        return value
    match = _CLOCK_TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError('must be a time of day as "HH:MM", e.g. "09:00"')
    return time(int(match[1]), int(match[2]))


ClockTime = Annotated[time, BeforeValidator(_clock_time)]


class Calendar(BaseModel):
    """Working hours in one time zone; holidays are dates in that zone."""

    # As activities.config_files.ConfigModel; repeated here because that module imports this one.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    timezone: str
    workdays: Annotated[list[Weekday], Field(min_length=1)]
    opens: ClockTime
    closes: ClockTime
    holidays: list[date] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; use an IANA name such as Europe/Berlin") from None
        return name

    @field_validator("closes")
    @classmethod
    def _after_opening(cls, closes: time, info: ValidationInfo) -> time:
        opens = info.data.get("opens")
        if isinstance(opens, time) and closes <= opens:
            raise ValueError("must be later than opens (a working day may not cross midnight)")
        return closes


def working_windows(
    calendar: Calendar, start: datetime, days: int
) -> list[tuple[datetime, datetime]]:
    """UTC windows [open, close) of each working day from `start`'s local date for `days` days.

    Windows already over at `start` are left out. Each day's hours are placed in the zone's
    offset of that day, so a window follows daylight saving time.
    """
    zone = ZoneInfo(calendar.timezone)
    # An instant without an offset can only be UTC here: everything the store and Temporal hand
    # over is in UTC.
    start = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    first = start.astimezone(zone).date()
    workdays = {WEEKDAYS.index(day) for day in calendar.workdays}
    holidays = set(calendar.holidays)
    windows: list[tuple[datetime, datetime]] = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day.weekday() not in workdays or day in holidays:
            continue
        opens = datetime.combine(day, calendar.opens, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, calendar.closes, tzinfo=zone).astimezone(UTC)
        # A day whose opening falls in a daylight saving gap can come out empty; skip it rather
        # than hand the workflow a window that ends before it starts.
        if closes > opens and closes > start:
            windows.append((opens, closes))
    return windows
