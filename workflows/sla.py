"""The inquiry's SLA clocks: which run, which are paused, what has been warned and breached.

Pure: the workflow's timekeeper asks `next_mark` for the one instant it must wake at, and
reports back with `warned` / `breached`. Clocks count wall time or, where the policy says so,
business time inside the policy's working windows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from models.activities import Model
from models.policy import ClockName, ResolvedPolicy
from models.status import Deadline
from workflows.clocks import Clock


class Sla(Model):
    clocks: dict[str, Clock] = Field(default_factory=dict)
    breaches: list[str] = Field(default_factory=list)

    def start(
        self, name: ClockName, budget: timedelta, now: datetime, policy: ResolvedPolicy
    ) -> None:
        self.clocks[name] = Clock.start(name, budget, now, business=name in policy.business_clocks)

    def stop(self, name: ClockName, now: datetime, policy: ResolvedPolicy) -> None:
        clock = self.clocks.get(name)
        if clock is not None and not clock.stopped:
            clock.stop(now, policy.business_windows)

    def stop_all(self, now: datetime, policy: ResolvedPolicy) -> None:
        for name, clock in self.clocks.items():
            if not clock.stopped:
                self.stop(name, now, policy)  # type: ignore[arg-type]

    def pause(self, names: tuple[ClockName, ...], now: datetime, policy: ResolvedPolicy) -> None:
        for name in names:
            clock = self.clocks.get(name)
            if clock is not None and clock.running:
                clock.pause(now, policy.business_windows)

    def resume(self, names: tuple[ClockName, ...], now: datetime) -> None:
        for name in names:
            clock = self.clocks.get(name)
            if clock is not None and clock.paused:
                clock.resume(now)

    def next_mark(self, policy: ResolvedPolicy) -> tuple[Clock, datetime, float | None] | None:
        """The earliest warning (a share) or breach (None) still to come over running clocks;
        on a tie the breach comes first."""
        marks: list[tuple[Clock, datetime, float | None]] = []
        for clock in self.clocks.values():
            mark = clock.next_mark(thresholds(clock.name, policy), policy.business_windows)
            if mark is not None:
                marks.append((clock, mark[0], mark[1]))
        return min(marks, key=lambda m: (m[1], m[2] is not None, m[0].name), default=None)

    def warned(self, clock: Clock, share: float) -> None:
        clock.warned.append(share)

    def breached(self, clock: Clock) -> None:
        clock.breached = True
        self.breaches.append(clock.name)

    def deadlines(self, now: datetime, policy: ResolvedPolicy) -> list[Deadline]:
        return [clock.deadline(now, policy.business_windows) for clock in self.clocks.values()]


def thresholds(name: str, policy: ResolvedPolicy) -> list[float]:
    """Warnings for every clock; the resolution clock also marks the customer's progress update."""
    marks = set(policy.warning_thresholds)
    if name == "resolution" and policy.progress_update_at is not None:
        marks.add(policy.progress_update_at)
    return sorted(share for share in marks if 0 < share < 1)
