"""The command line for intake systems, reviewers and operators of regulated inquiries.

    python starter.py start examples/intake.json          start an inquiry (or - for stdin)
    python starter.py status DEMO-1                       where it stands
    python starter.py decide DEMO-1 --reviewer reviewer.rita --approve
    python starter.py record-survey DEMO-1 --csat 4       a survey answer after closing

Every command takes the inquiry id the intake system gave (not the workflow id). Payloads are
checked against the contract before anything is sent, so a mistake is named here and nothing
is half-sent. Connection settings: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS_* (Temporal's environment configuration); INQUIRY_TASK_QUEUE. `record-survey`
talks to the store instead, at DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

import clients
from activities.db import make_engine, migrate
from activities.roster import load_roster
from activities.surveys import SurveyNotRecorded, record_late_survey
from activities.triage import ConfigError, evaluate, load_rules
from encryption import EncryptionCodec, KeyConfigError
from encryption.erasure import StillOpen, erase_customer
from models.activities import TriageResult
from models.contract import (
    SIGNAL_PAYLOADS,
    ComplianceFlag,
    InquiryIntake,
    InquiryStatus,
    Stage,
    SurveyResponse,
    workflow_id_for,
)
from models.settings import Settings
from workflows import views, visibility
from workflows.intake import describe

WORKFLOW_TYPE = "RegulatedInquiry"


class CommandError(Exception):
    """A mistake the user can fix; printed as one line, exit status 2."""


# --- commands -------------------------------------------------------------------------------


async def start(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    raw = sys.stdin.read() if args.file == "-" else _read(Path(args.file))
    intake = _validate(InquiryIntake, _json(raw, args.file))
    workflow_id = intake.workflow_id
    summary, details = views.start_metadata(intake, _triage_at_intake(intake))
    try:
        handle = await client.start_workflow(
            WORKFLOW_TYPE,
            intake,
            id=workflow_id,
            task_queue=Settings().task_queue,
            # Never a second run for one inquiry id, even after the first has closed.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=summary,
            static_details=details or None,
        )
    except WorkflowAlreadyStartedError:
        existing = await client.get_workflow_handle(workflow_id).describe()
        state = existing.status.name.lower() if existing.status else "unknown"
        _emit(
            out,
            {
                "workflow_id": workflow_id,
                "run_id": existing.run_id,
                "created": False,
                "message": f"inquiry {intake.inquiry_id} already exists ({state})",
            },
        )
        return
    _emit(out, {"workflow_id": workflow_id, "run_id": handle.result_run_id, "created": True})


def _triage_at_intake(intake: InquiryIntake) -> TriageResult | None:
    """Triage by the rules file at TRIAGE_RULES_PATH (the worker's, where both share a
    configuration), for the UI's static summary only. Unreadable rules cost the summary its
    detail, never the start."""
    try:
        return evaluate(load_rules(Settings().triage_rules_path), intake)
    except ConfigError:
        return None


async def status(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    if args.last < 0:
        raise CommandError("--last takes a number of timeline entries: 0 (all) or more")
    handle = client.get_workflow_handle(workflow_id_for(args.inquiry_id))
    current = await handle.query("status", result_type=InquiryStatus)
    if args.json:
        out.write(current.model_dump_json(indent=2) + "\n")
        return
    description = await handle.describe()
    lines = [
        f"inquiry      {current.inquiry_id}  ({_run_state(description.status)})",
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
    out.write("\n".join(lines) + "\n")


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
                "status": _run_state(execution.status),
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


def signal_command(name: str, build: Callable[[argparse.Namespace], dict[str, Any]]) -> Any:
    async def send(client: Client, args: argparse.Namespace, out: TextIO) -> None:
        payload = _validate(SIGNAL_PAYLOADS[name], build(args))
        handle = client.get_workflow_handle(workflow_id_for(args.inquiry_id))
        await handle.signal(name, payload.model_dump(mode="json", exclude_none=True))
        _emit(
            out,
            {
                "workflow_id": handle.id,
                "signal": name,
                "sent": True,
                "note": "see `status` for whether the workflow accepted it",
            },
        )

    return send


EXAMPLES = {"healthcare": "intake.json", "legal": "intake-2.json"}


def sample(client: Client | None, args: argparse.Namespace, out: TextIO) -> None:
    """An example intake received now: SLA clocks run from `received_at`, and a fixed date
    in the past would start them already breached."""
    example = json.loads(_read(Path(__file__).parent / "examples" / EXAMPLES[args.example]))
    example["received_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
    if args.inquiry_id:
        example["inquiry_id"] = args.inquiry_id
    out.write(json.dumps(example, indent=2) + "\n")


def record_survey(client: Client | None, args: argparse.Namespace, out: TextIO) -> None:
    """A survey answer that arrives after the inquiry closed: straight to the store."""
    scores = _drop_none(csat=args.csat, nps=args.nps, ces=args.ces, comment=args.comment)
    response = _validate(SurveyResponse, scores)
    engine = make_engine(Settings().database_url)
    try:
        migrate(engine)
        with Session(engine) as session:
            answer = record_late_survey(
                session=session,
                inquiry_id=args.inquiry_id,
                csat=response.csat,
                nps=response.nps,
                ces=response.ces,
                comment=response.comment,
                now=datetime.now(UTC),
            )
            session.commit()
    except SurveyNotRecorded as err:
        raise CommandError(str(err)) from None
    except SQLAlchemyError as err:
        # The driver's text may quote the URL or the statement's values.
        raise CommandError(
            f"the store at DATABASE_URL failed ({type(err).__name__}); is it reachable?"
        ) from None
    finally:
        engine.dispose()
    _emit(
        out,
        {
            "inquiry_id": answer.inquiry_id,
            "survey_ref": answer.survey_ref,
            "recorded": True,
            "late": answer.late,
            **_drop_none(csat=answer.csat, nps=answer.nps, ces=answer.ces),
        },
    )


# --- plumbing -------------------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise CommandError(f"cannot read {path}: {err.strerror}") from None


def _json(raw: str, source: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise CommandError(
            f"{source} is not valid JSON (line {err.lineno}, column {err.colno})"
        ) from None


def _validate(model: type[BaseModel], value: Any) -> Any:
    if not isinstance(value, dict):
        raise CommandError(f"expected a JSON object for {model.__name__}")
    try:
        return model.model_validate(value)
    except ValidationError as err:
        raise CommandError(f"invalid {model.__name__}: {describe(err)}") from None


async def erase(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    """Erase a customer: destroy their inquiries' data keys and scrub the store (see
    encryption/erasure.py). Only an operator of the roster may."""
    settings = Settings()
    if args.by not in {op.id for op in load_roster(settings.roster_path).operators}:
        raise CommandError(f"--by must name an operator of the roster ({settings.roster_path})")
    codec = client.data_converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        raise CommandError("this client does not encrypt: connect with clients.connect")

    async def running(workflow_ids: list[str]) -> list[str]:
        open_ = []
        for workflow_id in workflow_ids:
            try:
                described = await client.get_workflow_handle(workflow_id).describe()
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:  # past retention: nothing runs
                    continue
                raise
            if described.status == WorkflowExecutionStatus.RUNNING:
                open_.append(workflow_id)
        return open_

    try:
        report = await erase_customer(
            codec.keys, args.customer, by=args.by, now=datetime.now(UTC), running=running
        )
    except StillOpen as err:
        raise CommandError(str(err)) from None
    _emit(out, report.model_dump())


def _emit(out: TextIO, value: dict[str, Any]) -> None:
    out.write(json.dumps(value) + "\n")


def _run_state(value: WorkflowExecutionStatus | None) -> str:
    return value.name.lower() if value else "unknown"


def _drop_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="starter.py",
        description=__doc__,
        epilog="Run `starter.py COMMAND --help` for each command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, help_text: str, run: Any, *, inquiry: bool = True
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if inquiry:
            sub.add_argument("inquiry_id", help="the intake system's inquiry id, e.g. DEMO-1")
        sub.set_defaults(run=run)
        return sub

    sub = add(
        "start",
        "start an inquiry from an InquiryIntake JSON file (idempotent)",
        start,
        inquiry=False,
    )
    sub.add_argument("file", help="path to the JSON file, or - to read standard input")
    sub = add("list", "list inquiries by stage, tier, owner, flag or breach", list_inquiries,
              inquiry=False)  # fmt: skip
    sub.add_argument("--stage", choices=[stage.value for stage in Stage])
    sub.add_argument("--tier", type=int, choices=[1, 2, 3])
    sub.add_argument("--owner", help="staff id")
    sub.add_argument("--flag", choices=[flag.value for flag in ComplianceFlag])
    sub.add_argument(
        "--breached",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="only inquiries with (--breached) or without (--no-breached) a breach",
    )
    sub.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub = add("status", "show where an inquiry stands", status)
    sub.add_argument("--json", action="store_true", help="print the full status query as JSON")
    sub.add_argument(
        "--last",
        type=int,
        default=0,
        metavar="N",
        help="show only the last N timeline entries (default: all)",
    )
    sub = add("sample", "print an example intake, received now", sample, inquiry=False)
    sub.add_argument(
        "--example",
        choices=sorted(EXAMPLES),
        default="healthcare",
        help="healthcare (tier 2, HIPAA) or legal (tier 3, privileged)",
    )
    sub.add_argument("--inquiry-id", help="use this inquiry id instead of the example's")

    sub = add(
        "decide",
        "a reviewer approves or rejects the draft at the compliance checkpoint",
        signal_command(
            "compliance_decision",
            lambda a: _drop_none(
                reviewer_id=a.reviewer, decision="approve" if a.approve else "reject", note=a.note
            ),
        ),
    )
    sub.add_argument("--reviewer", required=True, help="reviewer id from the roster")
    verdict = sub.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--approve", action="store_true", help="release the draft")
    verdict.add_argument("--reject", action="store_true", help="send it back (needs --note)")
    sub.add_argument("--note", help="why; required with --reject")

    sub = add(
        "revise",
        "the owner submits or revises the draft resolution",
        signal_command(
            "revise_response",
            lambda a: {
                "author_id": a.author,
                "text": _read(Path(a.text_file)) if a.text_file else a.text,
            },
        ),
    )
    sub.add_argument("--author", required=True, help="the owner's id")
    text = sub.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="the new draft")
    text.add_argument("--text-file", help="read the new draft from a file")

    for name, signal, effect in (
        ("escalate", "escalate", "raise the inquiry one tier (at most 3)"),
        ("withdraw", "withdraw", "the customer withdraws the inquiry; it ends cleanly"),
        ("reopen", "reopen", "during follow-up: the matter is not resolved; back to routing"),
    ):
        sub = add(name, effect, signal_command(signal, lambda a: {"by": a.by, "reason": a.reason}))
        sub.add_argument("--by", required=True, help="who asks (staff id)")
        sub.add_argument("--reason", required=True, help="why, for the audit trail")

    sub = add(
        "reassign",
        "move ownership to someone else; the history of owners is kept",
        signal_command(
            "reassign_owner", lambda a: {"owner_id": a.owner, "by": a.by, "reason": a.reason}
        ),
    )
    sub.add_argument("--owner", required=True, help="the new owner's id")
    sub.add_argument("--by", required=True, help="who reassigns (staff id)")
    sub.add_argument("--reason", required=True, help="why, for the audit trail")

    sub = add(
        "close-recovery",
        "the owner closes a service-recovery step (opened by poor survey scores) with a note",
        signal_command("close_recovery", lambda a: {"by": a.by, "note": a.note}),
    )
    sub.add_argument("--by", required=True, help="the owner's id")
    sub.add_argument("--note", required=True, help="what was done for the customer")

    sub = add(
        "note",
        "document what the customer said or felt",
        signal_command(
            "add_note", lambda a: {"author_id": a.author, "text": a.text, "kind": a.kind}
        ),
    )
    sub.add_argument("--author", required=True)
    sub.add_argument("--text", required=True)
    sub.add_argument("--kind", choices=["note", "sentiment"], default="note")

    sub = add(
        "department-result",
        "report a department's result on a case it was sent",
        signal_command(
            "department_result",
            lambda a: _drop_none(
                department=a.department, case_ref=a.case_ref, status=a.status, summary=a.summary
            ),
        ),
    )
    sub.add_argument("--department", required=True, choices=["billing", "clinical", "legal"])
    sub.add_argument("--case-ref", required=True)
    sub.add_argument("--status", required=True, choices=["completed", "failed", "needs_info"])
    sub.add_argument("--summary")

    sub = add(
        "survey",
        "record the customer's follow-up survey answer",
        signal_command(
            "survey_response",
            lambda a: _drop_none(csat=a.csat, nps=a.nps, ces=a.ces, comment=a.comment),
        ),
    )
    sub.add_argument("--csat", type=int, help="1-5")
    sub.add_argument("--nps", type=int, help="0-10")
    sub.add_argument("--ces", type=int, help="1-7")
    sub.add_argument("--comment")

    sub = add(
        "record-survey",
        "record a survey answer that arrived after the inquiry closed (writes to the store)",
        record_survey,
    )
    sub.add_argument("--csat", type=int, help="1-5")
    sub.add_argument("--nps", type=int, help="0-10")
    sub.add_argument("--ces", type=int, help="1-7")
    sub.add_argument("--comment")

    sub = add(
        "erase",
        "erase a customer: their closed inquiries become unreadable everywhere (crypto-shredding)"
        " and the store keeps only facts under a pseudonym",
        erase,
        inquiry=False,
    )
    sub.add_argument("--customer", required=True, help="the customer_id of their intakes")
    sub.add_argument("--by", required=True, help="the operator's staff id (roster operators)")
    return top


async def main(
    argv: Sequence[str] | None = None, client: Client | None = None, out: TextIO = sys.stdout
) -> int:
    args = parser().parse_args(argv)
    try:
        if args.run in (sample, record_survey):
            args.run(None, args, out)
            return 0
        if client is not None:
            await args.run(client, args, out)
        else:
            async with clients.data_keys(Settings()) as keys:
                await args.run(await clients.connect(keys), args, out)
    except (CommandError, KeyConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except RPCError as err:
        print(f"error: {_rpc_message(err, args)}", file=sys.stderr)
        return 1
    return 0


def _rpc_message(err: RPCError, args: argparse.Namespace) -> str:
    inquiry = getattr(args, "inquiry_id", None)
    if err.status == RPCStatusCode.NOT_FOUND:
        if "already completed" in err.message or "closed" in err.message:
            if args.command == "survey":
                return (
                    f"inquiry {inquiry} is closed; it takes no more signals: "
                    f"use `starter.py record-survey {inquiry}` with the same scores"
                )
            return f"inquiry {inquiry} is closed; it takes no more signals"
        return f"no inquiry {inquiry} (workflow {workflow_id_for(inquiry or '')} not found)"
    if err.status == RPCStatusCode.UNAVAILABLE:
        return "cannot reach Temporal: is the server running? (TEMPORAL_ADDRESS)"
    return f"Temporal refused the request: {err.message}"


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
