"""Views of a case for outside readers: the `status` query, the read model's row, the outcome.

Pure functions of the case; they decide nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from models.activities import InquirySnapshot, TriageResult
from models.contract import Channel, ComplianceFlag, Department, InquiryIntake, Sector, Stage
from models.status import Draft, InquiryOutcome, InquiryStatus
from workflows import checkpoint
from workflows.case import Case
from workflows.policies import SYSTEM
from workflows.signals import REVIEW_ROLES, roles_needed


def status(case: Case, now: datetime) -> InquiryStatus:
    t = case.triage
    return InquiryStatus(
        inquiry_id=case.intake.inquiry_id,
        sector=case.intake.sector,
        channel=case.intake.channel,
        stage=case.stage,
        tier=case.tier,
        urgency=t.urgency if t else None,
        categories=t.categories if t else [],
        compliance_flags=t.compliance_flags if t else [],
        distress=t.distress if t else False,
        rules_fired=t.rules_fired if t else [],
        owner=case.owner,
        owner_history=case.owner_history,
        departments=case.departments,
        draft=case.draft,
        compliance=case.reviews,
        release_by_policy=case.release_decision,
        deadlines=case.deadlines(now),
        sla_breaches=case.sla.breaches,
        survey=case.survey,
        refused_signals=case.refused,
        refused_omitted=case.refused_omitted,
        unverified_actions=case.unverified,
        unverified_omitted=case.unverified_omitted,
        notes=case.notes,
        timeline=case.timeline,
        timeline_omitted=case.timeline_omitted,
        undocumented_events=len(case.pending),
        resolution_ref=case.resolution_ref,
        received_at=case.intake.received_at,
        updated_at=now,
    )


def snapshot(case: Case, now: datetime) -> InquirySnapshot:
    t = case.triage
    return InquirySnapshot(
        inquiry_id=case.intake.inquiry_id,
        workflow_id=case.workflow_id,
        version=case.seq,
        sector=case.intake.sector,
        stage=case.stage,
        tier=case.tier,
        urgency=t.urgency if t else None,
        categories=t.categories if t else [],
        compliance_flags=t.compliance_flags if t else [],
        owner=case.owner,
        sla_breached=bool(case.sla.breaches),
        received_at=case.intake.received_at,
        updated_at=now,
        closed_at=case.closed_at,
        resolution_ref=case.resolution_ref,
    )


def outcome(case: Case) -> InquiryOutcome:
    t = case.triage
    approvers = [r.reviewer_id for r in case.reviews if r.decision == "approve"]
    communicated = case.stage_since.get(Stage.COMMUNICATING)
    return InquiryOutcome(
        inquiry_id=case.intake.inquiry_id,
        stage=case.stage,
        owner=case.owner,
        owner_history=case.owner_history,
        tier=case.tier,
        urgency=t.urgency if t else None,
        categories=t.categories if t else [],
        compliance_flags=t.compliance_flags if t else [],
        departments=case.departments,
        resolution_ref=case.resolution_ref,
        approved_by=approvers,
        release="policy" if case.released_by_policy else ("reviewer" if approvers else None),
        received_at=case.intake.received_at,
        triaged_at=case.stage_since.get(Stage.TRIAGED),
        communicated_at=communicated if case.resolution_ref else None,
        closed_at=case.closed_at or case.intake.received_at,
        survey=case.survey,
        sla_breaches=case.sla.breaches,
        reopens=case.round,
        escalations=case.escalations,
        first_contact_resolution=first_contact_resolution(case),
    )


def first_contact_resolution(case: Case) -> bool:
    """Resolved with no reopen, no escalation and no round of waiting on the customer."""
    quiet = case.round == 0 and case.escalations == 0 and case.needs_info_rounds == 0
    return case.resolution_ref is not None and not case.withdrawn and quiet


def summary_line(
    *,
    sector: Sector,
    channel: Channel,
    tier: int | None,
    categories: Sequence[Department],
    flags: Sequence[ComplianceFlag],
) -> str:
    """What an inquiry is, in one line and without personal data, for the Temporal UI:
    "Tier 2 · billing + clinical · HIPAA · healthcare/portal"."""
    parts = [f"Tier {tier}" if tier is not None else "Awaiting triage"]
    if categories:
        parts.append(" + ".join(c.value for c in categories))
    if flags:
        parts.append(" + ".join(f.value for f in flags))
    parts.append(f"{sector.value}/{channel.value}")
    return " · ".join(parts)


def start_metadata(intake: InquiryIntake, triage: TriageResult | None) -> tuple[str, str]:
    """The UI's static summary and details for a starting inquiry, from triage by the rules the
    starter read (None: it could not read them); the worker's own triage decides, and later
    changes show in current details. Distress is left out: it says something about a person."""
    if triage is None:
        return f"Inquiry {intake.inquiry_id} · {intake.sector.value}/{intake.channel.value}", ""
    summary = summary_line(
        sector=intake.sector,
        channel=intake.channel,
        tier=triage.tier,
        categories=triage.categories,
        flags=triage.compliance_flags,
    )
    received = intake.received_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # No rule ids: some say how the customer feels (distress, bereavement); `status` has them.
    details = [
        f"**Inquiry** {intake.inquiry_id}, received {received} by {intake.channel.value}",
        f"**Triage at intake** tier {triage.tier} · urgency {triage.urgency.value}",
        "Why: the rules that fired are in the `status` query.",
        "Stage, owner, departments and SLA clocks as they stand now: *Current Details*. "
        "Everything else: the `status` query.",
    ]
    return summary, "\n\n".join(details)


def current_details(case: Case, now: datetime) -> str:
    """What the Temporal UI shows as the run's current details (Temporal markdown): what it is
    now (tier after escalations), stage, owner, departments, the review, running clocks. Staff
    ids and states only: no personal data."""
    t = case.triage
    summary = summary_line(
        sector=case.intake.sector,
        channel=case.intake.channel,
        tier=case.tier,
        categories=t.categories if t else [],
        flags=t.compliance_flags if t else [],
    )
    owner = case.owner or "-"
    lines = [
        f"**{summary}**",
        f"**Stage** {case.stage.value} · **Owner** {owner}",
    ]
    if case.departments:
        states = " · ".join(f"{d.value}: {s.status}" for d, s in sorted(case.departments.items()))
        lines.append(f"**Departments** {states}")
    if case.stage == Stage.AWAITING_COMPLIANCE and case.draft is not None:
        lines.append(_review(case, case.draft))
    for deadline in case.deadlines(now):
        if deadline.state in ("running", "paused") and deadline.due_at is not None:
            due = deadline.due_at.strftime("%Y-%m-%d %H:%M UTC")
            lines.append(f"**SLA** {deadline.name} {deadline.state}, due {due}")
        elif deadline.state == "paused":
            lines.append(f"**SLA** {deadline.name} paused (waiting on the customer)")
    if case.sla.breaches:
        lines.append(f"**Breached** {', '.join(case.sla.breaches)}")
    return "\n\n".join(lines)


def _review(case: Case, draft: Draft) -> str:
    """Where the checkpoint stands and whom it waits for: the approvals so far, and how many
    more from which kind of reviewer (never the owner or the draft's author)."""
    approvers = [r.reviewer_id for r in checkpoint.approvals(case, draft.version)]
    needed = checkpoint.approvals_required(case)
    given = f" ({', '.join(approvers)})" if approvers else ""
    line = f"**Review** draft v{draft.version}: {len(approvers)} of {needed} approvals{given}"
    missing = needed - len(approvers)
    if missing > 0:
        role = " and ".join(roles_needed(case)) or " or ".join(sorted(REVIEW_ROLES))
        barred = [
            who for who in dict.fromkeys((case.owner, draft.author_id)) if who not in (None, SYSTEM)
        ]
        line += f"; waiting for {missing} more, {role}, not {' or '.join(barred) or 'the owner'}"
    return line
