"""Evaluating the rules against one intake: categories, flags, urgency, tier, distress, and the
hits that say why (each with its rule id and the term ids that matched).

Order: `rules` in file order, then the sector `fallback` if no category was named, then
`derived_rules`, which read the decision so far (tier policy, HIPAA by default in healthcare).
Effects only add or raise, so within a section the order only matters to rules that read the
decision so far.

A hit is one of three kinds: `routine` (positive evidence of a known-answer matter), `signal`
(anything sensitive: a flag, distress, a raised tier or urgency, or a rule marked sensitive) or
`neutral` (a category only). Release by policy needs routine evidence and no signal at all.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import cast

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from models.activities import TriageResult
from models.contract import ComplianceFlag, Department, InquiryIntake, Urgency
from models.status import RuleHit
from triage.rules import URGENCY_RANK, Effect, Match, Rule, TierNumber, TriageRules
from triage.text import Tokens, normalise, sentences

# Shorter sentences (a greeting, a signature) need no routine term of their own.
MIN_SENTENCE_WORDS = 3

# Sentiment is read per sentence: one desperate sentence in a long, calm message still counts.
_analyser = SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER's compound score of the most negative sentence, -1 (worst) to 1."""
    scores = [_analyser.polarity_scores(s)["compound"] for s in sentences(text)]
    return round(min(scores, default=0.0), 4)


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@dataclass
class _Text:
    """One intake's text as the rules see it; term lists are looked up once each."""

    rules: TriageRules
    tokens: Tokens
    plain: str
    sentiment: float
    _found: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)

    def found(self, name: str) -> list[tuple[int, int, str]]:
        """(start, end, term id) of every occurrence of the list's terms, by position."""
        if name not in self._found:
            term_list = self.rules.terms[name]
            at = self.tokens.position
            found = [
                (at[start], at[start + len(stems) - 1] + 1, term_id)
                for stems, term_id in self.rules.phrases[name]
                for start in self.tokens.find(stems, negatable=term_list.negatable)
            ]
            masks = [span for other in term_list.except_within for span in self.found(other)]
            muted = {
                self.sentence_at[s]
                for other in term_list.except_in_sentence_with
                for s, _, _ in self.found(other)
            }
            self._found[name] = [
                (s, e, term)
                for s, e, term in found
                if not any(ms <= s and e <= me for ms, me, _ in masks)
                and self.sentence_at[s] not in muted
            ]
        return self._found[name]

    @cached_property
    def sentence_at(self) -> dict[int, int]:
        """Position -> sentence number."""
        return dict(zip(self.tokens.position, self.tokens.sentence, strict=True))

    def sentences_without(self, names: list[str]) -> list[int]:
        """Sentences of the body (the subject is a headline) of MIN_SENTENCE_WORDS or more words
        with no term of these lists."""
        covered = {self.sentence_at[s] for name in names for s, _, _ in self.found(name)}
        sizes = Counter(self.tokens.sentence)
        return [
            n
            for n, size in sizes.items()
            if n > 0 and size >= MIN_SENTENCE_WORDS and n not in covered
        ]


@dataclass
class _Decision:
    urgency: Urgency
    tier: int
    categories: set[Department] = field(default_factory=set)
    flags: set[ComplianceFlag] = field(default_factory=set)
    distress: bool = False
    hits: list[RuleHit] = field(default_factory=list)

    @property
    def routine(self) -> bool:
        kinds = {hit.kind for hit in self.hits}
        return "routine" in kinds and "signal" not in kinds

    def apply(self, rule: Rule, intake: InquiryIntake, terms: list[str]) -> None:
        effect = rule.effect
        self.categories.update(effect.add_categories)
        self.flags.update(effect.flags_for(intake.sector))
        raised = effect.raise_urgency
        if raised is not None and URGENCY_RANK[raised] > URGENCY_RANK[self.urgency]:
            self.urgency = raised
        self.tier = max(self.tier, effect.raise_tier or 0)
        self.distress = self.distress or effect.distress
        kind = "signal" if effect.is_signal else "routine" if effect.routine else "neutral"
        self.hits.append(
            RuleHit(
                rule_id=rule.id,
                description=rule.description,
                effect=effect.describe(intake.sector),
                kind=kind,
                terms=list(dict.fromkeys(terms)),
            )
        )


