"""Operator-edited TOML files: parsed, validated by pydantic, re-read when they change; and the
timer policy file (config/policy.toml) with its merge of an intake's overrides.

Errors
    ConfigError    a file cannot be used. The message names the file, the entry (rule, team,
                   reviewer, by its `id`) and the field, never a value, so it is safe to log.

A worker refuses to start with a broken file. Once running, a broken edit is logged and the last
good version stays in force: new inquiries keep being triaged and assigned while the operator
fixes the file, and the fix applies without a restart.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from activities.calendar import BUSINESS_HORIZON_DAYS, Calendar, working_windows
from models.contract import Department, Policy, Sector
from models.policy import ClockName, ResolvedPolicy

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message says where, not what."""


class ConfigModel(BaseModel):
    """A hand-edited table: a misspelt key is an error, not a silently ignored setting."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _iso_string(value: object) -> object:
    # pydantic also takes bare numbers (seconds) and "HH:MM:SS"; in a hand-edited file those are
    # too easy to misread, so only ISO 8601 strings are accepted.
    if not isinstance(value, str) or not value.strip().upper().startswith("P"):
        raise ValueError("must be an ISO 8601 duration string such as PT8H or P2D")
    # pydantic reads P1M as 30 days and P1Y as 365: lengths that vary are refused instead.
    date_part = value.strip().upper()[1:].split("T")[0]
    if "M" in date_part or "Y" in date_part:
        raise ValueError("months and years are not accepted; use days or weeks")
    return value.strip()


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be a positive duration")
    return value


IsoDuration = Annotated[timedelta, BeforeValidator(_iso_string), AfterValidator(_positive)]


def load_toml(path: Path, model: type[M], entries: Mapping[str, str]) -> M:
    """Read and validate one file.

    `entries` maps the file's arrays of tables (e.g. "rules") to how an error names one of their
    items (e.g. "rule"), so a mistake is reported as `rule 'billing-keywords': match.patterns.0`.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_describe(e["loc"], e["msg"], raw, entries) for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None


def _describe(
    loc: tuple[int | str, ...], msg: str, raw: dict[str, Any], entries: Mapping[str, str]
) -> str:
    where = ""
    if len(loc) >= 2 and isinstance(loc[0], str) and loc[0] in entries and isinstance(loc[1], int):
        item = raw.get(loc[0], [])[loc[1]]
        ident = item.get("id") if isinstance(item, dict) else None
        label = entries[loc[0]]
        where = f"{label} '{ident}'" if isinstance(ident, str) else f"{label} #{loc[1] + 1}"
        loc = loc[2:]
    field = ".".join(str(part) for part in loc)
    return ": ".join(part for part in (where, field, msg) if part)


class WatchedFile(Generic[T]):
    """The last good version of a file, re-read when its modification time (or inode) changes."""

    def __init__(self, path: Path, load: Callable[[Path], T]) -> None:
        self._path = path
        self._load = load
        try:
            self._stamp = self._stat()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
        self._value = load(path)

    def _stat(self) -> tuple[int, int, int]:
        # Editors often save by writing a new file and renaming it: the inode catches that even
        # when the clock gives both versions the same mtime.
        st = self._path.stat()
        return st.st_mtime_ns, st.st_size, st.st_ino

    def current(self) -> T:
        try:
            stamp = self._stat()
        except OSError as exc:
            log.error(
                "%s: cannot be read (%s); keeping the previous version", self._path, exc.strerror
            )
            return self._value
        if stamp != self._stamp:
            # Remember the stamp even when the edit is broken, so the error is logged once per
            # edit rather than once per inquiry.
            self._stamp = stamp
            try:
                self._value = self._load(self._path)
                log.info("%s: reloaded", self._path)
            except ConfigError as exc:
                log.error("%s; keeping the previous version", exc)
        return self._value


# --- the timer policy file ------------------------------------------------------------------

TierKey = Literal["1", "2", "3"]
TIER_KEYS: tuple[TierKey, ...] = ("1", "2", "3")
PER_TIER_KEYS = ("compliance_sla", "resolution_sla")


