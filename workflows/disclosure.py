"""Minimum necessary: what of the customer's words each department is sent.

The case facts (inquiry id, tier, urgency, flags, categories, the customer's reference) go to
every department; contact details go to none (`activities.departments.CASE_FIELDS`). The subject
and body are the customer's own words, and two rules from the policy (fixed when the inquiry
starts) narrow them:
- a privileged legal matter's words go to legal review only; other departments get a note;
- a department with a `sentences_about` list gets only the body's sentences that mention one of
  its words (billing needs the charge, not the diagnosis), and a note of how many were withheld.

Pure: the workflow calls it for each department, and tests reach it directly.
"""

from __future__ import annotations

import re

from models.contract import ComplianceFlag, Department
from models.policy import MinimumNecessary

PRIVILEGED_SUBJECT = "Privileged legal matter"
PRIVILEGED_BODY = (
    "This inquiry concerns a privileged legal matter. Its content is shared with legal review "
    "only; the case facts in this request are what this department needs."
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def words_for(
    department: Department,
    subject: str,
    body: str,
    flags: list[ComplianceFlag],
    rules: MinimumNecessary,
) -> tuple[str, str]:
    """The subject and body `department` is sent."""
    if (
        rules.privileged_to_legal_only
        and ComplianceFlag.PRIVILEGE in flags
        and department != Department.LEGAL
    ):
        return PRIVILEGED_SUBJECT, PRIVILEGED_BODY
    about = rules.sentences_about.get(department)
    if not about:
        return subject, body
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, about)) + r")", re.IGNORECASE)
    sentences = [s for s in (part.strip() for part in _SENTENCE.split(body)) if s]
    kept = [s for s in sentences if pattern.search(s)]
    withheld = len(sentences) - len(kept)
    if withheld:
        kept.append(
            f"[{withheld} of {len(sentences)} sentences withheld: not needed by "
            f"{department.value} (minimum necessary)]"
        )
    return subject, " ".join(kept)
