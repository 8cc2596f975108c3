"""Release by policy: whether a draft may reach the customer without a reviewer.

Only on positive evidence. Every condition must hold, and the decision lists each one that did
not, so the status and the audit trail say why a draft was or was not released:
- the policy enables it, for the inquiry's sector and every one of its categories;
- triage found a routine matter (a routine rule fired) and no sensitivity signal of any kind,
  and no one on staff has noted how the customer feels (a `sentiment` note);
- the inquiry is tier 1 now (an escalation ends it);
- the draft is the system's own (a person's revision is always reviewed) and passed its checks.

Pure: the workflow calls it at the checkpoint; the triage report calls it for the corpus.
"""

from __future__ import annotations

from models.activities import TriageResult
from models.contract import Sector
from models.policy import ReleasePolicy
from models.status import Draft, ReleaseDecision
from workflows.policies import SYSTEM


def decide(
    policy: ReleasePolicy,
    sector: Sector,
    triage: TriageResult,
    tier: int,
    draft: Draft,
    sentiment_notes: int = 0,
) -> ReleaseDecision:
    routine = [hit.rule_id for hit in triage.rules_fired if hit.kind == "routine"]
    signals = [hit.rule_id for hit in triage.rules_fired if hit.kind == "signal"]
    refused = [c.value for c in triage.categories if c not in policy.categories]
    why_not = [
        reason
        for held, reason in (
            (policy.enabled, "release by policy is turned off"),
            (sector in policy.sectors, f"sector {sector.value} is not on the release allow-list"),
            (not refused, f"categories not on the release allow-list: {', '.join(refused)}"),
            (bool(routine), "no rule recognised a routine matter"),
            (not signals, f"sensitivity signals: {', '.join(signals)}"),
            (not sentiment_notes, "staff noted the customer's sentiment"),
            (tier == 1, f"tier {tier}: only tier 1 is released by policy"),
            (draft.author_id == SYSTEM, "a draft written by a person is always reviewed"),
            (draft.checks_passed, "the draft failed automated checks"),
        )
        if not held
    ]
    if why_not:
        return ReleaseDecision(draft_version=draft.version, released=False, reasons=why_not)
    because = [
        f"routine: {', '.join(routine)}",
        "no sensitivity signal, no sentiment noted",
        f"{sector.value} / {', '.join(c.value for c in triage.categories)} on the allow-list",
        "tier 1, the system's draft, automated checks passed",
    ]
    return ReleaseDecision(draft_version=draft.version, released=True, reasons=because)