def _spread(value: object) -> object:
    return dict.fromkeys(TIER_KEYS, value) if isinstance(value, str) else value


def _every_tier(value: dict[TierKey, T]) -> dict[TierKey, T]:
    if set(value) != set(TIER_KEYS):
        raise ValueError('give one value, or a table with keys "1", "2" and "3"')
    return value


TierDurations = Annotated[
    dict[TierKey, IsoDuration], BeforeValidator(_spread), AfterValidator(_every_tier)
]
# Strict: a hand-edited "2" or 2.5 is a mistake to name, not a value to coerce.
Approvals = Annotated[int, Field(strict=True, ge=1, le=5)]
Share = Annotated[float, Field(strict=True, gt=0, lt=1)]


def _spread_count(value: object) -> object:
    return dict.fromkeys(TIER_KEYS, value) if isinstance(value, int) else value


class ScoreAlerts(ConfigModel):
    """A key left out means that score never opens service recovery."""

    csat_at_most: Annotated[int, Field(strict=True, ge=1, le=5)] | None = None
    nps_at_most: Annotated[int, Field(strict=True, ge=0, le=10)] | None = None
    ces_at_least: Annotated[int, Field(strict=True, ge=1, le=7)] | None = None


class ReleaseByPolicy(ConfigModel):
    enabled: bool
    sectors: list[Sector]
    categories: list[Department]


class MinimumNecessaryFile(ConfigModel):
    privileged_to_legal_only: bool
    sentences_about: dict[Department, list[Annotated[str, Field(min_length=1)]]] = {}


class PolicyFile(ConfigModel):
    survey_delay: IsoDuration
    survey_reminder: IsoDuration
    survey_window: IsoDuration
    compliance_sla: TierDurations
    department_sla: IsoDuration
    resolution_sla: TierDurations
    release_by_policy: ReleaseByPolicy
    minimum_necessary: MinimumNecessaryFile
    approvals_required: Annotated[
        dict[TierKey, Approvals], BeforeValidator(_spread_count), AfterValidator(_every_tier)
    ]
    warning_thresholds: list[Share]
    # Optional because TOML has no null: leaving the key out sends no progress update.
    progress_update_at: Share | None = None
    business_clocks: list[ClockName]
    recovery_deadline: IsoDuration
    score_alerts: ScoreAlerts | None = None
    calendar: Calendar

    @field_validator("warning_thresholds")
    @classmethod
    def _increasing(cls, shares: list[float]) -> list[float]:
        if any(later <= earlier for earlier, later in zip(shares, shares[1:], strict=False)):
            raise ValueError("list each share once, smallest first")
        return shares

    @field_validator("business_clocks")
    @classmethod
    def _each_clock_once(cls, clocks: list[ClockName]) -> list[ClockName]:
        if len(set(clocks)) != len(clocks):
            raise ValueError("name each clock once")
        return clocks


def load_policy(path: Path) -> PolicyFile:
    return load_toml(path, PolicyFile, {})


def merge_policy(
    defaults: PolicyFile, overrides: Policy | None, starts_at: datetime
) -> ResolvedPolicy:
    """Defaults overridden key by key; a per-tier override replaces only the tiers it names.

    Working windows are resolved from `starts_at` only when some clock counts business time:
    a few hundred of them would otherwise sit in every inquiry's history for nothing.
    """
    values = defaults.model_dump(exclude={"calendar"})
    for name in Policy.model_fields:
        value = getattr(overrides, name) if overrides is not None else None
        if value is None:
            continue
        if name in PER_TIER_KEYS:
            tiers = value if isinstance(value, dict) else dict.fromkeys(TIER_KEYS, value)
            values[name] = {**values[name], **tiers}
        else:
            values[name] = value
    if defaults.business_clocks:
        values["business_windows"] = working_windows(
            defaults.calendar, starts_at, BUSINESS_HORIZON_DAYS
        )
    return ResolvedPolicy.model_validate(values)
