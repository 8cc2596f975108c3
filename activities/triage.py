"""Triage and timer policy as activities: the thin adapter between the workflow and the rules
(`triage/`) and policy (`config/policy.toml`) files an operator may edit while the worker runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from activities.config_files import ConfigError, WatchedFile, load_policy, merge_policy
from models.activities import TriageInput, TriageResult
from models.policy import ResolvedPolicy, ResolvePolicyInput
from triage.engine import evaluate
from triage.rules import TriageRules, load_rules

__all__ = ["ConfigError", "TriageActivities", "TriageRules", "evaluate", "load_rules"]


class TriageActivities:
    """Triage and policy from files an operator may edit while the worker runs."""

    def __init__(self, rules_path: Path, policy_path: Path) -> None:
        self._rules = WatchedFile(rules_path, load_rules)
        self._policy = WatchedFile(policy_path, load_policy)

    async def triage_inquiry(self, input: TriageInput) -> TriageResult:
        return evaluate(self._rules.current(), input.intake)

    async def resolve_policy(self, input: ResolvePolicyInput) -> ResolvedPolicy:
        # Without the intake's received_at (older callers), working time is counted from now.
        starts_at = input.starts_at or datetime.now(UTC)
        return merge_policy(self._policy.current(), input.overrides, starts_at)
