"""Faults on the real dev server with a file database and the simulator: the worker process is
killed (SIGKILL) at random points, ten times, while inquiries run. Afterwards every inquiry has
completed, each department saw one case per inquiry, and each audit row exists once."""

from __future__ import annotations

import asyncio
import collections
import os
import random
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from activities.store import list_outbox
from audit.verify import verify_store
from tests.integration.conftest import Stack
from tests.integration.helpers import REVIEWER, audit, status_when
from tests.support import binary, intake, new_id

ROOT = Path(__file__).resolve().parents[2]
KILLS = 10
INQUIRIES = 6
ONCE_PER_INQUIRY = ("inquiry_received", "owner_assigned", "resolution_communicated")


def worker_env(stack: Stack, queue: str, folder: Path) -> dict[str, str]:
    settings = stack.settings
    return (
        os.environ
        | stack.simulator.department_env()
        | {
            "TEMPORAL_ADDRESS": stack.address,
            "TEMPORAL_NAMESPACE": "default",
            "INQUIRY_TASK_QUEUE": queue,
            "DATABASE_URL": settings.database_url,
            "INQUIRY_MASTER_KEYS_FILE": str(settings.master_keys_file),
            "POLICY_PATH": str(settings.policy_path),
            "METRICS_PORT": "0",
            "INQUIRY_AUDIT_SIGNING_KEY_FILE": str(folder / "audit-key.pem"),
            "INQUIRY_AUDIT_CHECKPOINT_DIR": str(folder / "checkpoints"),
            "PYTHONUNBUFFERED": "1",
        }
    )


@asynccontextmanager
async def worker_process(env: dict[str, str], log: Path) -> AsyncIterator[Any]:
    """`python worker.py` as its own process, yielded once it polls; killed with SIGKILL after."""
    ready = "worker polling task queue"
    before = log.read_text().count(ready) if log.exists() else 0
    with log.open("a") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "worker.py", cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        async with asyncio.timeout(60):
            while log.read_text().count(ready) == before:
                assert process.returncode is None, f"the worker exited: {log.read_text()}"
                await asyncio.sleep(0.05)
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await process.wait()


async def approve_when_ready(handle: Any) -> None:
    """The reviewer, approving as soon as the draft waits (the worker may be down meanwhile)."""
    await status_when(handle, lambda s: s.stage == "awaiting_compliance", timeout_s=240)
    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})


async def test_the_worker_killed_ten_times_loses_and_duplicates_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    queue = new_id("faults")
    env, log = worker_env(stack, queue, tmp_path), tmp_path / "worker.log"
    payloads = [intake(new_id("FAULT")) for _ in range(INQUIRIES)]
    handles = [
        await stack.client.start_workflow(
            "RegulatedInquiry", p, id=f"inquiry-{p['inquiry_id']}", task_queue=queue
        )
        for p in payloads
    ]
    reviewers = [asyncio.create_task(approve_when_ready(h)) for h in handles]
    chance = random.Random(20261201)

    for _ in range(KILLS):
        async with worker_process(env, log):
            await asyncio.sleep(chance.uniform(0.2, 2.0))  # then SIGKILL, mid-step
    async with worker_process(env, log):
        await asyncio.gather(*reviewers)
        async with asyncio.timeout(240):
            outcomes = [await h.result() for h in handles]

    assert log.read_text().count("worker polling task queue") == KILLS + 1
    assert [o["stage"] for o in outcomes] == ["closed"] * INQUIRIES
    ids = {p["inquiry_id"] for p in payloads}
    cases = collections.defaultdict(set)
    for request in stack.simulator.desk.requests:
        inquiry = request["json"].get("inquiry_id")
        if inquiry in ids and request["case_ref"]:
            cases[(inquiry, request["department"])].add(request["case_ref"])
    assert len(cases) == 3 * INQUIRIES  # billing, clinical and legal for each
    assert all(len(refs) == 1 for refs in cases.values()), cases
    for inquiry_id in ids:
        actions = collections.Counter(row.action for row in audit(stack, inquiry_id))
        assert all(actions[a] == 1 for a in ONCE_PER_INQUIRY), (inquiry_id, actions)
        assert verify_store(stack.engine, inquiry_id=inquiry_id).ok
        with Session(stack.engine) as session:
            sent = [m.kind for m in list_outbox(session=session, inquiry_id=inquiry_id)]
        assert sent.count("resolution") == 1 and sent.count("acknowledgement") == 1


async def test_two_workers_share_the_queue_and_one_stopping_loses_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    queue = new_id("pair")
    env = worker_env(stack, queue, tmp_path)
    payloads = [intake(new_id("PAIR")) for _ in range(INQUIRIES)]

    async with worker_process(env, tmp_path / "staying.log"):
        async with worker_process(env, tmp_path / "leaving.log") as leaving:
            handles = [
                await stack.client.start_workflow(
                    "RegulatedInquiry", p, id=f"inquiry-{p['inquiry_id']}", task_queue=queue
                )
                for p in payloads
            ]
            reviewers = [asyncio.create_task(approve_when_ready(h)) for h in handles]
            await asyncio.sleep(1.0)
            leaving.send_signal(signal.SIGTERM)  # a deploy: it finishes what it runs, then goes
            async with asyncio.timeout(60):
                assert await leaving.wait() == 0
        await asyncio.gather(*reviewers)
        async with asyncio.timeout(240):
            outcomes = [await h.result() for h in handles]

    assert [o["stage"] for o in outcomes] == ["closed"] * INQUIRIES
    assert "worker stopped" in (tmp_path / "leaving.log").read_text()
    for payload in payloads:
        actions = collections.Counter(row.action for row in audit(stack, payload["inquiry_id"]))
        assert all(actions[a] == 1 for a in ONCE_PER_INQUIRY), actions


async def test_the_dev_server_stopped_and_restarted_mid_flight_loses_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    # A server of its own on a file database, restarted on the same port; the session's store
    # and keys (its client's converter), so the worker process and this test read alike.
    port = free_port()
    options: dict[str, Any] = {
        "data_converter": stack.client.data_converter,
        "dev_server_existing_path": binary("temporal"),
        "dev_server_log_level": "error",
        "port": port,
        "dev_server_extra_args": ["--db-filename", str(tmp_path / "temporal.db")],
    }
    queue = new_id("restart")
    env = worker_env(stack, queue, tmp_path) | {"TEMPORAL_ADDRESS": f"127.0.0.1:{port}"}
    payloads = [intake(new_id("RESTART")) for _ in range(INQUIRIES)]

    server = await WorkflowEnvironment.start_local(**options)
    try:
        async with worker_process(env, tmp_path / "worker.log"):
            for p in payloads:
                await server.client.start_workflow(
                    "RegulatedInquiry", p, id=f"inquiry-{p['inquiry_id']}", task_queue=queue
                )
            await asyncio.sleep(0.5)  # mid-flight: triage, routing, drafting under way
            await server.shutdown()
            await asyncio.sleep(2.0)
            server = await WorkflowEnvironment.start_local(**options)
            handles = [
                server.client.get_workflow_handle(f"inquiry-{p['inquiry_id']}") for p in payloads
            ]
            await asyncio.gather(*(approve_when_ready(h) for h in handles))
            async with asyncio.timeout(240):
                outcomes = [await h.result() for h in handles]
    finally:
        await server.shutdown()

    assert [o["stage"] for o in outcomes] == ["closed"] * INQUIRIES
    for payload in payloads:
        actions = collections.Counter(row.action for row in audit(stack, payload["inquiry_id"]))
        assert all(actions[a] == 1 for a in ONCE_PER_INQUIRY), actions


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
