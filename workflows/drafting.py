"""Drafting a resolution from the department results, and the automated compliance checks.

Pure functions: the workflow calls them, replay tests reach them, and their answers depend only
on their arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from models.contract import ComplianceFlag, Department
from models.status import DepartmentState

# Identifiers that must never appear in a customer reply, whoever wrote it. Digits may be
# grouped by spaces, dots or any dash ("123 45 6789", "4111.1111.1111.1111", "123–45–6789").
_SEP = r"[ .\-\u2010-\u2015\u2212]"  # a space, a dot, a hyphen or any dash
IDENTIFIER_PATTERNS: dict[str, re.Pattern[str]] = {
    "social security number": re.compile(
        rf"\b\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{4}}\b|\b(?:ssn|social security)\D{{0,24}}\d{{9}}\b",
        re.IGNORECASE,
    ),
    "medical record number": re.compile(r"\bMRN[\s:#-]*\d{4,}\b", re.IGNORECASE),
    "payment card number": re.compile(rf"\b(?:\d{_SEP}?){{12,18}}\d\b"),
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
    failures = [
        f"contains a {name}"
        for name, pattern in IDENTIFIER_PATTERNS.items()
        if pattern.search(text)
    ]
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
