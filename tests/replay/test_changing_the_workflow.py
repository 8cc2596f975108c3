"""Changing RegulatedInquiry while runs are open, worked through on one change: the departments
are sent the case before the customer is acknowledged, instead of after (README: "Changing a
workflow while runs are open").

- Made plainly, the change breaks every recorded history: a run open in production would fail
  its next workflow task after the deploy. The replay gate catches it.
- Made behind `workflow.patched`, old histories replay on the old path and new runs take the new
  one, so the same change can be deployed while runs are open.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio import workflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from models.contract import Stage
from tests.replay.test_replay import RECORDED, continued, load
from workflows import routing, stages
from workflows.case import Case
from workflows.inquiry import RegulatedInquiry

PATCH = "route-before-acknowledging"


# The step as the workflow has it; each variant puts its own in its place (the replayer runs
# unsandboxed, so the module attribute the workflow calls is the one the test sets).
ACKNOWLEDGE = stages.acknowledge


async def _acknowledged_later(case: Case) -> None:
    pass  # after routing, in _lifecycle below


async def _acknowledged_unless_patched(case: Case) -> None:
    if not workflow.patched(PATCH):
        await ACKNOWLEDGE(case)


@workflow.defn(name="RegulatedInquiry")
class Reordered(RegulatedInquiry):
    """The change made plainly: routing and the acknowledgement swapped."""

    acknowledge = staticmethod(_acknowledged_later)

    @workflow.run
    async def run(self, *args: Any) -> Any:
        return await super().run(*args)

    async def _lifecycle(self, case: Case, resume: Stage | None) -> None:
        if resume is None:
            await routing.route(case)
            await ACKNOWLEDGE(case)
            resume = Stage.DRAFTING
        await super()._lifecycle(case, resume)


@workflow.defn(name="RegulatedInquiry")
class Patched(RegulatedInquiry):
    """The same change behind a patch: step 1 of the procedure."""

    acknowledge = staticmethod(_acknowledged_unless_patched)

    @workflow.run
    async def run(self, *args: Any) -> Any:
        return await super().run(*args)

    async def _lifecycle(self, case: Case, resume: Stage | None) -> None:
        if resume is None and workflow.patched(PATCH):
            await routing.route(case)
            await ACKNOWLEDGE(case)
            resume = Stage.DRAFTING
        await super()._lifecycle(case, resume)


async def replay_with(workflow_class: type, history: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Unsandboxed: these variants live in a test module, which the sandbox would re-import; the
    # production replay gate (test_replay.py) runs in the sandbox.
    monkeypatch.setattr(stages, "acknowledge", workflow_class.acknowledge)
    replayer = Replayer(
        workflows=[workflow_class],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    await replayer.replay_workflow(history)


# Runs that start at intake (a continued run resumes past the acknowledgement, where nothing was
# reordered).
FROM_INTAKE = [p for p in RECORDED if not continued(p)][:3]


@pytest.mark.parametrize("path", FROM_INTAKE, ids=[p.stem for p in FROM_INTAKE])
async def test_reordering_two_activities_fails_the_replay_gate(
    path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NondeterminismError):
        await replay_with(Reordered, load(path), monkeypatch)


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_the_same_change_behind_a_patch_replays_every_recorded_history(
    path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await replay_with(Patched, load(path), monkeypatch)
