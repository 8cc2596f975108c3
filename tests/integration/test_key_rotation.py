"""A master key rotated while an inquiry waits for its reviewer: the inquiry finishes under the
new key, and after the rewrap its whole history still decodes without the old key."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from temporalio.client import Client

import clients
from encryption.master import new_key
from models.contract import InquiryIntake, workflow_id_for
from models.settings import Settings
from models.status import InquiryOutcome, InquiryStatus
from tests.integration.conftest import Stack
from tests.integration.helpers import approve, status_when
from tests.support import intake, new_id
from worker import running_worker


@asynccontextmanager
async def connected(stack: Stack, settings: Settings) -> AsyncIterator[Client]:
    async with clients.data_keys(settings) as keys:
        yield await clients.connect(keys, {"TEMPORAL_ADDRESS": stack.address})


def ring(active: str, keys: dict[str, str]) -> SecretStr:
    return SecretStr(json.dumps({"active": active, "keys": keys}))


async def test_rotation_mid_flight_keeps_the_inquiry_running_and_its_history_readable(
    stack: Stack, tmp_path: Path
) -> None:
    old, new = {"old": new_key()}, {"new": new_key()}
    before = stack.settings.model_copy(
        update={
            "task_queue": new_id("rotation-queue"),
            # A store of its own: rewrapping must not touch the session stack's keys.
            "database_url": f"sqlite:///{tmp_path / 'rotation.db'}",
            "master_keys": ring("old", old),
        }
    )
    rotated = before.model_copy(update={"master_keys": ring("new", old | new)})
    retired = before.model_copy(update={"master_keys": ring("new", new)})
    payload = intake(new_id("ROT"))
    workflow_id = workflow_id_for(payload["inquiry_id"])

    async with connected(stack, before) as client, running_worker(client, before):
        handle = await client.start_workflow(
            "RegulatedInquiry", payload, id=workflow_id, task_queue=before.task_queue
        )
        await status_when(handle, lambda s: s.stage == "awaiting_compliance")

    async with connected(stack, rotated) as client, running_worker(client, rotated):
        handle = client.get_workflow_handle(workflow_id, result_type=InquiryOutcome)
        await approve(handle)
        outcome: InquiryOutcome = await handle.result()
        assert outcome.stage == "closed"
    async with clients.data_keys(rotated) as keys:
        assert keys.rewrap() >= 1
        assert set(keys.master_key_ids_in_use()) == {"new"}

    # Without the old key at all: the history decodes, and a worker replays it for a query.
    async with connected(stack, retired) as client, running_worker(client, retired):
        handle = client.get_workflow_handle(workflow_id, result_type=InquiryOutcome)
        assert (await handle.result()).stage == "closed"
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        [given] = await client.data_converter.decode(started.input.payloads, [InquiryIntake])
        assert given.body == payload["body"]
        status: Any = await handle.query("status", result_type=InquiryStatus)
        assert status.stage == "closed"
