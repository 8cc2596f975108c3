"""Record workflow histories for the replay tests: `python -m tests.replay.record [--tag TAG]`.

Each scenario runs RegulatedInquiry on the time-skipping test server with the fake activities
of `tests.workflows.world` (fake sample data only, nothing personal) and writes the run's
history to `tests/replay/histories/<scenario>[-<tag>].json`. The file name fixes the workflow id
(`inquiry-REPLAY-<file stem>`), which the replay test needs, because the workflow checks that
its id matches the intake.

When to record: whenever the workflow's code changes what it does, or in what order (a new
activity, timer or signal rule, a new step).
- Until the first production release (now): delete the histories a change breaks and record
  them again; no old code path is kept alive for runs that do not exist.
- From the first release on: record with a new tag, e.g. `--tag 2027-01`, and commit the new
  files NEXT TO the old ones. Never overwrite or delete an old history then: each stands for
  runs that may still be open in production. If an old history stops replaying, the change
  needs `workflow.patched(...)`, not a new recording.
The script refuses to overwrite an existing file.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from models.contract import Department, Stage
from tests import support
from tests.workflows import drive
from tests.workflows.server import start_dev_server, start_test_server
from tests.workflows.world import (
    LEGAL,
    LEGAL_2,
    OWNER,
    REVIEWER,
    World,
    accepted,
    rejected,
    routine,
    triage,
)

HISTORIES = Path(__file__).resolve().parent / "histories"
APPROVE = {"reviewer_id": REVIEWER, "decision": "approve"}

Scenario = Callable[[WorkflowEnvironment, World, str], Awaitable[drive.Handle]]


def inquiry_id_for(stem: str) -> str:
    return f"REPLAY-{stem}"


async def approve(env: WorkflowEnvironment, world: World, inquiry_id: str) -> drive.Handle:
    handle = await world.start(support.intake(inquiry_id))
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    await handle.signal("add_note", {"author_id": OWNER, "text": "called back", "kind": "note"})
    await handle.signal("compliance_decision", {"reviewer_id": OWNER, "decision": "approve"})
    await drive.refusals(handle, 1)
    await handle.signal("compliance_decision", APPROVE)
    return handle


async def reject_revise(env: WorkflowEnvironment, world: World, inquiry_id: str) -> drive.Handle:
    handle = await world.start(support.intake(inquiry_id))
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    await handle.signal(
        "compliance_decision", {"reviewer_id": REVIEWER, "decision": "reject", "note": "vague"}
    )
    await drive.wait_for_stage(handle, Stage.DRAFTING)
    text = "We refunded the duplicate charge; your lab results are on their way."
    await handle.signal("revise_response", {"author_id": OWNER, "text": text})
    await drive.wait_for(handle, lambda s: s.stage == Stage.AWAITING_COMPLIANCE, "draft v2")
    await handle.signal("compliance_decision", APPROVE)
    return handle


async def policy_release(env: WorkflowEnvironment, world: World, inquiry_id: str) -> drive.Handle:
    world.triage = routine()
    return await world.start(support.billing_only(inquiry_id))


async def withdraw(env: WorkflowEnvironment, world: World, inquiry_id: str) -> drive.Handle:
    handle = await world.start(support.intake(inquiry_id))
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    await handle.signal("withdraw", {"by": OWNER, "reason": "customer withdrew"})
    return handle


async def department_failure(
    env: WorkflowEnvironment, world: World, inquiry_id: str
) -> drive.Handle:
    world.triage = triage(tier=3, flags=("LITIGATION",), categories=("billing", "legal"))
    world.answers[Department.LEGAL] = rejected(Department.LEGAL)
    handle = await world.start(support.intake(inquiry_id))
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    await handle.signal("escalate", {"by": "lead.lee", "reason": "legal refused the case"})
    for reviewer in (LEGAL, LEGAL_2):  # tier 3: four eyes
        await handle.signal("compliance_decision", {"reviewer_id": reviewer, "decision": "approve"})
    return handle


async def department_sla(env: WorkflowEnvironment, world: World, inquiry_id: str) -> drive.Handle:
    world.answers[Department.CLINICAL] = accepted("CL-1")
    world.answers[Department.BILLING] = accepted("BI-1")
    handle = await world.start(support.intake(inquiry_id, policy={"department_sla": "PT2H"}))
    await drive.wait_for_department(handle, Department.BILLING, "accepted")
    await handle.signal(
        "department_result",
        {"department": "billing", "case_ref": "BI-1", "status": "completed", "summary": "ok"},
    )
    await drive.wait_for_department(handle, Department.BILLING, "completed")
    await env.sleep(timedelta(hours=2, minutes=1))
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    # The department breach escalated it to tier 3: four eyes.
    await handle.signal("compliance_decision", APPROVE)
    await handle.signal("compliance_decision", {"reviewer_id": LEGAL, "decision": "approve"})
    return handle


# --- the timed path: SLA breaches, the survey, reopening --------------------------------------


async def survey_answered(env: WorkflowEnvironment, world: World, inquiry_id: str) -> drive.Handle:
    """Released by policy, surveyed a day later, answered well: closes at once."""
    world.triage = routine()
    handle = await world.start(support.billing_only(inquiry_id))
    await drive.wait_for_stage(handle, Stage.FOLLOW_UP)
    await env.sleep(timedelta(hours=24, minutes=1))
    await world.messages_sent("survey", 1)
    await handle.signal("survey_response", {"csat": 4, "nps": 8, "ces": 3, "comment": "fine"})
    return handle


async def service_recovery(env: WorkflowEnvironment, world: World, inquiry_id: str) -> drive.Handle:
    """Answered poorly: service recovery opens, the owner is alerted and closes it with a note."""
    world.triage = routine()
    handle = await world.start(support.billing_only(inquiry_id))
    await drive.wait_for_stage(handle, Stage.FOLLOW_UP)
    await env.sleep(timedelta(hours=24, minutes=1))
    await world.messages_sent("survey", 1)
    await handle.signal("survey_response", {"csat": 1, "comment": "nobody listened"})
    await world.messages_sent("score_alert", 1)
    await handle.signal("close_recovery", {"by": OWNER, "note": "called; refund agreed"})
    return handle


async def escalation_by_breach(
    env: WorkflowEnvironment, world: World, inquiry_id: str
) -> drive.Handle:
    """The resolution SLA passes while a department works: warnings, a progress update, the
    breach escalating to tier 3, then four eyes."""
    world.answers[Department.CLINICAL] = accepted("CL-1")
    handle = await world.start(support.intake(inquiry_id, policy={"resolution_sla": "PT4H"}))
    await drive.wait_for_department(handle, Department.CLINICAL, "accepted")
    await env.sleep(timedelta(hours=4, minutes=1))
    await world.actions_done("escalated", 1)
    await handle.signal(
        "department_result",
        {"department": "clinical", "case_ref": "CL-1", "status": "completed", "summary": "ok"},
    )
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    await handle.signal("compliance_decision", APPROVE)
    await handle.signal("compliance_decision", {"reviewer_id": LEGAL, "decision": "approve"})
    return handle


async def reopened(env: WorkflowEnvironment, world: World, inquiry_id: str) -> drive.Handle:
    """Released by policy, reopened by its owner in follow-up: routed again (a new round), the new
    answer approved by a reviewer (policy releases only a first answer), surveyed, closed
    unanswered."""
    world.triage = routine()
    handle = await world.start(support.billing_only(inquiry_id))
    await drive.wait_for_stage(handle, Stage.FOLLOW_UP)
    await handle.signal("reopen", {"by": OWNER, "reason": "refund never arrived"})
    await world.actions_done("reopened", 1)
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)  # the second round's draft
    await handle.signal("compliance_decision", APPROVE)
    return handle


# --- continue-as-new: recorded on a dev server that suggests it early ---------------------------

SUGGEST_AFTER_EVENTS = 120


async def continued(env: WorkflowEnvironment, world: World, inquiry_id: str) -> drive.Handle:
    """Notes pile up at the checkpoint until the server suggests a fresh history: the run
    continues as new and the recorded history is the next run's, resumed at the checkpoint,
    approved, communicated, then withdrawn in follow-up."""
    handle = await world.start(support.intake(inquiry_id), received_now=False)  # no test clock
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    first_run = (await handle.describe()).run_id
    for i in range(200):
        await handle.signal("add_note", {"author_id": OWNER, "text": f"call {i}"})
        if (await handle.describe()).run_id != first_run:
            break
    else:
        raise AssertionError("the server never suggested continuing as new")
    await drive.wait_for(handle, lambda s: s.notes > 0, "the resumed run")
    await handle.signal("compliance_decision", APPROVE)
    await drive.wait_for_stage(handle, Stage.FOLLOW_UP)
    await handle.signal("withdraw", {"by": OWNER, "reason": "customer withdrew"})
    return handle


ON_A_DEV_SERVER: dict[str, Scenario] = {"continued": continued}

SCENARIOS: dict[str, Scenario] = {
    "approve": approve,
    "reject_revise": reject_revise,
    "policy_release": policy_release,
    "withdraw": withdraw,
    "department_failure": department_failure,
    "department_sla": department_sla,
    "survey_answered": survey_answered,
    "service_recovery": service_recovery,
    "escalation_by_breach": escalation_by_breach,
    "reopened": reopened,
    **ON_A_DEV_SERVER,
}


async def record(env: WorkflowEnvironment, name: str, path: Path) -> None:
    world = World(env.client)
    async with world.running():
        handle = await SCENARIOS[name](env, world, inquiry_id_for(path.stem))
        await drive.outcome(handle)
        history = await handle.fetch_history()
    path.write_text(history.to_json() + "\n")


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", help="suffix for the new files, e.g. the release")
    parser.add_argument("scenarios", nargs="*", help=f"default all: {', '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    HISTORIES.mkdir(parents=True, exist_ok=True)
    todo: dict[str, Path] = {}
    for name in args.scenarios or SCENARIOS:
        path = HISTORIES / (f"{name}-{args.tag}.json" if args.tag else f"{name}.json")
        if path.exists():
            print(f"kept {path.name}: histories are never overwritten; use a new --tag")
        else:
            todo[name] = path
    if not todo:
        return
    timed = {name: path for name, path in todo.items() if name not in ON_A_DEV_SERVER}
    if timed:
        async with await start_test_server(keys=None) as env:
            for name, path in timed.items():
                await record(env, name, path)
                print(f"recorded {path.name}")
    for name in todo.keys() & ON_A_DEV_SERVER.keys():
        async with await start_dev_server(SUGGEST_AFTER_EVENTS) as env:
            await record(env, name, todo[name])
            print(f"recorded {todo[name].name}")


if __name__ == "__main__":
    asyncio.run(main())
