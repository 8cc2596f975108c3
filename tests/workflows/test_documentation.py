"""The audit trail when the store refuses to write it: a bounded number of attempts, then the
events are held, the owner is told once, and they are written, in order and once, as soon as
the store accepts them. The inquiry never fails or stops over it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from models.contract import Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import OWNER, World
from workflows import policies

# Longer than STORE_RETRY's attempts take (1 + 2 + 4 + 8 + 10 + ... + 10 s, about two minutes).
RETRIES = timedelta(minutes=3)


async def test_a_refusing_store_holds_the_events_tells_the_owner_once_and_loses_nothing(
    env: WorkflowEnvironment, world: World
) -> None:
    world.store_refuses = True
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    await env.sleep(RETRIES)  # past every retry of the first write

    held = await drive.wait_for(
        handle, lambda s: s.undocumented_events > 0 and len(world.sent("owner_notice")) > 0,
        "events held and the owner told",
    )  # fmt: skip
    assert world.events == []
    assert world.refused_writes == policies.STORE_RETRY.maximum_attempts
    [notice] = world.sent("owner_notice")
    assert notice.recipient == held.owner
    assert "audit trail could not be written (StoreError)" in notice.body
    assert "Jordan" not in notice.body and "invoice" not in notice.body

    await env.sleep((policies.STORE_PAUSE + RETRIES) * 2)  # still refusing: no second notice
    assert len(world.sent("owner_notice")) == 1
    assert world.refused_writes == 3 * policies.STORE_RETRY.maximum_attempts

    world.store_refuses = False
    await env.sleep(policies.STORE_PAUSE)
    current = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    documented = await world.actions_done("stage_changed", 4)

    keys = [e.event_key for e in world.events]
    assert len(keys) == len(set(keys)) and keys == sorted(keys)
    assert [e.detail["to"] for e in documented][:3] == ["triaged", "routing", "drafting"]
    assert current.owner == held.owner
    assert (await handle.describe()).status is not None


async def test_a_customer_channel_that_stays_down_holds_the_message_and_tells_the_owner_once(
    env: WorkflowEnvironment, world: World
) -> None:
    world.customer_channel_down = True
    handle = await world.start(support.intake())
    await env.sleep(timedelta(minutes=10))  # past every attempt of the first send

    await drive.wait_for(handle, lambda s: len(world.sent("owner_notice")) > 0, "owner told")
    assert world.refused_deliveries == policies.DELIVERY_RETRY.maximum_attempts
    [notice] = world.sent("owner_notice")
    assert "acknowledgement to the customer could not be delivered (DeliveryFailed)" in notice.body
    assert "jordan@" not in notice.body and "550" not in notice.body

    await env.sleep(policies.DELIVERY_PAUSE * 2)  # still down: tried again, told no more
    assert world.refused_deliveries == 3 * policies.DELIVERY_RETRY.maximum_attempts
    assert len(world.sent("owner_notice")) == 1

    world.customer_channel_down = False
    await env.sleep(policies.DELIVERY_PAUSE)
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    assert len(world.sent("acknowledgement")) == 1
    [held] = await world.actions_done("delivery_held", 1)
    assert held.detail["cause"] == "DeliveryFailed" and "550" not in str(held.detail)


async def test_a_local_step_that_keeps_failing_is_held_and_retried_never_without_end(
    env: WorkflowEnvironment, world: World
) -> None:
    world.roster_down = True
    handle = await world.start(support.intake())
    await env.sleep(timedelta(minutes=4))  # past every attempt of the first round

    def attempts() -> int:
        return world.calls.count("take_in")

    assert attempts() == policies.LOCAL_RETRY.maximum_attempts
    await env.sleep((policies.LOCAL_PAUSE + timedelta(minutes=3)) * 2)  # two more rounds
    assert attempts() == 3 * policies.LOCAL_RETRY.maximum_attempts

    world.roster_down = False
    await env.sleep(policies.LOCAL_PAUSE)
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    [held] = await world.actions_done("step_held", 1)
    assert held.detail == {"step": "take the inquiry in", "cause": "ConfigUnavailable"}


async def test_a_flood_of_long_notes_is_written_in_batches_that_fit_a_payload(
    env: WorkflowEnvironment, world: World
) -> None:
    # 100 notes of the longest text the contract allows, all at once: 2 MB of words, where one
    # activity's input must stay under Temporal's 2 MiB.
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    await asyncio.gather(
        *(
            handle.signal("add_note", {"author_id": OWNER, "text": f"{n} ".ljust(20000, "x")})
            for n in range(100)
        )
    )

    notes = await world.actions_done("note_added", 100)

    assert sorted(int(n.detail["text"].split()[0]) for n in notes) == list(range(100))
    assert max(world.write_sizes) < policies.AUDIT_BATCH_BYTES + 64 * 1024
    assert (await drive.status(handle)).stage == Stage.AWAITING_COMPLIANCE
