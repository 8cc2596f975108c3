"""Triage by explainable rules (config/triage_rules.toml), and the timer policy activity.

`evaluate` is a pure function: rules, intake -> categories, flags, urgency, tier, distress and
the hits that say why. Each hit names the rule and its declared effect, never the words that
matched, so the result can be shown to anyone who may see the inquiry's metadata.

Order of evaluation: `rules` in file order, then the sector `fallback` if no category was named,
then `derived_rules`, which read the decision so far (tier policy, HIPAA for clinical matters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, cast

from pydantic import Field, field_validator, model_validator
from temporalio import activity

from activities.config_files import (
    ConfigError,
    ConfigModel,
    WatchedFile,
    load_policy,
    load_toml,
    merge_policy,
)
from models.activities import ResolvedPolicy, ResolvePolicyInput, TriageInput, TriageResult
from models.contract import (
    Channel,
    ComplianceFlag,
    Department,
    InquiryIntake,
    RuleHit,
    Sector,
    Urgency,
)

__all__ = ["ConfigError", "TriageActivities", "TriageRules", "evaluate", "load_rules"]

TierNumber = Literal[1, 2, 3]
_URGENCY_RANK = {u: rank for rank, u in enumerate(Urgency)}  # low < normal < high < critical


# --- the rules file -------------------------------------------------------------------------


class Match(ConfigModel):
    """Every condition given must hold; within one list, any entry is enough."""

    keywords: list[Annotated[str, Field(min_length=1)]] = []
    patterns: list[str] = []
    sectors: list[Sector] = []
    channels: list[Channel] = []
    topics: list[Department] = []
    categories: list[Department] = []
    flags: list[ComplianceFlag] = []
    any_flag: bool = False
    min_categories: int | None = Field(default=None, ge=1)
    urgency_at_least: Urgency | None = None
    distress: bool | None = None

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for n, pattern in enumerate(patterns, start=1):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern {n} is not a valid regular expression ({exc.msg})"
                ) from None
        return patterns

    @model_validator(mode="after")
    def _has_a_condition(self) -> Match:
        if not self.model_dump(exclude_defaults=True):
            raise ValueError("a rule needs at least one match condition")
        return self


class Effect(ConfigModel):
    add_categories: list[Department] = []
    add_flags: list[ComplianceFlag] = []
    raise_urgency: Urgency | None = None
    raise_tier: TierNumber | None = None
    distress: bool = False

    @model_validator(mode="after")
    def _does_something(self) -> Effect:
        if not self.model_dump(exclude_defaults=True):
            raise ValueError("a rule needs at least one effect")
        return self

    def describe(self) -> str:
        parts = [f"category {c}" for c in self.add_categories]
        parts += [f"flag {f}" for f in self.add_flags]
        if self.raise_urgency is not None:
            parts.append(f"urgency at least {self.raise_urgency}")
        if self.raise_tier is not None:
            parts.append(f"tier at least {self.raise_tier}")
        if self.distress:
            parts.append("distress")
        return "; ".join(parts)


class Rule(ConfigModel):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]
    description: Annotated[str, Field(min_length=1, max_length=200)]
    enabled: bool = True
    match: Match
    effect: Effect


class Defaults(ConfigModel):
    urgency: Urgency = Urgency.NORMAL
    tier: TierNumber = 1


class TriageRules(ConfigModel):
    defaults: Defaults = Defaults()
    rules: list[Rule]
    fallback: dict[Sector, Department]
    derived_rules: list[Rule] = []

    @model_validator(mode="after")
    def _consistent(self) -> TriageRules:
        seen: set[str] = set()
        for rule in [*self.rules, *self.derived_rules]:
            if rule.id in seen:
                raise ValueError(f"rule id '{rule.id}' is used twice")
            seen.add(rule.id)
        missing = [s.value for s in Sector if s not in self.fallback]
        if missing:
            raise ValueError(f"fallback needs a category for sector(s) {', '.join(missing)}")
        return self


def load_rules(path: Path) -> TriageRules:
    return load_toml(path, TriageRules, {"rules": "rule", "derived_rules": "rule"})


# --- evaluation -----------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'")


def _keyword_regex(keyword: str) -> str:
    # Whole words or phrases; spaces and hyphens inside one are interchangeable, so
    # "attorney-client" also finds "attorney client", and "sue" never finds "issue".
    words = re.split(r"[\s-]+", _normalise(keyword).strip())
    return r"(?<!\w)" + r"[\s-]+".join(map(re.escape, words)) + r"(?!\w)"


@lru_cache(maxsize=512)
def _text_regex(keywords: tuple[str, ...], patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    alternatives = [_keyword_regex(k) for k in keywords] + [f"(?:{p})" for p in patterns]
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


@dataclass
class _Decision:
    urgency: Urgency
    tier: int
    categories: set[Department] = field(default_factory=set)
    flags: set[ComplianceFlag] = field(default_factory=set)
    distress: bool = False
    hits: list[RuleHit] = field(default_factory=list)

    def apply(self, rule_id: str, description: str, effect: Effect) -> None:
        self.categories.update(effect.add_categories)
        self.flags.update(effect.add_flags)
        raised = effect.raise_urgency
        if raised is not None and _URGENCY_RANK[raised] > _URGENCY_RANK[self.urgency]:
            self.urgency = raised
        self.tier = max(self.tier, effect.raise_tier or 0)
        self.distress = self.distress or effect.distress
        self.hits.append(
            RuleHit(rule_id=rule_id, description=description, effect=effect.describe())
        )


def _matches(m: Match, intake: InquiryIntake, text: str, d: _Decision) -> bool:
    checks = (
        not m.sectors or intake.sector in m.sectors,
        not m.channels or intake.channel in m.channels,
        not m.topics or bool(set(m.topics) & set(intake.topics or [])),
        not m.categories or bool(set(m.categories) & d.categories),
        not m.flags or bool(set(m.flags) & d.flags),
        not m.any_flag or bool(d.flags),
        m.min_categories is None or len(d.categories) >= m.min_categories,
        m.urgency_at_least is None or _URGENCY_RANK[d.urgency] >= _URGENCY_RANK[m.urgency_at_least],
        m.distress is None or d.distress == m.distress,
    )
    if not all(checks):
        return False
    regex = _text_regex(tuple(m.keywords), tuple(m.patterns))
    return regex is None or regex.search(text) is not None


def evaluate(rules: TriageRules, intake: InquiryIntake) -> TriageResult:
    """Decide an inquiry's triage; the same rules and intake always give the same result."""
    d = _Decision(urgency=rules.defaults.urgency, tier=rules.defaults.tier)
    text = _normalise(f"{intake.subject}\n{intake.body}")

    def run(batch: list[Rule]) -> None:
        for rule in batch:
            if rule.enabled and _matches(rule.match, intake, text, d):
                d.apply(rule.id, rule.description, rule.effect)

    run(rules.rules)
    if not d.categories:
        fallback = rules.fallback[intake.sector]
        d.apply(
            f"fallback.{intake.sector.value}",
            f"no rule named a category; the {intake.sector.value} sector's default applies",
            Effect(add_categories=[fallback]),
        )
    run(rules.derived_rules)
    return TriageResult(
        # Enum order rather than firing order, so editing the file's order never reshuffles them.
        categories=[c for c in Department if c in d.categories],
        compliance_flags=[f for f in ComplianceFlag if f in d.flags],
        urgency=d.urgency,
        tier=cast(TierNumber, min(d.tier, 3)),
        distress=d.distress,
        rules_fired=d.hits,
    )


# --- activities -----------------------------------------------------------------------------


class TriageActivities:
    """Triage and policy from files an operator may edit while the worker runs."""

    def __init__(self, rules_path: Path, policy_path: Path) -> None:
        self._rules = WatchedFile(rules_path, load_rules)
        self._policy = WatchedFile(policy_path, load_policy)

    @activity.defn(name="triage_inquiry")
    async def triage_inquiry(self, input: TriageInput) -> TriageResult:
        return evaluate(self._rules.current(), input.intake)

    @activity.defn(name="resolve_policy")
    async def resolve_policy(self, input: ResolvePolicyInput) -> ResolvedPolicy:
        # Without the intake's received_at (older callers), working time is counted from now.
        starts_at = input.starts_at or datetime.now(UTC)
        return merge_policy(self._policy.current(), input.overrides, starts_at)
