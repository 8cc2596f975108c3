"""Release by policy: whether a draft may reach the customer without a reviewer.

Only on positive evidence. Every condition must hold, and the decision lists each one that did
not, so the status and the audit trail say why a draft was or was not released:
- the policy enables it, for the inquiry's sector and every one of its categories;
- triage found a routine matter (a routine rule fired) and no sensitivity signal of any kind,
  and no one on staff has noted how the customer feels (a `sentiment` note);
- the inquiry is tier 1 now (an escalation ends it);
- the draft is the system's own (a person's revision is always reviewed) and passed its checks;
- every department routed to has completed (a draft saying a team is "still working" on a case
  it refused, failed or let run overdue is not an answer);
- what the departments wrote into it is plain, proven text: every result came from the department
  itself (not an unsigned `department_result`), and the draft holds nothing NEEDS_A_READER finds
  (a link, markup, an address, talk of card, bank or login details): a department's text is not
  trusted to speak to the customer alone;
- the inquiry has not been reopened (the first answer did not resolve it: a person reads the next).

Pure: the workflow calls it at the checkpoint; the triage report calls it for the corpus.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from models.activities import TriageResult
from models.contract import Department, Sector
from models.policy import ReleasePolicy
from models.status import DepartmentState, Draft, ReleaseDecision
from workflows.policies import SYSTEM

# What a person must read before it reaches a customer, whoever wrote it into the draft. Broad
# on purpose, and linear (this runs in workflow code, on up to 20 000 characters a department):
# any letter, dot, letter is a domain in every script ("evil.shop", "exаmple.com", "evil．com",
# and "e.g." too: a person reads it), and any of < > [ ] @ :// or an entity (&lt;) is markup, a
# link or an address. The credential words are a backstop: no list of them can be complete.
NEEDS_A_READER: dict[str, re.Pattern[str]] = {
    "a link": re.compile(r"://|[^\W\d_][.\u3002\uff0e\uff61][^\W\d_]"),
    "markup or an address": re.compile(r"[<>\[\]@]|&#?\w{1,10};"),
    "a mention of card, bank or login details": re.compile(
        r"card\s*(?:number|no\b|details)|\bcvv2?\b|\bcvc\b|security code|\bpin\b|pass(?:word|code)"
        r"|log\s*-?in|credentials|bank details|account number|sort code|routing number|\biban\b"
        r"|payment (?:details|information|info)|one[- ]time (?:code|password)|\botp\b"
        r"|verification code",
        re.IGNORECASE,
    ),
}


def needs_a_reader(text: str) -> list[str]:
    """What in a draft a person must read before it goes out: never the text itself. Read as a
    person sees it: compatibility forms folded ("ｗｗｗ", "evil．com") and invisible format
    characters dropped ("pass\u200bword")."""
    seen = "".join(
        ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch) != "Cf"
    )
    return [name for name, pattern in NEEDS_A_READER.items() if pattern.search(seen)]


def decide(
    policy: ReleasePolicy,
    sector: Sector,
    triage: TriageResult,
    tier: int,
    draft: Draft,
    *,
    sentiment_notes: int = 0,
    departments: Mapping[Department, DepartmentState] | None = None,
    reopened: bool = False,
) -> ReleaseDecision:
    results = sorted((departments or {}).items())
    unsettled = [d.value for d, state in results if state.status != "completed"]
    unverified = [d.value for d, state in results if state.unverified]
    found = needs_a_reader(draft.text)
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
            (not unsettled, f"no completed result from: {', '.join(unsettled)}"),
            (not unverified, f"results taken unsigned from: {', '.join(unverified)}"),
            (not found, f"the draft holds {', '.join(found)}"),
            (not reopened, "the inquiry was reopened: a person reads the new answer"),
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
        "every department completed, its result proven; nothing a person must read; first answer",
    ]
    return ReleaseDecision(draft_version=draft.version, released=True, reasons=because)
