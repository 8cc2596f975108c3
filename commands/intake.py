"""Starting inquiries: `start` (validated, idempotent) and `sample`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.triage import ConfigError, evaluate, load_rules
from commands.common import (
    WORKFLOW_TYPE,
    CommandError,
    emit,
    parse_json,
    read_text,
    validate,
)
from models.activities import TriageResult
from models.contract import FUTURE_RECEIVED_AT, RECEIVED_AT_SKEW, InquiryIntake
from models.settings import PROJECT_ROOT, Settings
from workflows import views


async def start(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    raw = sys.stdin.read() if args.file == "-" else read_text(Path(args.file))
    intake = validate(InquiryIntake, parse_json(raw, args.file))
    if intake.received_at > datetime.now(UTC) + RECEIVED_AT_SKEW:
        raise CommandError(f"invalid InquiryIntake: {FUTURE_RECEIVED_AT}")
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
        emit(
            out,
            {
                "workflow_id": workflow_id,
                "run_id": existing.run_id,
                "created": False,
                "message": f"inquiry {intake.inquiry_id} already exists ({state})",
            },
        )
        return
    emit(out, {"workflow_id": workflow_id, "run_id": handle.result_run_id, "created": True})


def _triage_at_intake(intake: InquiryIntake) -> TriageResult | None:
    """Triage by the rules file at TRIAGE_RULES_PATH (the worker's, where both share a
    configuration), for the UI's static summary only. Unreadable rules cost the summary its
    detail, never the start."""
    try:
        return evaluate(load_rules(Settings().triage_rules_path), intake)
    except ConfigError:
        return None


EXAMPLES = {"healthcare": "intake.json", "legal": "intake-2.json"}


def sample(client: Client | None, args: argparse.Namespace, out: TextIO) -> None:
    """An example intake received now: SLA clocks run from `received_at`, and a fixed date
    in the past would start them already breached."""
    example = json.loads(read_text(PROJECT_ROOT / "examples" / EXAMPLES[args.example]))
    example["received_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
    if args.inquiry_id:
        example["inquiry_id"] = args.inquiry_id
    out.write(json.dumps(example, indent=2) + "\n")
