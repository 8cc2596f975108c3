"""The audit trail in words (workflows/timeline.py): what an operator reads in `status`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from models.activities import AuditEvent
from models.contract import Stage
from workflows.timeline import entry, phrase

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def event(action: str, actor: str = "system", **detail: Any) -> AuditEvent:
    return AuditEvent(
        event_key=f"inquiry-INQ-1:run-1:{7:06d}",
        inquiry_id="INQ-1",
        workflow_id="inquiry-INQ-1",
        at=AT,
        actor=actor,
        action=action,
        stage=Stage.ROUTING,
        detail=detail,
    )


@pytest.mark.parametrize(
    ("audit", "line"),
    [
        (
            event(
                "stage_changed",
                **{"from": "received", "to": "triaged"},
                tier=2,
                urgency="high",
                categories=["billing", "clinical"],
                compliance_flags=["HIPAA"],
                rules_fired=["billing-keywords", "clinical-hipaa"],
            ),
            "triaged: tier 2 · urgency high · billing + clinical · HIPAA "
            "(rules: billing-keywords, clinical-hipaa)",
        ),
        (
            event("stage_changed", **{"from": "drafting", "to": "communicating"}, draft_version=2),
            "stage drafting → communicating (draft v2)",
        ),
        (
            event(
                "stage_changed",
                **{"from": "triaged", "to": "routing"},
                departments=["billing", "legal"],
            ),
            "stage triaged → routing (billing, legal)",
        ),
        (
            event(
                "stage_changed",
                **{"from": "awaiting_compliance", "to": "drafting"},
                reason="reviewer rejected draft v1",
            ),
            "stage awaiting_compliance → drafting: reviewer rejected draft v1",
        ),
        (
            event(
                "owner_assigned",
                owner_id="agent.ana",
                team=None,
                by="agent.zoe",
                reason="holiday cover",
            ),
            "owner now agent.ana: holiday cover",
        ),
        (
            event(
                "department_failed",
                department="legal",
                case_ref=None,
                detail="DepartmentRejected: HTTP 400",
            ),
            "legal failed: DepartmentRejected: HTTP 400",
        ),
        (
            event("department_needs_info", department="clinical", case_ref="CLN-7", detail=None),
            "clinical needs info, case CLN-7",
        ),
        (
            event("compliance_reject", "reviewer.rita", draft_version=1, note="cite the policy"),
            "rejected draft v1: cite the policy",
        ),
        (
            event("draft_written", version=1, checks_passed=False, failures=["an SSN is quoted"]),
            "draft v1 written; automated checks failed: an SSN is quoted",
        ),
        (
            event("escalated", from_tier=2, to_tier=3, reason="compliance SLA breached"),
            "escalated tier 2 → 3: compliance SLA breached",
        ),
        (event("sla_warning", clock="resolution", share=0.75), "resolution SLA 75% used"),
        (
            event("survey_answered", "customer", csat=4, nps=0, ces=None),
            "survey answered: CSAT 4, NPS 0",
        ),
        (
            event("signal_refused", signal="compliance_decision", reason="unknown reviewer"),
            "compliance_decision refused: unknown reviewer",
        ),
        (event("message_sent", kind="sla_warning", audience="staff"), "sla warning sent to staff"),
    ],
)
def test_each_audit_event_reads_as_a_sentence(audit: AuditEvent, line: str) -> None:
    assert phrase(audit) == line


def test_what_the_customer_said_stays_in_the_audit_trail() -> None:
    note = event("note_added", "agent.kai", kind="sentiment", text="Jordan was in tears")
    assert phrase(note) == "sentiment added (text in the audit trail)"
    assert "Jordan" not in phrase(note)


def test_an_action_without_a_phrase_still_reads() -> None:
    assert phrase(event("archived_by_operator")) == "archived by operator"


def test_a_detail_of_an_unexpected_shape_never_breaks_the_entry() -> None:
    # Phrasing runs inside the workflow: an exception there would fail its workflow task.
    odd = entry(event("sla_warning", clock="resolution", share="three quarters"), seq=3)
    assert odd.text == "sla warning"


def test_an_entry_carries_the_audit_events_number_time_and_actor() -> None:
    line = entry(event("sla_breached", clock="compliance"), seq=7)
    assert (line.seq, line.at, line.actor, line.action) == (7, AT, "system", "sla_breached")
    assert line.text == "compliance SLA breached"
