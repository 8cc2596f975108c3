"""starter.py as intake systems, reviewers and operators use it, against the real server."""

from __future__ import annotations

import asyncio
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError

import starter
from tests.integration.conftest import Stack
from tests.integration.helpers import REVIEWER, approve, cli, start, status_when
from tests.support import intake
from workflows import views


async def run(stack: Stack, *argv: str) -> tuple[int, str]:
    out = StringIO()
    code = await starter.main(list(argv), client=stack.client, out=out)
    return code, out.getvalue()


async def test_start_from_stdin_status_and_decide_take_an_inquiry_to_closed(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = intake()
    monkeypatch.setattr("sys.stdin", StringIO(json.dumps(payload)))
    code, out = await run(stack, "start", "-")
    assert code == 0 and json.loads(out)["created"] is True
    handle = stack.client.get_workflow_handle(f"inquiry-{payload['inquiry_id']}")
    current = await status_when(handle, lambda s: s.stage == "awaiting_compliance")

    # The UI's summary says what the worker's triage decided, and nothing personal.
    description = await handle.describe()
    assert await description.static_summary() == views.summary_line(
        sector=current.sector,
        channel=current.channel,
        tier=current.tier,
        categories=current.categories,
        flags=current.compliance_flags,
    )
    details = await description.static_details() or ""
    # Rule ids stay in `status`: some say how the customer feels.
    assert current.rules_fired and not any(hit.rule_id in details for hit in current.rules_fired)
    for personal in (payload["customer"]["name"], payload["customer"]["email"], "lab results"):
        assert personal not in details

    code, shown = await run(stack, "status", payload["inquiry_id"])
    assert code == 0
    assert "awaiting_compliance" in shown and "billing: completed" in shown
    assert payload["customer"]["email"] not in shown
    # The timeline, oldest first, ends with the wait for a reviewer.
    timeline = shown.split("\ntimeline\n", 1)[1].splitlines()
    assert "inquiry received by portal" in timeline[0]
    assert timeline[-1].endswith("stage drafting → awaiting_compliance")
    code, shown = await run(stack, "status", payload["inquiry_id"], "--last", "1")
    assert shown.split("\ntimeline\n", 1)[1].splitlines() == timeline[-1:]

    code, _ = await run(stack, "decide", payload["inquiry_id"], "--reviewer", REVIEWER, "--approve")
    assert code == 0
    await handle.result()
    code, shown = await run(stack, "status", payload["inquiry_id"], "--json")
    assert code == 0 and json.loads(shown)["stage"] == "closed"


async def test_bad_input_is_named_and_nothing_is_sent(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(intake() | {"channel": "pigeon"}))
    code, out = await run(stack, "start", str(bad))
    assert code == 2 and out == ""
    assert "channel" in capsys.readouterr().err

    code, _ = await run(stack, "decide", "X-1", "--reviewer", REVIEWER, "--reject")
    assert code == 2
    assert "note is required" in capsys.readouterr().err

    bad.write_text(json.dumps(intake() | {"received_at": "2099-01-01T00:00:00+00:00"}))
    code, out = await run(stack, "start", str(bad))
    assert code == 2 and out == ""
    assert "received_at: later than the inquiry was taken in" in capsys.readouterr().err

    # Past Temporal's 2 MiB payload limit: refused here, by the field's bound, never sent.
    huge = intake()
    huge["body"] = "x" * (3 * 1024 * 1024)
    bad.write_text(json.dumps(huge))
    code, out = await run(stack, "start", str(bad))
    assert code == 2 and out == ""
    assert "body: String should have at most 20000 characters" in capsys.readouterr().err
    code, _ = await run(stack, "note", huge["inquiry_id"], "--author", REVIEWER,
                        "--text", huge["body"])  # fmt: skip
    assert code == 2
    assert "text: String should have at most 20000 characters" in capsys.readouterr().err
    started = stack.client.list_workflows(f"WorkflowId = 'inquiry-{huge['inquiry_id']}'")
    assert [w async for w in started] == []


async def test_unknown_inquiry_is_a_readable_error(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = await run(stack, "status", "NO-SUCH-INQUIRY")
    assert code == 1
    assert "no inquiry NO-SUCH-INQUIRY" in capsys.readouterr().err
    code, _ = await run(stack, "withdraw", "NO-SUCH-INQUIRY", "--by", "agent.x", "--reason", "r")
    assert code == 1
    assert "no inquiry NO-SUCH-INQUIRY" in capsys.readouterr().err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        starter.parser().parse_args(["--help"])
    text = capsys.readouterr().out
    for command in ("start", "status", "decide", "revise", "reassign", "escalate", "withdraw",
                    "reopen", "note", "department-result", "survey", "close-recovery",
                    "record-survey"):  # fmt: skip
        assert command in text


async def test_sample_prints_a_valid_intake_received_now() -> None:
    from datetime import UTC, datetime, timedelta

    from models.contract import InquiryIntake

    for example, sector in (("healthcare", "healthcare"), ("legal", "legal")):
        out = StringIO()
        code = await starter.main(["sample", "--example", example, "--inquiry-id", "S-1"], out=out)
        intake = InquiryIntake.model_validate_json(out.getvalue())
        assert code == 0 and intake.inquiry_id == "S-1" and intake.sector == sector
        assert abs(datetime.now(UTC) - intake.received_at) < timedelta(minutes=1)


async def test_list_finds_the_tier_3_inquiries_awaiting_compliance_like_the_ui_filter(
    stack: Stack,
) -> None:
    legal = intake(
        sector="legal",
        topics=["legal"],
        subject="Attorney-client privileged notes",
        body="My attorney-client privileged notes were shared; I will file a lawsuit.",
    )
    routine = intake()
    for payload in (legal, routine):
        handle = await stack.client.start_workflow(
            "RegulatedInquiry",
            payload,
            id=f"inquiry-{payload['inquiry_id']}",
            task_queue=stack.settings.task_queue,
        )
        await status_when(handle, lambda s: s.stage == "awaiting_compliance")

    async def listed() -> dict[str, Any]:
        out = StringIO()
        code = await starter.main(
            ["list", "--stage", "awaiting_compliance", "--tier", "3", "--json"],
            client=stack.client,
            out=out,
        )
        assert code == 0
        return json.loads(out.getvalue())

    async with asyncio.timeout(15):  # visibility is eventually consistent
        while True:
            found = await listed()
            if legal["inquiry_id"] in {r["inquiry_id"] for r in found["inquiries"]}:
                break
            await asyncio.sleep(0.2)
    ids = {r["inquiry_id"] for r in found["inquiries"]}
    assert routine["inquiry_id"] not in ids
    assert all(r["stage"] == "awaiting_compliance" and r["tier"] == 3 for r in found["inquiries"])
    assert found["query"] == (
        'WorkflowType = "RegulatedInquiry" AND InquiryStage = "awaiting_compliance" '
        "AND InquiryTier = 3"
    )
    # The same query through the raw CLI, as the UI filter would send it.
    shown = await cli(stack, "workflow", "list", "--query", found["query"], "--output", "json")
    assert legal["inquiry_id"] in shown.stdout and routine["inquiry_id"] not in shown.stdout


async def test_status_shows_the_inquiry_not_a_later_refused_start_of_its_id(stack: Stack) -> None:
    """A raw client may start a closed inquiry's id again; that run fails at once and becomes
    the id's latest run. `status` still shows the inquiry itself, and says so."""
    payload = intake()
    first = await start(stack, payload)
    await status_when(first, lambda s: s.stage == "awaiting_compliance")
    await approve(first)
    await first.result()
    again = await stack.client.start_workflow(
        "RegulatedInquiry", payload, id=first.id, task_queue=stack.settings.task_queue
    )
    with pytest.raises(WorkflowFailureError):
        await again.result()

    code, shown = await run(stack, "status", payload["inquiry_id"])
    assert code == 0
    assert "stage        closed" in shown
    assert "a later start of this inquiry id was refused" in shown
    code, shown = await run(stack, "status", payload["inquiry_id"], "--json")
    assert code == 0 and json.loads(shown)["stage"] == "closed"


async def test_sign_binds_a_decision_to_the_draft_now_under_review(stack: Stack) -> None:
    """The payload starter.py signs (or sends unsigned) for a decision names the draft version
    it is for, so a revision landing first is refused rather than approved unread."""
    payload = intake()
    handle = await start(stack, payload)
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")

    decision = json.dumps({"reviewer_id": REVIEWER, "decision": "approve"})
    code, out = await run(stack, "sign", "compliance_decision", payload["inquiry_id"],
                          "--payload", decision)  # fmt: skip

    assert code == 0
    signed = json.loads(out)
    assert signed["draft_version"] == 1 and signed["assertion"]
    await handle.terminate("test over")
