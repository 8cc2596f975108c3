"""Drafting a resolution from the department results, and the automated compliance checks.

Pure functions: the workflow calls them, replay tests reach them, and their answers depend only
on their arguments.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from models.contract import ComplianceFlag, Department
from models.status import DepartmentState

# Identifiers that must never appear in a customer reply, whoever wrote it. Digits may be
# grouped by a space (also a non-breaking one), a dot or any dash: "123 45 6789", "123–45–6789",
# "4111.1111.1111.1111"; an SSN uses one separator throughout, and a card number must pass the
# Luhn check (so a list of amounts, dates or order numbers is not taken for one).
_SEP = r"[ \u00a0.\-\u2010-\u2015\u2212]"
_SSN = re.compile(
    rf"(?<![\d.,])\d{{3}}({_SEP})\d{{2}}\1\d{{4}}(?![\d,]|\.\d)"
    r"|\b(?:ssn|social security)\D{0,24}\d{9}\b",
    re.IGNORECASE,
)
_MRN = re.compile(r"\bMRN[\s:#-]*\d{4,}\b", re.IGNORECASE)
# 13 to 19 digits in a run, or in groups of 4 to 6 with one separator throughout ("3782 822463
# 10005"); the digits are counted and checked in _card.
_CARD = re.compile(
    rf"(?<![\d.,])(?:\d{{13,19}}|\d{{4,6}}({_SEP})\d{{4,6}}(?:\1\d{{1,6}}){{1,3}})(?![\d,]|\.\d)"
)


def _card(candidate: str) -> bool:
    """13 to 19 digits that pass the Luhn check."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = sum(
        d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(digits))
    )
    return total % 10 == 0


IDENTIFIERS: dict[str, Callable[[str], bool]] = {
    "social security number": lambda text: _SSN.search(text) is not None,
    "medical record number": lambda text: _MRN.search(text) is not None,
    "payment card number": lambda text: any(_card(m.group()) for m in _CARD.finditer(text)),
}
PRIVILEGE_MARKERS = re.compile(r"privileged\s*(?:&|and)\s*confidential|attorney[- ]client", re.I)
# A privileged finding leaks if any run of this many words from it reaches the reply.
LEAK_WINDOW_WORDS = 6

DEPARTMENT_NAMES = {
    Department.BILLING: "billing",
    Department.CLINICAL: "clinical records",
    Department.LEGAL: "legal review",
}


def compose_draft(
    departments: Mapping[Department, DepartmentState],
    flags: list[ComplianceFlag],
) -> str:
    """A first draft the owner can send or revise: one paragraph per department."""
    privileged = is_privileged(departments, flags)
    parts = ["Thank you for your patience. Here is what we found."]
    for department, state in sorted(departments.items()):
        name = DEPARTMENT_NAMES[department]
        if state.status == "completed" and department == Department.LEGAL and privileged:
            parts.append(
                "Our legal team has reviewed your matter; because it is privileged, "
                "they will contact you separately."
            )
        elif state.status == "completed" and state.summary:
            parts.append(f"From {name}: {state.summary}")
        elif state.status == "completed":
            parts.append(f"Our {name} team has completed its review of your inquiry.")
        elif state.status == "needs_info":
            parts.append(f"Our {name} team needs more information from you and will be in touch.")
        else:
            parts.append(f"Our {name} team is still working on this part of your inquiry.")
    parts.append("If anything is unclear, reply to this message and your case owner will help.")
    return "\n\n".join(parts)


def check_draft(
    text: str,
    departments: Mapping[Department, DepartmentState],
    flags: list[ComplianceFlag],
) -> list[str]:
    """The automated checks; each failure names the rule broken, never the offending text."""
    failures = [f"contains a {name}" for name, found in IDENTIFIERS.items() if found(text)]
    legal = departments.get(Department.LEGAL)
    if is_privileged(departments, flags) and (
        PRIVILEGE_MARKERS.search(text) or _quotes(text, legal)
    ):
        failures.append("contains a privileged legal finding")
    return failures


def is_privileged(
    departments: Mapping[Department, DepartmentState], flags: list[ComplianceFlag]
) -> bool:
    """Privileged by triage, or because legal marked its own finding so."""
    legal = departments.get(Department.LEGAL)
    marked = bool(legal and legal.summary and PRIVILEGE_MARKERS.search(legal.summary))
    return ComplianceFlag.PRIVILEGE in flags or marked


def _quotes(text: str, legal: DepartmentState | None) -> bool:
    if legal is None or not legal.summary:
        return False
    source = _words(legal.summary)
    reply = " ".join(_words(text))
    windows = (
        " ".join(source[i : i + LEAK_WINDOW_WORDS])
        for i in range(max(len(source) - LEAK_WINDOW_WORDS + 1, 1))
    )
    return any(window and window in reply for window in windows)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())
