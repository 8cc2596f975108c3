"""Every action is also an Update of the same name that answers at once whether it counted
(the contract's "Updates: the same actions, with an answer"), through the SDK, the raw CLI and
starter.py; a refused Update is recorded like a refused signal. Updates need the real server."""

from __future__ import annotations

import io
import json

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

import starter
from models.status import ActionVerdict
from tests.integration.conftest import Stack
from tests.integration.helpers import (
    REVIEWER,
    approve,
    audit,
    cli,
    history_events,
    start,
    status_when,
)
from tests.support import intake, new_id


async def test_an_update_answers_whether_the_action_counted_and_a_refusal_is_recorded(
    stack: Stack,
) -> None:
    payload = intake(new_id("UPD"))
    handle = await start(stack, payload)
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")

    refused = await handle.execute_update(
        "compliance_decision", {"reviewer_id": "nobody", "decision": "approve"},
        result_type=ActionVerdict,
    )  # fmt: skip
    malformed = await handle.execute_update(
        "add_note", {"author_id": "agent.ana"}, result_type=ActionVerdict
    )
    counted = await handle.execute_update(
        "add_note", {"author_id": "agent.ana", "text": "rang back", "kind": "note"},
        result_type=ActionVerdict,
    )  # fmt: skip

    assert (refused.accepted, refused.stage) == (False, "awaiting_compliance")
    assert refused.reason and "nobody" not in refused.reason
    assert malformed.accepted is False and "text" in (malformed.reason or "")
    assert (counted.accepted, counted.reason) == (True, None)
    status = await status_when(handle, lambda s: s.notes == 1 and s.undocumented_events == 0)
    assert [r.signal for r in status.refused_signals] == ["compliance_decision", "add_note"]
    refusals = [r for r in audit(stack, payload["inquiry_id"]) if r.action == "signal_refused"]
    assert len(refusals) == 2


async def test_the_raw_cli_and_starter_get_the_verdict(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = intake(new_id("UPD"))
    handle = await start(stack, payload)
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")

    shown = await cli(
        stack, "workflow", "update", "execute", "--workflow-id", handle.id,
        "--name", "compliance_decision",
        "--input", json.dumps({"reviewer_id": "nobody", "decision": "approve"}),
        "--codec-header", f"X-Inquiry-Id={payload['inquiry_id']}", "-o", "json",
    )  # fmt: skip
    verdict = json.loads(shown.stdout)["result"]
    assert (verdict["accepted"], verdict["stage"]) == (False, "awaiting_compliance")

    out = io.StringIO()
    argv = ["decide", payload["inquiry_id"], "--reviewer", "nobody", "--approve"]
    assert await starter.main(argv, client=stack.client, out=out) == 1
    assert json.loads(out.getvalue())["accepted"] is False
    out = io.StringIO()
    argv = ["decide", payload["inquiry_id"], "--reviewer", REVIEWER, "--approve"]
    assert await starter.main(argv, client=stack.client, out=out) == 0
    assert json.loads(out.getvalue())["accepted"] is True

    await handle.result()  # the quick follow-up of the session stack closes it
    capsys.readouterr()
    argv = ["note", payload["inquiry_id"], "--author", "agent.ana", "--text", "late"]
    assert await starter.main(argv, client=stack.client, out=io.StringIO()) == 1
    assert f"inquiry {payload['inquiry_id']} is closed" in capsys.readouterr().err


async def test_an_unreadable_or_oversized_update_is_answered_and_the_inquiry_carries_on(
    stack: Stack,
) -> None:
    """An action in an encoding nothing here reads is refused and recorded, like a malformed
    one; one too large to record is turned away before it is accepted. Neither fails the
    workflow task, so the inquiry still answers and moves on."""
    payload = intake(new_id("ODD"))
    handle = await start(stack, payload)
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    weird = RawValue(Payload(metadata={"encoding": b"weird/thing"}, data=b"\x00\x01"))

    unreadable = await handle.execute_update("add_note", weird, result_type=ActionVerdict)
    await handle.signal("add_note", weird)
    with pytest.raises(WorkflowUpdateFailedError) as too_large:
        await handle.execute_update(
            "add_note", {"author_id": "agent.ana", "text": "x" * 300_000, "kind": "note"}
        )

    assert unreadable.accepted is False and "undecodable" in (unreadable.reason or "")
    cause = too_large.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "PayloadTooLarge"
    status = await status_when(handle, lambda s: len(s.refused_signals) == 2)
    assert [r.signal for r in status.refused_signals] == ["add_note", "add_note"]
    failed = [
        e for e in await history_events(handle)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]  # fmt: skip
    assert failed == []
    await approve(handle)
    assert (await handle.result()).stage == "closed"


async def test_a_reassignment_to_someone_who_may_not_own_inquiries_is_refused_in_its_verdict(
    stack: Stack,
) -> None:
    """The roster says who may own inquiries before the verdict is given, so an Update never
    answers `accepted` for a reassignment the inquiry then refuses."""
    handle = await start(stack, intake(new_id("RE")))
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")

    refused = await handle.execute_update(
        "reassign_owner", {"owner_id": REVIEWER, "by": "operator.oona", "reason": "cover"},
        result_type=ActionVerdict,
    )  # fmt: skip
    moved = await handle.execute_update(
        "reassign_owner", {"owner_id": "agent.zoe", "by": "operator.oona", "reason": "cover"},
        result_type=ActionVerdict,
    )  # fmt: skip

    assert refused.accepted is False
    assert refused.reason == "owner_id is not on the roster as staff who own inquiries"
    assert moved.accepted is True
    status = await status_when(handle, lambda s: s.owner == "agent.zoe")
    assert [r.signal for r in status.refused_signals] == ["reassign_owner"]


async def test_the_verdict_tells_the_stage_after_the_action(stack: Stack) -> None:
    """An approval that releases the draft answers with the stage the release moved it to."""
    handle = await start(stack, intake(new_id("AFTER")))
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")

    verdict = await handle.execute_update(
        "compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"},
        result_type=ActionVerdict,
    )  # fmt: skip

    assert verdict.accepted is True
    assert verdict.stage in ("communicating", "follow_up")