def _text_match(m: Match, text: _Text) -> list[str] | None:
    """The term ids that satisfy the match's text conditions, or None if they do not hold."""
    matched: list[str] = []
    if m.terms or m.patterns:
        any_of = [term for name in m.terms for _, _, term in text.found(name)]
        any_of += [
            f"pattern:{n}"
            for n, p in enumerate(m.patterns, start=1)
            if _regex(p).search(text.plain)
        ]
        if not any_of:
            return None
        matched += any_of
    for name in m.all_terms:
        found = text.found(name)
        if not found:
            return None
        matched += [term for _, _, term in found]
    if m.near:
        near = _near(m.near, m.window, text)
        if near is None:
            return None
        matched += near
    if any(text.found(name) for name in m.unless_terms):
        return None
    if m.sentences_without:
        uncovered = text.sentences_without(m.sentences_without)
        if not uncovered:
            return None
        matched += [f"sentence:{n + 1}" for n in uncovered]
    return matched


def _near(names: list[str], window: int, text: _Text) -> list[str] | None:
    """Terms of every list within `window` words of one occurrence of the first list's, each
    from other words: one word never stands for two lists ("address" is not also "addressed")."""
    first, *others = names
    for start, end, term in text.found(first):
        used, together = [(start, end)], [term]
        for name in others:
            close = [
                (s, e, t)
                for s, e, t in text.found(name)
                if start - window <= s
                and e <= end + window
                and all(e <= us or ue <= s for us, ue in used)
            ]
            if not close:
                break
            used.append(close[0][:2])
            together += [t for _, _, t in close]
        else:
            return together
    return None


def _holds(m: Match, intake: InquiryIntake, text: _Text, d: _Decision) -> bool:
    checks = (
        not m.sectors or intake.sector in m.sectors,
        not m.channels or intake.channel in m.channels,
        not m.topics or bool(set(m.topics) & set(intake.topics or [])),
        not m.categories or bool(set(m.categories) & d.categories),
        not m.flags or bool(set(m.flags) & d.flags),
        not m.any_flag or bool(d.flags),
        m.min_categories is None or len(d.categories) >= m.min_categories,
        m.urgency_at_least is None or URGENCY_RANK[d.urgency] >= URGENCY_RANK[m.urgency_at_least],
        m.tier_at_least is None or d.tier >= m.tier_at_least,
        m.distress is None or d.distress == m.distress,
        m.routine is None or d.routine == m.routine,
        m.sentiment_at_most is None or text.sentiment <= m.sentiment_at_most,
    )
    return all(checks)


def evaluate(rules: TriageRules, intake: InquiryIntake) -> TriageResult:
    """Decide an inquiry's triage; the same rules and intake always give the same result."""
    raw = f"{intake.subject}.\n{intake.body}"
    text = _Text(
        rules=rules,
        tokens=Tokens.of(raw, rules.vocabulary, rules.spelling),
        plain=normalise(raw),
        sentiment=sentiment(raw),
    )
    d = _Decision(urgency=rules.defaults.urgency, tier=rules.defaults.tier)

    def run(batch: list[Rule]) -> None:
        for rule in batch:
            if not rule.enabled or not _holds(rule.match, intake, text, d):
                continue
            terms = _text_match(rule.match, text)
            if terms is not None:
                d.apply(rule, intake, terms)

    run(rules.rules)
    if not d.categories:
        sector = intake.sector.value
        fallback = Rule(
            id=f"fallback.{sector}",
            description=f"no rule named a category; the {sector} sector's default applies",
            match=Match(sectors=[intake.sector]),
            effect=Effect(add_categories=[rules.fallback[intake.sector]]),
        )
        d.apply(fallback, intake, [])
    run(rules.derived_rules)
    return TriageResult(
        # Enum order rather than firing order, so editing the file's order never reshuffles them.
        categories=[c for c in Department if c in d.categories],
        compliance_flags=[f for f in ComplianceFlag if f in d.flags],
        urgency=d.urgency,
        tier=cast(TierNumber, min(d.tier, 3)),
        distress=d.distress,
        sentiment=text.sentiment,
        rules_fired=d.hits,
    )
