"""Minimum necessary (workflows/disclosure.py): what of the customer's words each department is
sent."""

from __future__ import annotations

from models.contract import ComplianceFlag, Department
from models.policy import MinimumNecessary
from workflows import disclosure

RULES = MinimumNecessary(
    privileged_to_legal_only=True,
    sentences_about={Department.BILLING: ["bill", "invoic", "charg", "refund"]},
)
SUBJECT = "My scan and the invoice"
BODY = (
    "My MRI showed a tumour on my spine. I was charged twice on invoice 4471 for it.\n"
    "Please refund one of the charges. The oncologist wants a second scan."
)


def test_billing_gets_only_the_sentences_about_money_and_a_count_of_the_rest() -> None:
    subject, body = disclosure.words_for(Department.BILLING, SUBJECT, BODY, [], RULES)

    assert subject == SUBJECT
    assert "charged twice on invoice 4471" in body and "refund one of the charges" in body
    assert "tumour" not in body and "oncologist" not in body
    assert body.endswith("[2 of 4 sentences withheld: not needed by billing (minimum necessary)]")


def test_a_department_without_a_list_gets_the_whole_body() -> None:
    assert disclosure.words_for(Department.CLINICAL, SUBJECT, BODY, [], RULES) == (SUBJECT, BODY)


def test_a_privileged_matters_words_go_to_legal_only() -> None:
    flags = [ComplianceFlag.PRIVILEGE]

    assert disclosure.words_for(Department.LEGAL, SUBJECT, BODY, flags, RULES) == (SUBJECT, BODY)
    for department in (Department.BILLING, Department.CLINICAL):
        subject, body = disclosure.words_for(department, SUBJECT, BODY, flags, RULES)
        assert (subject, body) == (disclosure.PRIVILEGED_SUBJECT, disclosure.PRIVILEGED_BODY)


def test_an_operator_can_send_every_department_everything() -> None:
    everything = MinimumNecessary(privileged_to_legal_only=False)
    flags = [ComplianceFlag.PRIVILEGE]

    for department in Department:
        assert disclosure.words_for(department, SUBJECT, BODY, flags, everything) == (
            SUBJECT,
            BODY,
        )
