"""The canary test: an inquiry whose name, e-mail, subject and body hold unique markers goes
through its whole life (the raw CLI through the codec server, and starter.py), with a delivery
that fails quoting the recipient and subject, and a malformed signal quoting a marker. Nothing
readable without the codec may hold a marker: the raw history, the visibility listing, search
attributes, memo and UI metadata, the worker's and the codec server's log lines."""

from __future__ import annotations

import base64
import io
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

import starter
from activities.messaging import LoggingDelivery
from models.activities import OutboxMessage
from models.contract import workflow_id_for
from models.status import InquiryOutcome, InquiryStatus
from tests.integration.conftest import Stack
from tests.integration.helpers import REVIEWER, audit, cli, status_when
from tests.support import intake, new_id
from worker import running_worker


def canaries() -> dict[str, str]:
    mark = uuid.uuid4().hex[:10]
    return {
        "name": f"Canaryname{mark}",
        "email": f"canary{mark}@example.test",
        "subject": f"Canarysubject{mark} about my invoice",
        "body": f"Canarybody{mark}: my blood test invoice shows Canarydiagnosis{mark}.",
    }


class QuotingDelivery(LoggingDelivery):
    """A delivery adapter that fails its first send quoting who and what, as SMTP errors do."""

    def __init__(self) -> None:
        self.failed: set[str] = set()

    async def deliver(self, message: OutboxMessage) -> None:
        if message.message_key not in self.failed:
            self.failed.add(message.message_key)
            raise RuntimeError(f"550 mailbox unavailable: {message.recipient} {message.subject}")
        await super().deliver(message)


def marked(values: dict[str, str], inquiry_id: str) -> dict[str, Any]:
    payload = intake(inquiry_id, subject=values["subject"], body=values["body"])
    payload["customer"] |= {"name": values["name"], "email": values["email"]}
    return payload


def leaks(values: dict[str, str], text: str | bytes) -> list[str]:
    found = text if isinstance(text, str) else text.decode("latin-1")
    return [k for k, v in values.items() if v.lower() in found.lower()]


@pytest.fixture
async def quoting_stack(stack: Stack) -> Any:
    settings = stack.settings.model_copy(update={"task_queue": new_id("canary-queue")})
    async with running_worker(stack.client, settings, delivery=QuotingDelivery()):
        yield settings.task_queue


async def test_no_marker_is_readable_anywhere_without_the_codec(
    stack: Stack,
    quoting_stack: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)
    values = canaries()
    by_cli, by_starter = new_id("CANARY"), new_id("CANARY")

    intake_file = tmp_path / "intake.json"
    intake_file.write_text(json.dumps(marked(values, by_cli)))
    await cli(
        stack, "workflow", "start", "--type", "RegulatedInquiry", "--task-queue", quoting_stack,
        "--workflow-id", workflow_id_for(by_cli), "--input-file", str(intake_file),
        "--codec-header", f"X-Inquiry-Id={by_cli}",
    )  # fmt: skip
    starter_file = tmp_path / "starter.json"
    starter_file.write_text(json.dumps(marked(values, by_starter)))
    monkeypatch.setenv("INQUIRY_TASK_QUEUE", quoting_stack)
    out = io.StringIO()
    assert await starter.main(["start", str(starter_file)], client=stack.client, out=out) == 0

    for inquiry_id in (by_cli, by_starter):
        await live_through(stack, inquiry_id, values)

    for inquiry_id in (by_cli, by_starter):
        workflow_id = workflow_id_for(inquiry_id)
        handle = stack.client.get_workflow_handle(workflow_id)
        history = await handle.fetch_history()
        raw = b"".join(event.SerializeToString() for event in history.events)
        assert leaks(values, raw) == [], f"history of {workflow_id} holds personal data"
        assert b"550 mailbox unavailable" not in raw  # the failure is in history, encrypted
        shown = await cli(stack, "workflow", "describe", "-w", workflow_id, "-o", "json",
                          codec=False)  # fmt: skip
        assert leaks(values, shown.stdout) == []
        plain = await cli(stack, "workflow", "show", "-w", workflow_id, "-o", "json", codec=False)
        assert leaks(values, plain.stdout) == []
        decoded = await cli(stack, "workflow", "show", "-w", workflow_id, "-o", "json")
        started = json.loads(decoded.stdout)["events"][0]["workflowExecutionStartedEventAttributes"]
        data = base64.b64decode(started["input"]["payloads"][0]["data"])
        assert values["body"] in data.decode()  # an operator's CLI reads it back in full
    listed = await cli(stack, "workflow", "list", "-q", "WorkflowId STARTS_WITH 'inquiry-CANARY'",
                       "-o", "json", codec=False)  # fmt: skip
    assert leaks(values, listed.stdout) == []
    assert leaks(values, caplog.text) == [], "a log line holds personal data"
    decodes = [r for r in audit(stack, by_cli) if r.action == "payloads_decoded"]
    assert decodes and decodes[-1].actor == stack.codec.operator


async def live_through(stack: Stack, inquiry_id: str, values: dict[str, str]) -> None:
    """Malformed and valid signals through the codec-enabled CLI, to the end of the follow-up."""
    workflow_id = workflow_id_for(inquiry_id)
    handle = stack.client.get_workflow_handle(workflow_id, result_type=InquiryOutcome)
    await status_when(handle, lambda s: s.stage == "awaiting_compliance", timeout_s=60)
    header = ["--codec-header", f"X-Inquiry-Id={inquiry_id}"]
    malformed = {"reviewer_id": values["name"], "decision": values["body"]}
    await cli(stack, "workflow", "signal", "-w", workflow_id, "--name", "compliance_decision",
              "--input", json.dumps(malformed), *header)  # fmt: skip
    status = await handle.query("status", result_type=InquiryStatus)
    assert status.refused_signals, "the malformed decision is recorded as refused"
    assert leaks(values, json.dumps(status.model_dump(mode="json")["refused_signals"])) == []
    for reviewer in (REVIEWER, "reviewer.victor"):  # a second when four eyes are needed
        decision = {"reviewer_id": reviewer, "decision": "approve"}
        await cli(stack, "workflow", "signal", "-w", workflow_id, "--name", "compliance_decision",
                  "--input", json.dumps(decision), *header)  # fmt: skip
        seen = await status_when(
            handle, lambda s, n=reviewer: s.stage != "awaiting_compliance"
            or any(r.reviewer_id == n for r in s.compliance),
        )  # fmt: skip
        if seen.stage != "awaiting_compliance":
            break
    await status_when(handle, lambda s: s.stage == "follow_up", timeout_s=60)
    survey = {"csat": 5, "comment": f"thanks {values['name']}"}
    await cli(stack, "workflow", "signal", "-w", workflow_id, "--name", "survey_response",
              "--input", json.dumps(survey), *header)  # fmt: skip
    outcome = await handle.result()
    assert outcome.stage == "closed"
