"""The audit trail as a person reads it: one English line per audit event.

Pure: an event in, a line out. The workflow phrases each event as it documents it, so the
`status` query carries the same story the audit trail holds, numbered by the same sequence.
Lines name staff, stages, departments, rules and the reasons staff gave; never what the customer
wrote (a note's text, a survey comment): that stays in the audit trail's detail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.activities import AuditEvent
from models.status import TimelineEntry

Phrase = Callable[[dict[str, Any]], str]


def entry(event: AuditEvent, seq: int) -> TimelineEntry:
    try:
        text = phrase(event)
    except Exception:  # a wording slip must never fail a workflow task
        text = _plain(event.action)
    return TimelineEntry(seq=seq, at=event.at, actor=event.actor, action=event.action, text=text)


def phrase(event: AuditEvent) -> str:
    detail = dict(event.detail)
    if event.action.startswith("department_"):
        return _department(event.action.removeprefix("department_"), detail)
    if event.action.startswith("compliance_"):
        return _review(event.action.removeprefix("compliance_"), detail)
    known = _PHRASES.get(event.action)
    return known(detail) if known else _plain(event.action)


def _plain(action: str) -> str:
    return action.replace("_", " ")


def _stage(d: dict[str, Any]) -> str:
    if d.get("to") == "triaged":
        rules = ", ".join(d.get("rules_fired") or []) or "none"
        return f"triaged: {_facts(d)} (rules: {rules})"
    moved = f"stage {d.get('from')} → {d.get('to')}"
    if d.get("departments"):
        moved += f" ({', '.join(d['departments'])})"
    if "draft_version" in d:
        moved += f" (draft v{d['draft_version']})"
    return f"{moved}: {d['reason']}" if d.get("reason") else moved


def _facts(d: dict[str, Any]) -> str:
    parts = [f"tier {d.get('tier')}", f"urgency {d.get('urgency')}"]
    parts.append(" + ".join(d.get("categories") or []) or "no category")
    parts.append(" + ".join(d.get("compliance_flags") or []) or "no compliance flag")
    return " · ".join(parts)


def _department(status: str, d: dict[str, Any]) -> str:
    line = f"{d.get('department')} {status.replace('_', ' ')}"
    if d.get("case_ref"):
        line += f", case {d['case_ref']}"
    return f"{line}: {d['detail']}" if d.get("detail") else line


def _review(decision: str, d: dict[str, Any]) -> str:
    draft = f"draft v{d.get('draft_version')}"
    line = {
        "approve": f"approved {draft}",
        "reject": f"rejected {draft}",
        "policy_release": f"{draft} released by policy",
    }.get(decision, f"{decision} {draft}")
    return f"{line}: {d['note']}" if d.get("note") else line


def _draft(d: dict[str, Any]) -> str:
    if d.get("checks_passed"):
        return f"draft v{d.get('version')} written; automated checks passed"
    failures = "; ".join(d.get("failures") or [])
    return f"draft v{d.get('version')} written; automated checks failed: {failures}"


def _owner(d: dict[str, Any]) -> str:
    team = f" ({d['team']})" if d.get("team") else ""
    return f"owner now {d.get('owner_id')}{team}: {d.get('reason')}"


def _scores(d: dict[str, Any]) -> str:
    given = [f"{k.upper()} {d[k]}" for k in ("csat", "nps", "ces") if d.get(k) is not None]
    return "survey answered: " + (", ".join(given) or "no scores")


def _because(what: str, key: str = "reason") -> Phrase:
    return lambda d: f"{what}: {d[key]}" if d.get(key) else what


_PHRASES: dict[str, Phrase] = {
    "inquiry_received": lambda d: f"inquiry received by {d.get('channel')}",
    "stage_changed": _stage,
    "owner_assigned": _owner,
    "draft_written": _draft,
    "signal_refused": lambda d: f"{d.get('signal')} refused: {d.get('reason')}",
    "action_unverified": lambda d: f"{d.get('signal')} accepted unverified: no signed assertion",
    "message_sent": lambda d: f"{str(d.get('kind')).replace('_', ' ')} sent to {d.get('audience')}",
    "resolution_communicated": lambda d: f"resolution communicated ({d.get('message_key')})",
    "resolution_undelivered": lambda d: "resolution not delivered: the channel refused it",
    "delivery_failed": lambda d: (
        f"{str(d.get('kind')).replace('_', ' ')} to {d.get('audience')} refused by the channel "
        f"({d.get('cause')})"
    ),
    "assignment_held": lambda d: (
        f"no owner yet: team {d.get('team')} has nobody eligible; its manager is told and "
        "the roster is asked again"
    ),
    "release_by_policy_declined": lambda d: (
        f"draft v{d.get('draft_version')} held for a reviewer: " + "; ".join(d.get("reasons") or [])
    ),
    "escalation_requested": _because("escalation asked for"),
    "escalated": lambda d: (
        f"escalated tier {d.get('from_tier')} → {d.get('to_tier')}: {d.get('reason')}"
    ),
    "escalation_incomplete": _because("tier raised, but the escalation contacts failed"),
    "escalation_skipped": _because("escalation skipped"),
    "request_failed": lambda d: f"{d.get('request')} could not be sent ({d.get('cause')})",
    "sla_warning": lambda d: f"{d.get('clock')} SLA {float(d.get('share') or 0):.0%} used",
    "sla_breached": lambda d: f"{d.get('clock')} SLA breached",
    "survey_answered": _scores,
    "survey_window_closed": lambda d: "survey window closed without an answer",
    "service_recovery_opened": lambda d: (
        "service recovery opened: " + "; ".join(d.get("alerts") or [])
    ),
    "recovery_escalated": lambda d: (
        "service recovery unresolved past its deadline at tier 3 ("
        + "; ".join(d.get("alerts") or [])
        + "): the manager and the tier 3 contacts are asked for a decision"
    ),
    "contacts_unavailable": lambda d: (
        f"escalation contacts failed ({d.get('reason')}): "
        f"{str(d.get('notice')).replace('_', ' ')} sent to the owner only"
    ),
    "recovery_closed": _because("service recovery closed", "note"),
    "reopen_requested": _because("reopen asked for"),
    "reopened": lambda d: f"reopened: round {d.get('round')}, new department cases",
    "withdrawal_requested": _because("withdrawal asked for"),
    "note_added": lambda d: f"{d.get('kind') or 'note'} added (text in the audit trail)",
}
