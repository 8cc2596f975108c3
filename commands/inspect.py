"""Looking: `status` of one inquiry and `list` by stage, tier, owner, flag or breach."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)

from commands.common import (
    CommandError,
    run_state,
)
from models.contract import workflow_id_for
from models.status import InquiryStatus
from workflows import visibility


async def status(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    if args.last < 0:
        raise CommandError("--last takes a number of timeline entries: 0 (all) or more")
    handle, description, refused_later = await inquiry_run(client, args.inquiry_id)
    current = await handle.query("status", result_type=InquiryStatus)
    if args.json:
        out.write(current.model_dump_json(indent=2) + "\n")
        return
    lines = [
        f"inquiry      {current.inquiry_id}  ({run_state(description.status)})",
        f"stage        {current.stage}",
        f"tier         {current.tier}   urgency {current.urgency}   distress {current.distress}",
        f"categories   {', '.join(current.categories) or '-'}",
        f"flags        {', '.join(current.compliance_flags) or '-'}",
        f"owner        {current.owner or '-'}",
    ]
    for name, dept in current.departments.items():
        lines.append(f"department   {name}: {dept.status} {dept.case_ref or ''}".rstrip())
    if current.draft:
        checks = (
            "passed"
            if current.draft.checks_passed
            else "failed: " + "; ".join(current.draft.check_failures)
        )
        lines.append(
            f"draft        v{current.draft.version} by {current.draft.author_id}, checks {checks}"
        )
    for review in current.compliance:
        lines.append(
            f"review       {review.reviewer_id}: {review.decision} (draft v{review.draft_version})"
        )
    for clock in current.deadlines:
        due = clock.due_at.isoformat() if clock.due_at else "-"
        share = f"{clock.elapsed_share:.0%} used" if clock.elapsed_share is not None else ""
        if clock.as_of and clock.elapsed_share is not None:
            share += f" as of {clock.as_of:%Y-%m-%d %H:%M}"
        kind = "business time" if clock.business_time else "wall time"
        lines.append(f"sla          {clock.name}: {clock.state}, due {due}, {share} ({kind})")
    if current.sla_breaches:
        lines.append(f"breached     {', '.join(current.sla_breaches)}")
    if current.survey and current.survey.sent_at:
        answer = current.survey
        scores = f"csat {answer.csat} nps {answer.nps} ces {answer.ces}"
        got = scores if answer.answered_at else "no answer yet"
        lines.append(f"survey       sent {answer.sent_at.isoformat()}, {got}")
        if answer.recovery_due_at and not answer.recovery_closed_by:
            lines.append(f"recovery     open: reopen or close-recovery by {answer.recovery_due_at}")
    for refused in current.refused_signals:
        lines.append(f"refused      {refused.signal}: {refused.reason}")
    if current.timeline:
        lines.append("timeline")
        if current.timeline_omitted and not args.last:
            lines.append(f"  ({current.timeline_omitted} earlier events: see the audit trail)")
        lines += [
            f"  {e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<20} {e.text}"
            for e in current.timeline[-args.last :]
        ]
    if refused_later:
        lines.append(
            "note         a later start of this inquiry id was refused; this is the inquiry"
        )
    out.write("\n".join(lines) + "\n")


async def inquiry_run(
    client: Client, inquiry_id: str
) -> tuple[WorkflowHandle[Any, Any], WorkflowExecutionDescription, bool]:
    """The inquiry's own run, and whether a later run was refused. A raw client may start an
    inquiry id again once its run has closed; that run fails at once (InquiryAlreadyExists)
    and is then the id's latest run, which would hide the inquiry's own outcome."""
    workflow_id = workflow_id_for(inquiry_id)
    handle = client.get_workflow_handle(workflow_id)
    description = await handle.describe()
    if description.status != WorkflowExecutionStatus.FAILED:
        return handle, description, False
    runs = [run async for run in client.list_workflows(f'WorkflowId = "{workflow_id}"')]
    first = min(runs, key=lambda run: run.start_time, default=None)
    if first is None or first.run_id == description.run_id:
        return handle, description, False
    handle = client.get_workflow_handle(workflow_id, run_id=first.run_id)
    return handle, await handle.describe(), True


async def list_inquiries(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    query = visibility.list_query(
        stage=args.stage, tier=args.tier, owner=args.owner, flag=args.flag, breached=args.breached
    )
    rows: list[dict[str, Any]] = []
    async for execution in client.list_workflows(query, limit=args.limit):
        found = execution.typed_search_attributes
        rows.append(
            {
                "inquiry_id": execution.id.removeprefix("inquiry-"),
                "stage": found.get(visibility.STAGE),
                "tier": found.get(visibility.TIER),
                "urgency": found.get(visibility.URGENCY),
                "owner": found.get(visibility.OWNER),
                "flags": list(found.get(visibility.FLAGS) or []),
                "sla_breached": bool(found.get(visibility.SLA_BREACHED)),
                "status": run_state(execution.status),
                "started": execution.start_time.isoformat(),
            }
        )
    if args.json:
        out.write(json.dumps({"query": query, "inquiries": rows}, indent=2) + "\n")
        return
    out.write(f"# {query}\n")
    header = f"{'INQUIRY':<24} {'STAGE':<20} {'TIER':<4} {'OWNER':<18} {'BREACHED':<8} FLAGS"
    out.write(header + "\n")
    for row in rows:
        out.write(
            f"{row['inquiry_id']:<24} {row['stage'] or '-':<20} {row['tier'] or '-'!s:<4} "
            f"{row['owner'] or '-':<18} {'yes' if row['sla_breached'] else 'no':<8} "
            f"{','.join(row['flags']) or '-'}\n"
        )
    out.write(f"({len(rows)} {'inquiry' if len(rows) == 1 else 'inquiries'})\n")
