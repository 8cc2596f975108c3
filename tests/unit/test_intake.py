"""Decoding what callers send (workflows/intake.py): one JSON object of the expected shape, or a
reason that names the field and the rule and never repeats the value sent."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.common.v1 import Payload

import clients
from models.contract import ComplianceDecision, InquiryIntake, SurveyResponse, Withdraw
from tests import support
from workflows.intake import PayloadError, decode_one

NAME = "Jordan Example"


def reason_for(model: type[Any], *args: Any) -> str:
    with pytest.raises(PayloadError) as caught:
        decode_one(model, args)
    return str(caught.value)


def test_a_valid_intake_decodes_into_the_contract_model() -> None:
    intake = decode_one(InquiryIntake, [support.intake("INQ-7")])

    assert intake.inquiry_id == "INQ-7"
    assert intake.workflow_id == "inquiry-INQ-7"
    assert intake.customer.name == NAME


@pytest.mark.parametrize(("count", "args"), [(0, []), (2, [{}, {}])])
def test_anything_but_exactly_one_argument_is_refused(count: int, args: list[Any]) -> None:
    assert reason_for(Withdraw, *args) == f"expected one JSON object, got {count} arguments"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ([{"by": "a", "reason": "b"}], "an array"),
        (f"{NAME} withdraws", "a string"),
        (True, "a boolean"),
        (None, "null"),
        (42, "a number"),
        (4.2, "a number"),
    ],
)
def test_a_payload_that_is_not_an_object_is_refused_by_its_json_type(value: Any, kind: str) -> None:
    reason = reason_for(Withdraw, value)

    assert reason == f"expected a JSON object, got {kind}"
    assert NAME not in reason


def test_a_missing_nested_field_is_named_by_its_path() -> None:
    customer = {"name": NAME, "email": "jordan@example.test"}

    reason = reason_for(InquiryIntake, support.intake(customer=customer))

    assert reason == "customer.customer_id: Field required"


def test_a_bad_list_item_is_named_by_its_index() -> None:
    reason = reason_for(InquiryIntake, support.intake(topics=["billing", NAME]))

    assert reason.startswith("topics.1: Input should be")
    assert NAME not in reason


def test_a_key_the_caller_chose_in_a_per_tier_map_is_not_repeated() -> None:
    policy = {"compliance_sla": {NAME: "PT1H"}, "resolution_sla": {"2": NAME}}

    reason = reason_for(InquiryIntake, support.intake(policy=policy))

    assert "policy.compliance_sla: Input should be '1', '2' or '3'" in reason
    assert "policy.resolution_sla" in reason
    assert NAME not in reason and "[key]" not in reason and "function-" not in reason


def test_every_problem_is_named_and_no_value_is_repeated() -> None:
    intake = support.intake(
        sector=NAME,
        subject=f"{NAME} " * 40,
        ssn="123-45-6789",
        policy={"department_sla": "PT0S"},
    )

    reason = reason_for(InquiryIntake, intake)

    named = [problem.split(":")[0] for problem in reason.split("; ")]
    assert sorted(named) == ["payload", "policy", "sector", "subject"]
    assert "payload: 1 unknown field (not in the contract)" in reason
    assert "ssn" not in reason  # a key is the caller's text: counted, never repeated
    assert "department_sla must be a positive duration" in reason
    assert "Value error" not in reason
    for value in (NAME, "Jordan", "123-45-6789", "PT0S"):
        assert value not in reason


def test_a_rule_across_fields_is_reported_against_the_payload() -> None:
    reason = reason_for(ComplianceDecision, {"reviewer_id": "rev.rita", "decision": "reject"})

    assert reason == "payload: note is required when the decision is reject"


@pytest.mark.parametrize(
    "data",
    [
        b'{"inquiry_id": "X", "' + NAME.encode(),
        b'{"inquiry_id": "X", "body": ["' + NAME.encode() + b'"]}',
    ],
)
def test_the_converter_refuses_a_payload_that_does_not_fit_without_quoting_it(data: bytes) -> None:
    # The SDK logs this error: pydantic's own would carry the payload's text.
    payload = Payload(metadata={"encoding": b"json/plain"}, data=data)

    with pytest.raises(ValueError, match="the payload does not fit") as refused:
        clients.PayloadConverter().from_payloads([payload], [InquiryIntake])

    assert NAME not in str(refused.value) and refused.value.__cause__ is None


def test_a_payload_no_one_can_read_is_refused_by_name_not_by_its_text() -> None:
    # The workflow decodes its input and signals itself (no type hint): broken JSON reaches it
    # as a marker, and is refused like any malformed payload instead of failing every task.
    payload = Payload(metadata={"encoding": b"json/plain"}, data=b'{"body": "' + NAME.encode())
    [value] = clients.PayloadConverter().from_payloads([payload])

    reason = reason_for(InquiryIntake, value)

    assert reason == "undecodable payload (not valid JSON)"


def test_a_policy_of_up_to_a_year_survives_its_trip_through_history() -> None:
    # pydantic would write 365 days as "P1Y", which the intake refuses: the inquiry then could
    # never resolve its policy and stayed in `received`.
    payload = support.intake("INQ-8", policy={"survey_window": "P365D",
                                              "compliance_sla": {"1": "P2DT30S"}})  # fmt: skip
    intake = decode_one(InquiryIntake, [payload])
    again = decode_one(InquiryIntake, [intake.model_dump(mode="json")])

    assert again.policy == intake.policy
    assert intake.model_dump(mode="json")["policy"]["survey_window"] == "P365D"


def test_a_policy_longer_than_a_year_is_refused_at_intake() -> None:
    payload = support.intake("INQ-9", policy={"department_sla": "P99999D"})

    assert reason_for(InquiryIntake, payload) == (
        "policy.department_sla: must be at most a year (P365D)"
    )


@pytest.mark.parametrize("score", [True, 2.5, "3"])
def test_a_survey_score_must_be_a_whole_number(score: Any) -> None:
    assert reason_for(SurveyResponse, {"csat": score}).startswith("csat:")
