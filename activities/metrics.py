"""Inquiry metrics, derived from the audit events as they are stored: one place, so a counter
moves exactly when the audit trail gains an event.

Counted by `record_events` after its transaction commits, from the events stored for the first
time: a retried write, a workflow task run again after a failed completion, or a replay stores
nothing new and counts nothing. (Counted in the workflow instead, a task retried after its
completion was refused counts twice.) A worker that dies between the commit and the count loses
those counts: metrics may undercount, never overcount.

Labels are stage, signal and clock names only: never an inquiry id, an owner or anything from
the intake.
"""

from __future__ import annotations

from collections.abc import Iterable

from temporalio import activity

from models.activities import AuditEvent

STARTED = "inquiries_started"
TRANSITIONS = "inquiry_stage_transitions"
BREACHES = "inquiry_sla_breaches"
REFUSED = "inquiry_signals_refused"


def count(events: Iterable[AuditEvent]) -> None:
    meter = activity.metric_meter()
    for event in events:
        if event.action == "inquiry_received":
            meter.create_counter(STARTED, "inquiries started").add(1)
        elif event.action == "stage_changed":
            meter.create_counter(TRANSITIONS, "stage transitions, by stage entered").add(
                1, {"stage": str(event.detail.get("to"))}
            )
        elif event.action == "sla_breached":
            meter.create_counter(BREACHES, "SLA breaches, by clock").add(
                1, {"clock": str(event.detail.get("clock"))}
            )
        elif event.action == "signal_refused":
            meter.create_counter(REFUSED, "refused signals, by signal").add(
                1, {"signal": str(event.detail.get("signal"))}
            )
