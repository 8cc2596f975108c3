"""The acknowledgement a customer gets at once: what it promises, and what it offers a customer
in distress, without saying what triage found."""

from __future__ import annotations

from datetime import UTC, datetime

from workflows import messages

DUE = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


def test_a_routine_acknowledgement_names_the_owner_and_the_answer_date() -> None:
    subject, body = messages.acknowledgement("INQ-1", "agent.ana", DUE)

    assert subject == "We have received your inquiry INQ-1"
    assert "owned by agent.ana" in body and "Thursday 03 December 2026, 17:00 UTC" in body
    assert "You do not need to contact us again" in body


def test_a_customer_in_distress_is_offered_a_call_not_told_to_wait() -> None:
    _, body = messages.acknowledgement("INQ-1", "agent.ana", DUE, distress=True)

    assert "You do not need to contact us again" not in body
    assert "agent.ana or a colleague will call you" in body
    assert "emergency" not in body


def test_at_critical_urgency_it_also_says_where_help_is_now() -> None:
    _, body = messages.acknowledgement("INQ-1", "agent.ana", DUE, distress=True, critical=True)

    assert "will call you" in body and "local emergency number now" in body
    for finding in ("self-harm", "suicid", "distress", "tier"):
        assert finding not in body.lower()
