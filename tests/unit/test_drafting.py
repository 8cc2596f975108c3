"""The composed first draft and the automated checks every draft must pass (workflows/drafting.py):
identifiers never reach a customer, nor does a privileged legal finding, and an ordinary reply
passes untouched."""

from __future__ import annotations

import pytest

from models.contract import ComplianceFlag, Department
from models.status import DepartmentState
from workflows.drafting import check_draft, compose_draft

PRIVILEGED = (
    "PRIVILEGED & CONFIDENTIAL: counsel believes the duplicate charge breaches the settlement "
    "terms agreed in March."
)
FINDING = "Counsel believes the duplicate charge breaches the settlement terms"
ORDINARY = (
    "Thank you for your patience. We refunded the duplicate charge of $120.50 on invoice "
    "INV-2026-0042 on 2026-11-23, and your lab results for order 55120 were posted today. "
    "If anything is unclear, call us on +1 555-123-4567 or reply to this message; your case "
    "owner will help. Your medical record number is on file with the clinic."
)


def done(summary: str | None, status: str = "completed") -> DepartmentState:
    return DepartmentState(status=status, case_ref="C-1", summary=summary)


def test_draft_quotes_each_completed_department_and_explains_the_rest() -> None:
    draft = compose_draft(
        {
            Department.LEGAL: done(None, "needs_info"),
            Department.BILLING: done("The duplicate charge was refunded."),
            Department.CLINICAL: DepartmentState(status="overdue"),
        },
        [],
    )

    paragraphs = draft.split("\n\n")
    assert paragraphs[1] == "From billing: The duplicate charge was refunded."
    assert "clinical records team is still working" in paragraphs[2]
    assert "legal review team needs more information" in paragraphs[3]
    assert check_draft(draft, {}, []) == []


def test_completed_department_without_summary_is_reported_as_reviewed() -> None:
    draft = compose_draft({Department.BILLING: done(None)}, [])

    assert "billing team has completed its review" in draft


@pytest.mark.parametrize(
    ("departments", "flags"),
    [
        pytest.param({Department.LEGAL: done(PRIVILEGED)}, [], id="marked-by-legal"),
        pytest.param(
            {Department.LEGAL: done("Counsel sees no exposure in the refund.")},
            [ComplianceFlag.PRIVILEGE],
            id="flagged-by-triage",
        ),
    ],
)
def test_privileged_legal_finding_is_not_quoted_in_the_composed_draft(
    departments: dict[Department, DepartmentState], flags: list[ComplianceFlag]
) -> None:
    draft = compose_draft(departments, flags)
    summary = departments[Department.LEGAL].summary or ""

    assert summary not in draft
    assert "legal team has reviewed your matter" in draft
    assert check_draft(draft, departments, flags) == []


@pytest.mark.parametrize(
    ("text", "failure"),
    [
        ("Your SSN 123-45-6789 is on file.", "contains a social security number"),
        ("See record MRN: 00123456.", "contains a medical record number"),
        ("See record mrn#4455.", "contains a medical record number"),
        ("Card 4111 1111 1111 1111 was refunded.", "contains a payment card number"),
        ("Card 4111-1111-1111-1111 was refunded.", "contains a payment card number"),
        ("Card 4111111111111111 was refunded.", "contains a payment card number"),
        # the formats an outside tester got through: spaces, no separators, dashes, dots
        ("Refund issued for SSN 123 45 6789 holder.", "contains a social security number"),
        ("Refund issued; SSN on file 123456789.", "contains a social security number"),
        ("SSN on file 123\u201345\u20136789.", "contains a social security number"),
        ("Refund to card 4111.1111.1111.1111 completed.", "contains a payment card number"),
        ("Amex 3782 822463 10005 refunded.", "contains a payment card number"),
    ],
)
def test_identifiers_fail_the_check_which_names_the_rule_not_the_value(
    text: str, failure: str
) -> None:
    failures = check_draft(text, {}, [])

    assert failures == [failure]
    assert not any(digits in failures[0] for digits in ("6789", "123456", "4455", "1111"))


def test_quoting_six_words_of_a_privileged_finding_fails_the_check() -> None:
    legal = {Department.LEGAL: done(PRIVILEGED)}

    assert check_draft(f"In short: {FINDING.upper()}!", legal, []) == [
        "contains a privileged legal finding"
    ]
    # five words in a row are common phrasing, not a quotation
    assert check_draft("As counsel believes the duplicate charge was", legal, []) == []


def test_privilege_marker_in_a_draft_fails_when_the_matter_is_privileged() -> None:
    departments = {Department.LEGAL: done("Counsel sees no exposure.")}
    text = "This is attorney-client advice: we refund."

    assert check_draft(text, departments, [ComplianceFlag.PRIVILEGE]) == [
        "contains a privileged legal finding"
    ]
    assert check_draft(text, departments, []) == []


def test_quoting_a_legal_finding_that_is_not_privileged_is_allowed() -> None:
    legal = {Department.LEGAL: done(FINDING + ", and the refund is due.")}

    assert check_draft(FINDING + ".", legal, [ComplianceFlag.LITIGATION]) == []


def test_an_ordinary_reply_passes_every_check() -> None:
    legal = {Department.LEGAL: done(PRIVILEGED)}

    assert check_draft(ORDINARY, legal, [ComplianceFlag.PRIVILEGE, ComplianceFlag.HIPAA]) == []


@pytest.mark.parametrize(
    "text",
    [
        "Refunds of 10.00 20.00 30.00 40.00 were issued.",
        "Covering 2024-05-01 2024-05-31 and 01.05.2024 31.05.2024.",
        "Item EAN 4006381333931, orders 123456 234567 345678.",
        "Call us on 0044 20 7946 0958; EUR 199.99 2024 fee.",
        "A card 4111 1111 1111 1112 fails the Luhn check.",
    ],
)
def test_amounts_dates_and_order_numbers_are_not_taken_for_identifiers(text: str) -> None:
    """A failed check sends even a reviewed draft back to its owner: ordinary numbers pass."""
    assert check_draft(text, {}, []) == []
