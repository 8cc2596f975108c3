"""The command line for intake systems, reviewers and operators.

    python starter.py start examples/intake.json          start an inquiry (or - for stdin)
    python starter.py status DEMO-1                       where it stands
    python starter.py decide DEMO-1 --reviewer reviewer.rita --approve
    python starter.py record-survey DEMO-1 --csat 4       a survey answer after closing
    python starter.py erase --customer C-1 --by operator.oona   erase a customer
    python starter.py audit verify                        check every audit chain

Every command takes the inquiry id the intake system gave (not the workflow id). Payloads are
checked against the contract before anything is sent, so a mistake is named here and nothing
is half-sent. Connection settings: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS_* (Temporal's environment configuration); INQUIRY_TASK_QUEUE; payloads are
encrypted with the master keys (INQUIRY_MASTER_KEYS[_FILE]) and data keys at DATABASE_URL, the
store that `record-survey` and `erase` also work on.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

import clients
from commands import audit
from commands.actions import signal_command
from commands.common import ActionRefused, CommandError, drop_none, read_text
from commands.inspect import list_inquiries, status
from commands.intake import EXAMPLES, sample, start
from commands.records import erase, purge, record_survey
from commands.signing import add_signing_options, sign
from encryption import KeyConfigError
from models.contract import SIGNAL_PAYLOADS, ComplianceFlag, Stage, workflow_id_for
from models.settings import Settings


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
        if getattr(run, "signs", False):
            add_signing_options(sub)
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
            lambda a: drop_none(
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
                "text": read_text(Path(a.text_file)) if a.text_file else a.text,
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
            lambda a: drop_none(
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
            lambda a: drop_none(
                survey_ref=a.survey_ref, csat=a.csat, nps=a.nps, ces=a.ces, comment=a.comment
            ),
        ),
    )
    sub.add_argument(
        "--survey-ref", help="the survey message's reference (default: found in the outbox)"
    )
    sub.add_argument("--csat", type=int, help="1-5")
    sub.add_argument("--nps", type=int, help="0-10")
    sub.add_argument("--ces", type=int, help="1-7")
    sub.add_argument("--comment")

    sub = add(
        "sign",
        "print an action's payload with its signed assertion, for the raw temporal CLI",
        sign,
        inquiry=False,
    )
    sub.add_argument("action", choices=sorted(SIGNAL_PAYLOADS), help="the action's name")
    sub.add_argument("inquiry_id", help="the intake system's inquiry id, e.g. DEMO-1")
    sub.add_argument("--payload", required=True, help="the action's JSON payload")
    sub.add_argument(
        "--draft-version",
        type=int,
        help="compliance_decision: the draft version decided on (default: the current one)",
    )

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

    sub = add(
        "purge",
        "retention: erase every inquiry closed longer ago than INQUIRY_RETENTION (run daily)",
        purge,
        inquiry=False,
    )
    sub.add_argument("--by", required=True, help="the operator's staff id (roster operators)")

    what = "the audit trail's hash chains: verify them, export one, or sign a checkpoint"
    sub = commands.add_parser("audit", help=what, description=what)
    actions = sub.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    sub = actions.add_parser(
        "verify",
        help="check every chain (or one inquiry's) and the newest signed checkpoint; exit 1 if "
        "anything was changed, removed, inserted or reordered",
    )
    sub.add_argument("inquiry_id", nargs="?", help="only this inquiry (default: all)")
    sub.add_argument("--json", action="store_true", help="print the result as JSON")
    sub.set_defaults(run=audit.verify)
    sub = actions.add_parser(
        "export", help="print an inquiry's chain as JSON Lines, then the verification"
    )
    sub.add_argument("inquiry_id", help="the intake system's inquiry id, e.g. DEMO-1")
    sub.set_defaults(run=audit.export)
    sub = actions.add_parser(
        "checkpoint",
        help="sign every chain's head into INQUIRY_AUDIT_CHECKPOINT_DIR (the worker also does, "
        "every INQUIRY_AUDIT_CHECKPOINT_EVERY)",
    )
    sub.set_defaults(run=audit.checkpoint)
    return top


async def main(
    argv: Sequence[str] | None = None, client: Client | None = None, out: TextIO = sys.stdout
) -> int:
    args = parser().parse_args(argv)
    try:
        if args.run in (sample, record_survey, audit.verify, audit.export, audit.checkpoint):
            code: int | None = args.run(None, args, out)
            return code or 0
        if client is not None:
            await args.run(client, args, out)
        else:
            async with clients.data_keys(Settings()) as keys:
                await args.run(await clients.connect(keys), args, out)
    except (CommandError, KeyConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ActionRefused as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
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
