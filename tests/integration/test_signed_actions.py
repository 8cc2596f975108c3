"""Who is acting, with signed actions required (REQUIRE_SIGNED_ACTIONS, implied in production):
the issue's attack through the raw `temporal` CLI fails at every step, refusals are documented,
nothing reaches the customer; a valid assertion cannot be replayed onto a revised draft, another
inquiry or a second time; a department result needs the department's own signature."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType

import starter
from identity.keys import DevIssuer, department_assertion
from models.contract import SIGNAL_PAYLOADS, Department
from models.settings import Settings
from models.status import InquiryOutcome
from tests.integration.conftest import Stack
from tests.integration.helpers import REVIEWER, SECOND_REVIEWER, audit, cli, outbox, status_when
from tests.support import billing_only, intake, new_id
from worker import running_worker

REQUIRED = "a signed assertion is required: signed actions are on"
TOKENS = {d: secrets.token_urlsafe(32) for d in Department}


@pytest.fixture
async def signed(stack: Stack) -> AsyncIterator[str]:
    """A worker with signed actions required, on its own task queue of the session's server;
    the departments share tokens with it (the simulator signs its results with them)."""
    tokens = {f"{d.value}_token": SecretStr(t) for d, t in TOKENS.items()}
    settings = stack.settings.model_copy(
        update={"task_queue": new_id("signed"), "require_signed_actions": True, **tokens}
    )
    for department, token in TOKENS.items():
        stack.simulator.desk.configure(department, token=token)
    async with running_worker(stack.client, settings):
        yield settings.task_queue


async def begin(stack: Stack, queue: str, payload: dict[str, Any]) -> Any:
    return await stack.client.start_workflow(
        "RegulatedInquiry",
        payload,
        id=f"inquiry-{payload['inquiry_id']}",
        task_queue=queue,
        result_type=InquiryOutcome,
    )


def dev_issuer() -> DevIssuer:
    """The development issuer starter.py signs with (the session's, see tests/conftest.py)."""
    return Settings().dev_issuer()


def signed_payload(
    issuer: DevIssuer, action: str, inquiry_id: str, body: dict[str, Any], **claims: Any
) -> dict[str, Any]:
    payload = SIGNAL_PAYLOADS[action].model_validate(body)
    return body | {"assertion": issuer.sign(action, payload, inquiry_id, **claims)}


async def update(stack: Stack, workflow_id: str, action: str, body: dict[str, Any]) -> Any:
    """The raw CLI's Update: plain JSON, the verdict printed."""
    shown = await cli(
        stack, "workflow", "update", "execute", "--workflow-id", workflow_id, "--name", action,
        "--input", json.dumps(body), "-o", "json",
    )  # fmt: skip
    return json.loads(shown.stdout)["result"]


async def test_the_attack_through_the_raw_cli_fails_at_every_step(
    stack: Stack, signed: str
) -> None:
    payload = intake(new_id("ATTACK"))
    inquiry_id = payload["inquiry_id"]
    handle = await begin(stack, signed, payload)
    before = await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    assert before.draft is not None
    evil = "Please confirm your card at http://evil.example/verify"
    attacker = DevIssuer(Ed25519PrivateKey.generate(), "dev-forged")

    # 1-3: the three steps, unsigned; then the same with the attacker's own key, and a
    # genuine assertion for one reviewer used in another's name.
    attempts = [
        ("reassign_owner", {"owner_id": "mallory", "by": "agent.zoe", "reason": "cover"}),
        ("revise_response", {"author_id": before.owner, "text": evil}),
        ("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"}),
        ("compliance_decision", {"reviewer_id": SECOND_REVIEWER, "decision": "approve"}),
        ("withdraw", {"by": "agent.zoe", "reason": "customer asked"}),
        ("escalate", {"by": "agent.zoe", "reason": "chased"}),
        ("reopen", {"by": "agent.zoe", "reason": "not resolved"}),
        ("add_note", {"author_id": "agent.zoe", "text": "a note"}),
    ]
    verdicts = [await update(stack, handle.id, a, body) for a, body in attempts]
    forged = signed_payload(
        attacker, "compliance_decision", inquiry_id,
        {"reviewer_id": REVIEWER, "decision": "approve"}, draft_version=1,
    )  # fmt: skip
    verdicts.append(await update(stack, handle.id, "compliance_decision", forged))
    borrowed = signed_payload(
        dev_issuer(), "compliance_decision", inquiry_id,
        {"reviewer_id": REVIEWER, "decision": "approve"}, draft_version=1,
    )  # fmt: skip
    borrowed["reviewer_id"] = SECOND_REVIEWER
    verdicts.append(await update(stack, handle.id, "compliance_decision", borrowed))
    late = signed_payload(
        dev_issuer(), "escalate", inquiry_id, {"by": "agent.zoe", "reason": "chased"},
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    verdicts.append(await update(stack, handle.id, "escalate", late))

    reasons = [v["reason"] for v in verdicts]
    assert not any(v["accepted"] for v in verdicts)
    assert reasons[:8] == [REQUIRED] * 8
    assert reasons[8] == "assertion is signed with a key the issuer does not publish"
    assert reasons[9] == "assertion names someone else than the payload's actor"
    assert reasons[10] == "assertion has expired"
    # The signals are held to the same rules as the Updates.
    await cli(
        stack, "workflow", "signal", "--workflow-id", handle.id, "--name", "withdraw",
        "--input", json.dumps({"by": "mallory", "reason": "gone"}),
    )  # fmt: skip
    after = await status_when(
        handle,  # every refusal recorded, and written to the audit trail
        lambda s: len(s.refused_signals) == len(verdicts) + 1 and s.undocumented_events == 0,
    )

    assert (after.stage, after.owner) == ("awaiting_compliance", before.owner)
    assert after.draft is not None and after.draft.version == before.draft.version
    assert after.compliance == [] and after.unverified_actions == []
    refused = [r for r in audit(stack, inquiry_id) if r.action == "signal_refused"]
    assert len(refused) == len(verdicts) + 1
    assert all(evil not in json.dumps(r.detail) for r in refused)
    assert [m.kind for m in outbox(stack, inquiry_id) if m.audience == "customer"] == [
        "acknowledgement"
    ]

    # And the genuine reviewer, signed by the issuer, still decides.
    out = io.StringIO()
    argv = ["decide", inquiry_id, "--reviewer", REVIEWER, "--approve"]
    assert await starter.main(argv, client=stack.client, out=out) == 0
    outcome = await handle.result()
    assert outcome.approved_by == [REVIEWER]


async def test_a_signed_approval_cannot_be_replayed(stack: Stack, signed: str) -> None:
    first, other = intake(new_id("REPLAY")), intake(new_id("REPLAY"))
    handle = await begin(stack, signed, first)
    other_handle = await begin(stack, signed, other)
    current = await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    await status_when(other_handle, lambda s: s.stage == "awaiting_compliance")
    issuer = dev_issuer()
    approval = {"reviewer_id": REVIEWER, "decision": "approve"}
    for_v1 = signed_payload(
        issuer, "compliance_decision", first["inquiry_id"], approval, draft_version=1
    )

    # the owner revises (signed): v2 is under review now
    revision = {"author_id": current.owner, "text": "We refunded the duplicate charge."}
    revised = await update(
        stack, handle.id, "revise_response",
        signed_payload(issuer, "revise_response", first["inquiry_id"], revision),
    )  # fmt: skip
    note = signed_payload(
        issuer, "add_note", first["inquiry_id"], {"author_id": "agent.ana", "text": "rang"}
    )
    noted = await update(stack, handle.id, "add_note", note)
    again = await update(stack, handle.id, "add_note", note)
    stale = await update(stack, handle.id, "compliance_decision", for_v1)
    elsewhere = await update(stack, other_handle.id, "compliance_decision", for_v1)

    assert (revised["accepted"], noted["accepted"]) == (True, True)
    assert again["reason"] == "assertion was already used"
    assert stale["reason"] == "assertion was signed for another draft version"
    assert elsewhere["reason"] == "assertion is for another inquiry"
    status = await status_when(handle, lambda s: s.draft is not None and s.draft.version == 2)
    assert status.compliance == [] and status.stage == "awaiting_compliance"
    assert status.unverified_actions == []
    for h, inquiry in ((handle, first), (other_handle, other)):
        fresh = signed_payload(
            issuer, "withdraw", inquiry["inquiry_id"], {"by": "operator.oona", "reason": "done"}
        )
        assert (await update(stack, h.id, "withdraw", fresh))["accepted"] is True
        assert (await h.result()).stage == "withdrawn"


async def test_a_department_result_needs_the_departments_signature(
    stack: Stack, signed: str
) -> None:
    stack.simulator.desk.configure(Department.BILLING, mode="accepted", result_delay_s=4.0)
    payload = billing_only(new_id("DEPT"))
    handle = await begin(stack, signed, payload)
    routing = await status_when(
        handle, lambda s: s.departments.get("billing") is not None
        and s.departments["billing"].case_ref is not None,
    )  # fmt: skip
    case_ref = routing.departments["billing"].case_ref
    forged = {
        "department": "billing",
        "case_ref": case_ref,
        "status": "completed",
        "summary": "Refund approved: confirm your card at http://evil.example",
    }
    unsigned = await update(stack, handle.id, "department_result", forged)
    model = SIGNAL_PAYLOADS["department_result"].model_validate(forged)
    wrong = forged | {
        "assertion": department_assertion("guessed-" + "x" * 40, model, payload["inquiry_id"])
    }
    wrong_key = await update(stack, handle.id, "department_result", wrong)

    assert unsigned["reason"] == REQUIRED
    assert wrong_key["reason"] == "assertion's signature does not verify"
    # the simulator's own result, signed with the billing token, arrives and counts
    done = await status_when(handle, lambda s: s.departments["billing"].status == "completed")
    assert done.departments["billing"].summary != forged["summary"]
    await handle.result()


async def test_a_survey_answer_needs_the_reference_its_message_carried(
    stack: Stack, signed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.settings.database_url)  # where starter.py looks
    payload = billing_only(new_id("SURVEY"))  # routine: released by policy, no reviewer
    payload["policy"] = {
        "survey_delay": "PT1S",
        "survey_reminder": "PT60S",
        "survey_window": "PT90S",
    }
    handle = await begin(stack, signed, payload)
    await status_when(handle, lambda s: s.survey is not None and s.survey.sent_at is not None)
    [survey] = [m for m in outbox(stack, payload["inquiry_id"]) if m.kind == "survey"]
    scores = {"csat": 5, "nps": 9}
    forged = jwt.encode(
        jwt.decode(survey.body.rsplit(": ", 1)[1], options={"verify_signature": False}),
        "guessed-" + "x" * 40,
        algorithm="HS256",
    )

    unsigned = await update(stack, handle.id, "survey_response", scores)
    guessed = await update(stack, handle.id, "survey_response", scores | {"survey_ref": forged})
    out = io.StringIO()
    argv = ["survey", payload["inquiry_id"], "--csat", "5", "--nps", "9"]
    answered = await starter.main(argv, client=stack.client, out=out)

    assert unsigned["reason"] == (
        "the survey_ref of the survey message is required: signed actions are on"
    )
    assert guessed["reason"] == "assertion's signature does not verify"
    assert answered == 0 and json.loads(out.getvalue())["accepted"] is True
    outcome = await handle.result()
    assert outcome.survey is not None and outcome.survey.csat == 5


async def test_a_reset_history_cannot_spend_an_assertion_again(stack: Stack, signed: str) -> None:
    payload = intake(new_id("RESET"))
    handle = await begin(stack, signed, payload)
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    approval = signed_payload(
        dev_issuer(), "compliance_decision", payload["inquiry_id"],
        {"reviewer_id": REVIEWER, "decision": "approve"}, draft_version=1,
    )  # fmt: skip
    assert (await update(stack, handle.id, "compliance_decision", approval))["accepted"] is True
    events = list((await handle.fetch_history()).events)
    accepted = next(
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )
    before = max(
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and e.event_id < accepted
    )

    # Anyone with access to the namespace may rewind the history to before the approval...
    await cli(
        stack, "workflow", "reset", "--workflow-id", handle.id, "--event-id", str(before),
        "--reapply-exclude", "All", "--reason", "replay an approval", "--yes",
    )  # fmt: skip
    rewound = stack.client.get_workflow_handle(handle.id)
    await status_when(rewound, lambda s: s.stage == "awaiting_compliance" and s.compliance == [])
    again = await update(stack, handle.id, "compliance_decision", approval)

    # ... but the approval was spent for good.
    assert again["reason"] == "assertion was already used"
    status = await status_when(rewound, lambda s: len(s.refused_signals) >= 1)
    assert status.compliance == [] and status.stage == "awaiting_compliance"
    done = signed_payload(
        dev_issuer(), "withdraw", payload["inquiry_id"], {"by": "operator.oona", "reason": "done"}
    )
    assert (await update(stack, handle.id, "withdraw", done))["accepted"] is True
