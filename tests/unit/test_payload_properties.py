"""Property-based: whatever JSON a caller sends as an intake or an action, at the workflow's edge
(workflows/intake.decode_one) and at the starter's (commands.common.validate), the answer is the
contract model or a refusal that names fields and rules, never a crash and never a value sent."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from commands.common import CommandError, validate
from models.contract import SIGNAL_PAYLOADS, InquiryIntake
from tests import support
from workflows.intake import PayloadError, decode_one

MODELS: list[type[BaseModel]] = [InquiryIntake, *SIGNAL_PAYLOADS.values()]
MARK = "Zqx"  # every string a caller writes here starts with it: it must never come back

# A caller's own words: no field name or rule word could contain them by chance.
words = st.text(min_size=1, max_size=12).map(lambda text: MARK + text)
leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | words
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(words, inner, max_size=4),
    max_leaves=12,
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def answers(model: type[BaseModel], value: Any) -> str | None:
    """None if `value` decodes at both edges; else the refusal, the same at both."""
    try:
        decoded = decode_one(model, [value])
    except PayloadError as err:
        with pytest.raises(CommandError):
            validate(model, value)
        return str(err)
    assert isinstance(decoded, model)
    assert isinstance(validate(model, value), model)
    return None


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@PROPERTY
@given(value=json_values)
def test_any_json_is_the_model_or_a_refusal_that_quotes_nothing(
    model: type[BaseModel], value: Any
) -> None:
    reason = answers(model, value)

    assert reason is None or MARK not in reason


def valid(model: type[BaseModel]) -> dict[str, Any]:
    examples: dict[str, dict[str, Any]] = {
        "InquiryIntake": support.intake("INQ-P"),
        "ComplianceDecision": {"reviewer_id": "reviewer.rita", "decision": "approve"},
        "DepartmentResult": {"department": "billing", "case_ref": "B-1", "status": "completed"},
        "ReviseResponse": {"author_id": "agent.ana", "text": "We refunded it."},
        "ReassignOwner": {"owner_id": "agent.ben", "by": "agent.zoe", "reason": "leave"},
        "Escalate": {"by": "agent.ana", "reason": "chased"},
        "SurveyResponse": {"csat": 4},
        "Reopen": {"by": "agent.ana", "reason": "not resolved"},
        "Withdraw": {"by": "agent.ana", "reason": "asked"},
        "AddNote": {"author_id": "agent.ana", "text": "rang back"},
        "CloseRecovery": {"by": "agent.ana", "note": "refunded"},
    }
    return dict(examples[model.__name__])


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@PROPERTY
@given(data=st.data())
def test_one_field_changed_to_anything_is_the_model_or_a_refusal_naming_it(
    model: type[BaseModel], data: st.DataObject
) -> None:
    payload = valid(model)
    assert answers(model, payload) is None
    field = data.draw(st.sampled_from(sorted(payload)), label="field")
    payload[field] = data.draw(json_values, label="value")

    reason = answers(model, payload)

    assert reason is None or MARK not in reason
    if reason is not None:
        assert field in reason
