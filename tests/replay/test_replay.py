"""Every recorded history in `histories/` must replay on today's RegulatedInquiry without
nondeterminism: the promise that runs open in production survive a deploy. Recording new
histories: see `tests/replay/record.py`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from models.contract import workflow_id_for
from tests.replay.record import HISTORIES, inquiry_id_for
from workflows.inquiry import RegulatedInquiry
from workflows.runner import workflow_runner

RECORDED = sorted(HISTORIES.glob("*.json"))


def load(path: Path, tamper: dict[str, str] | None = None) -> WorkflowHistory:
    """The history of `path`; its workflow id follows from the file name (see record.py)."""
    raw: dict[str, Any] = json.loads(path.read_text())
    for old, new in (tamper or {}).items():
        raw = json.loads(json.dumps(raw).replace(old, new))
    return WorkflowHistory.from_json(workflow_id_for(inquiry_id_for(path.stem)), raw)


def continued(path: Path) -> bool:
    """Whether the history is of a run continued as new (it starts mid-way, from a case)."""
    started = json.loads(path.read_text())["events"][0]["workflowExecutionStartedEventAttributes"]
    return bool(started.get("continuedExecutionRunId"))


async def replay(history: WorkflowHistory) -> None:
    # Recorded unencrypted (record.py says why); the payload converter is the worker's.
    replayer = Replayer(
        workflows=[RegulatedInquiry],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)


def test_there_are_recorded_histories_to_replay() -> None:
    assert RECORDED, f"no histories in {HISTORIES}: run python -m tests.replay.record"
    assert any(continued(p) for p in RECORDED), "no history of a run continued as new"


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_recorded_history_replays_deterministically(path: Path) -> None:
    await replay(load(path))


async def test_replay_fails_when_the_workflow_would_act_differently() -> None:
    assert RECORDED
    # As if the recorded run had scheduled a differently named activity first.
    changed = load(RECORDED[0], tamper={'"take_in"': '"take_in_v0"'})

    with pytest.raises(NondeterminismError):
        await replay(changed)
