"""The rules file (config/triage_rules.toml) as a validated model, and its term lists compiled
into the stems the text is matched against. The file's header comment is the operator's guide.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from activities.config_files import ConfigModel, load_toml
from models.contract import Channel, ComplianceFlag, Department, Sector, Urgency
from triage.text import Vocabulary, phrase_stems, words

TierNumber = Literal[1, 2, 3]
URGENCY_RANK = {u: rank for rank, u in enumerate(Urgency)}  # low < normal < high < critical
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]
ListName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=40)]


class TermList(ConfigModel):
    """Words and phrases that mean one thing. `negatable`: "not <term>" does not count.
    `except_within`: an occurrence inside a term of these lists does not count ("urgent" in
    "urgent care"). `except_in_sentence_with`: nor one in a sentence that has a term of these
    lists ("scared the delivery would be late", "terrified of missing the sale lol")."""

    words: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    negatable: bool = False
    except_within: list[ListName] = []
    except_in_sentence_with: list[ListName] = []

    @property
    def exceptions(self) -> list[str]:
        return [*self.except_within, *self.except_in_sentence_with]


class Match(ConfigModel):
    """Every condition given must hold; within one list, any entry is enough."""

    terms: list[ListName] = []
    all_terms: list[ListName] = []
    near: list[ListName] = []
    window: Annotated[int, Field(ge=1, le=60)] = 8
    unless_terms: list[ListName] = []
    sentences_without: list[ListName] = []
    patterns: list[str] = []
    sectors: list[Sector] = []
    channels: list[Channel] = []
    topics: list[Department] = []
    categories: list[Department] = []
    flags: list[ComplianceFlag] = []
    any_flag: bool = False
    min_categories: int | None = Field(default=None, ge=1)
    urgency_at_least: Urgency | None = None
    tier_at_least: TierNumber | None = None
    distress: bool | None = None
    routine: bool | None = None
    sentiment_at_most: Annotated[float, Field(ge=-1, le=1)] | None = None

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
        if not self.model_dump(exclude_defaults=True, exclude={"window"}):
            raise ValueError("a rule needs at least one match condition")
        if len(self.near) == 1:
            raise ValueError("near needs two or more term lists")
        return self

    @property
    def lists(self) -> list[str]:
        return [
            *self.terms,
            *self.all_terms,
            *self.near,
            *self.unless_terms,
            *self.sentences_without,
        ]


class Effect(ConfigModel):
    add_categories: list[Department] = []
    add_flags: list[ComplianceFlag] = []
    sector_flags: dict[Sector, list[ComplianceFlag]] = {}
    raise_urgency: Urgency | None = None
    raise_tier: TierNumber | None = None
    distress: bool = False
    sensitive: bool = False
    routine: bool = False

    @model_validator(mode="after")
    def _does_something(self) -> Effect:
        if not self.model_dump(exclude_defaults=True):
            raise ValueError("a rule needs at least one effect")
        if self.routine and self.is_signal:
            raise ValueError(
                "a routine rule cannot also raise a flag, the tier, urgency or distress"
            )
        return self

    @property
    def is_signal(self) -> bool:
        """A sensitivity signal: any such rule firing keeps the draft for a reviewer."""
        urgent = self.raise_urgency is not None and URGENCY_RANK[self.raise_urgency] >= 2
        return bool(
            self.sensitive
            or self.add_flags
            or any(self.sector_flags.values())
            or self.distress
            or (self.raise_tier or 1) >= 2
            or urgent
        )

    def flags_for(self, sector: Sector) -> list[ComplianceFlag]:
        return [*self.add_flags, *self.sector_flags.get(sector, [])]

    def describe(self, sector: Sector) -> str:
        parts = [f"category {c}" for c in self.add_categories]
        parts += [f"flag {f}" for f in self.flags_for(sector)]
        if self.raise_urgency is not None:
            parts.append(f"urgency at least {self.raise_urgency}")
        if self.raise_tier is not None:
            parts.append(f"tier at least {self.raise_tier}")
        if self.distress:
            parts.append("distress")
        if self.sensitive:
            parts.append("sensitive")
        if self.routine:
            parts.append("routine matter")
        return "; ".join(parts)


class Rule(ConfigModel):
    id: RuleId
    description: Annotated[str, Field(min_length=1, max_length=200)]
    enabled: bool = True
    match: Match
    effect: Effect


class Defaults(ConfigModel):
    urgency: Urgency = Urgency.NORMAL
    tier: TierNumber = 1


Phrase = tuple[tuple[str, ...], str]  # (stems, term id)


class TriageRules(ConfigModel):
    defaults: Defaults = Defaults()
    spelling: dict[str, str] = {}
    terms: dict[ListName, TermList] = {}
    rules: list[Rule]
    fallback: dict[Sector, Department]
    derived_rules: list[Rule] = []

    @field_validator("spelling")
    @classmethod
    def _single_words(cls, spelling: dict[str, str]) -> dict[str, str]:
        for wrong in spelling:
            if not re.fullmatch(r"[a-z0-9&]+", wrong):
                raise ValueError(f"'{wrong}' must be one lower-case word")
        return spelling

    @model_validator(mode="after")
    def _consistent(self) -> TriageRules:
        seen: set[str] = set()
        for rule in [*self.rules, *self.derived_rules]:
            if rule.id in seen:
                raise ValueError(f"rule id '{rule.id}' is used twice")
            seen.add(rule.id)
            unknown = [name for name in rule.match.lists if name not in self.terms]
            if unknown:
                raise ValueError(f"rule '{rule.id}' names unknown term list(s) {unknown}")
        for name, term_list in self.terms.items():
            unknown = [other for other in term_list.exceptions if other not in self.terms]
            if unknown or name in term_list.exceptions:
                raise ValueError(f"term list '{name}': its exceptions name {unknown or [name]}")
        missing = [s.value for s in Sector if s not in self.fallback]
        if missing:
            raise ValueError(f"fallback needs a category for sector(s) {', '.join(missing)}")
        return self

    @cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary.of(
            w
            for term_list in self.terms.values()
            for term in term_list.words
            for w in words(term, self.spelling)
        )

    @cached_property
    def phrases(self) -> dict[str, list[Phrase]]:
        """Each term list as (stems, term id); the id is `<list>:<term as written>`."""
        compiled: dict[str, list[Phrase]] = {}
        for name, term_list in self.terms.items():
            compiled[name] = [
                (phrase_stems(term, self.spelling), f"{name}:{term}") for term in term_list.words
            ]
        return compiled


def load_rules(path: Path) -> TriageRules:
    return load_toml(path, TriageRules, {"rules": "rule", "derived_rules": "rule"})
