"""SLA clocks: how much counted time has passed, when each warning and the breach fall due.

Pure and deterministic (the workflow passes `now` in), so it runs inside the workflow sandbox and
replays the same: only stdlib datetime and bisect, pydantic and `models`.

Counted time is wall time, or for a business clock only the time inside the policy's working
windows: sorted, non-overlapping UTC intervals [start, end) resolved from the calendar when the
inquiry starts (nights, weekends and holidays are simply absent). Choices worth knowing:

- Past the end of the last window every instant counts, as wall time does. The resolver gives a
  year of windows, so this only keeps a clock moving that outlives them instead of freezing it.
- Before the first window nothing counts: a clock started out of hours waits for the opening.
- Adding zero returns the start itself, even out of hours: nothing is left to wait for.
- An amount that ends exactly at a window's end is due at that closing, not the next opening.
- No windows at all (None or empty) means wall time, and a non-business clock ignores them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, Field

from models.activities import Model
from models.policy import ClockName
from models.status import Deadline

Window = tuple[datetime, datetime]
ClockState = Literal["running", "paused", "stopped", "breached"]

ZERO = timedelta(0)


def _first_open_after(windows: Sequence[Window], at: datetime) -> int:
    """Index of the first window that ends after `at` (ends are sorted as the starts are)."""
    return bisect_right(windows, at, key=lambda window: window[1])


def add_working_time(
    start: datetime, amount: timedelta, windows: Sequence[Window] | None
) -> datetime:
    """The instant at which `amount` of counted time has passed since `start`."""
    if amount < ZERO:
        raise ValueError("amount must not be negative")
    if not windows or amount == ZERO:
        return start + amount
    remaining = amount
    # Indexing rather than slicing: a slice would copy the rest of the year on every call.
    for index in range(_first_open_after(windows, start), len(windows)):
        opens, closes = windows[index]
        begin = max(start, opens)
        room = closes - begin
        if remaining <= room:
            return begin + remaining
        remaining -= room
    return max(start, windows[-1][1]) + remaining


def working_time_between(
    start: datetime, end: datetime, windows: Sequence[Window] | None
) -> timedelta:
    """Counted time in [start, end); zero when end is not after start."""
    if end <= start:
        return ZERO
    if not windows:
        return end - start
    total = ZERO
    for index in range(_first_open_after(windows, start), len(windows)):
        opens, closes = windows[index]
        if opens >= end:
            break
        total += min(closes, end) - max(opens, start)
    last_close = windows[-1][1]
    if end > last_close:
        total += end - max(start, last_close)
    return total


class Clock(Model):
    """One SLA clock. `used` holds closed running segments; the open one runs from `running_since`.

    The workflow records what it acted on: a warning's share goes into `warned`, a breach sets
    `breached`. Those fields make `next_mark` move on to the following mark.
    """

    name: ClockName
    budget: timedelta = Field(gt=ZERO)
    business: bool = False
    started_at: AwareDatetime
    used: timedelta = ZERO
    running_since: AwareDatetime | None = None
    stopped_at: AwareDatetime | None = None
    warned: list[float] = Field(default_factory=list)
    breached: bool = False

    @classmethod
    def start(
        cls, name: ClockName, budget: timedelta, now: datetime, business: bool = False
    ) -> Clock:
        return cls(name=name, budget=budget, business=business, started_at=now, running_since=now)

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    @property
    def paused(self) -> bool:
        return not self.running and not self.stopped

    def _windows(self, windows: Sequence[Window] | None) -> Sequence[Window] | None:
        return windows if self.business else None

    def elapsed(self, now: datetime, windows: Sequence[Window] | None) -> timedelta:
        if self.running_since is None:
            return self.used
        return self.used + working_time_between(self.running_since, now, self._windows(windows))

    def share(self, now: datetime, windows: Sequence[Window] | None) -> float:
        return self.elapsed(now, windows) / self.budget

    def instant_of(self, share: float, windows: Sequence[Window] | None) -> datetime | None:
        """When elapsed time reaches `share` of the budget, if the clock keeps running.

        A share already used up in an earlier segment has no instant of its own in this one; the
        segment's start stands for it, so the caller sees it as past and acts at once.
        """
        since = self.running_since
        return None if since is None else self._reach(since, share, windows)

    def _reach(self, since: datetime, share: float, windows: Sequence[Window] | None) -> datetime:
        left = self.budget * share - self.used
        if left <= ZERO:
            return since
        return add_working_time(since, left, self._windows(windows))

    def due_at(self, windows: Sequence[Window] | None) -> datetime | None:
        return self.instant_of(1.0, windows)

    def pause(self, now: datetime, windows: Sequence[Window] | None) -> None:
        if self.running_since is None:
            return
        self.used = self.elapsed(now, windows)
        self.running_since = None

    def resume(self, now: datetime) -> None:
        if self.paused:
            self.running_since = now

    def stop(self, now: datetime, windows: Sequence[Window] | None) -> None:
        if self.stopped:
            return
        self.pause(now, windows)
        self.stopped_at = now

    def next_mark(
        self, thresholds: Sequence[float], windows: Sequence[Window] | None
    ) -> tuple[datetime, float | None] | None:
        """The next warning (instant, share) or the breach (instant, None) of a running clock.

        On a tie the breach comes first: once it is recorded, warnings for the same instant no
        longer matter and are never offered.
        """
        since = self.running_since
        if self.breached or since is None:
            return None
        marks: list[tuple[datetime, int, float | None]] = [
            (self._reach(since, 1.0, windows), 0, None)
        ]
        for share in thresholds:
            if share < 1 and share not in self.warned:
                marks.append((self._reach(since, share, windows), 1, share))
        at, _, threshold = min(marks, key=lambda mark: (mark[0], mark[1], mark[2] or 0.0))
        return at, threshold

    def deadline(self, now: datetime, windows: Sequence[Window] | None) -> Deadline:
        state: ClockState
        if self.breached:
            state = "breached"
        elif self.stopped:
            state = "stopped"
        elif self.paused:
            state = "paused"
        else:
            state = "running"
        return Deadline(
            name=self.name,
            due_at=self.due_at(windows),
            state=state,
            elapsed_share=round(self.share(now, windows), 3),
            as_of=now,
            business_time=self.business,
        )


def next_mark(
    clocks: Iterable[Clock], thresholds: Sequence[float], windows: Sequence[Window] | None
) -> tuple[Clock, datetime, float | None] | None:
    """The earliest mark over all clocks, for the workflow's single timer.

    Ties go to a breach before a warning, then to the clock name, so replay picks the same one.
    """
    best: tuple[tuple[datetime, int, str], Clock, datetime, float | None] | None = None
    for clock in clocks:
        mark = clock.next_mark(thresholds, windows)
        if mark is None:
            continue
        at, threshold = mark
        order = (at, 0 if threshold is None else 1, clock.name)
        if best is None or order < best[0]:
            best = (order, clock, at, threshold)
    return None if best is None else best[1:]
