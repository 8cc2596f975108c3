"""Faults on the real dev server with a file database and the simulator: the worker process
killed (SIGKILL) at random points, ten times; the server restarted mid-flight; two workers on
one queue and one stopping; PostgreSQL out of reach for a minute. Afterwards every inquiry has
completed, each department saw one case per inquiry, and each audit row exists once.

Each test has a store of its own (SQLite in its folder, its own keys): a killed worker process
must not share a database file with the rest of the session."""

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

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import clients
from activities.store import list_audit, list_outbox
from audit.verify import verify_store
from tests.integration.conftest import Stack
from tests.integration.helpers import REVIEWER, status_when
from tests.outage import Outage, postgres_schema
from tests.support import binary, data_keys, intake, master_key_file, new_id

ROOT = Path(__file__).resolve().parents[2]
KILLS = 10
INQUIRIES = 6
ONCE_PER_INQUIRY = ("inquiry_received", "owner_assigned", "resolution_communicated")


class Store:
    """A test's own store and keys in `folder` (or at `url`), with a client that reads its
    payloads."""

    def __init__(self, folder: Path, url: str | None = None) -> None:
        self.folder = folder
        self.url = url or f"sqlite:///{folder / 'inquiries.db'}"
        self.keys = data_keys(folder, url)
        self.converter = clients.data_converter(self.keys)

    @property
    def engine(self) -> Engine:
        return self.keys.engine

    def actions(self, inquiry_id: str) -> collections.Counter[str]:
        with Session(self.engine) as session:
            return collections.Counter(
                r.action for r in list_audit(session=session, inquiry_id=inquiry_id)
            )

    async def client(self, address: str) -> Client:
        return await Client.connect(address, data_converter=self.converter)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path)


def worker_env(stack: Stack, queue: str, store: Store) -> dict[str, str]:
    folder = store.folder
    return (
        os.environ
        | stack.simulator.department_env()
        | {
            "TEMPORAL_ADDRESS": stack.address,
            "TEMPORAL_NAMESPACE": "default",
            "INQUIRY_TASK_QUEUE": queue,
            "DATABASE_URL": store.url,
            "INQUIRY_MASTER_KEYS_FILE": str(master_key_file(folder)),
            "POLICY_PATH": str(stack.settings.policy_path),
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


async def start_all(client: Client, queue: str, payloads: list[dict[str, Any]]) -> list[Any]:
    return [
        await client.start_workflow(
            "RegulatedInquiry", p, id=f"inquiry-{p['inquiry_id']}", task_queue=queue
        )
        for p in payloads
    ]


def once_each(store: Store, payloads: list[dict[str, Any]]) -> None:
    """Each once-only event documented once, each chain verifying, one resolution sent."""
    for payload in payloads:
        inquiry_id = payload["inquiry_id"]
        actions = store.actions(inquiry_id)
        assert all(actions[a] == 1 for a in ONCE_PER_INQUIRY), (inquiry_id, actions)
        assert verify_store(store.engine, inquiry_id=inquiry_id).ok
        with Session(store.engine) as session:
            sent = [m.kind for m in list_outbox(session=session, inquiry_id=inquiry_id)]
        assert sent.count("resolution") == 1 and sent.count("acknowledgement") == 1


async def test_the_worker_killed_ten_times_loses_and_duplicates_nothing(
    stack: Stack, store: Store
) -> None:
    queue = new_id("faults")
    env, log = worker_env(stack, queue, store), store.folder / "worker.log"
    payloads = [intake(new_id("FAULT")) for _ in range(INQUIRIES)]
    handles = await start_all(await store.client(stack.address), queue, payloads)
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
    once_each(store, payloads)


async def test_two_workers_share_the_queue_and_one_stopping_loses_nothing(
    stack: Stack, store: Store
) -> None:
    queue = new_id("pair")
    env = worker_env(stack, queue, store)
    payloads = [intake(new_id("PAIR")) for _ in range(INQUIRIES)]

    async with worker_process(env, store.folder / "staying.log"):
        async with worker_process(env, store.folder / "leaving.log") as leaving:
            handles = await start_all(await store.client(stack.address), queue, payloads)
            reviewers = [asyncio.create_task(approve_when_ready(h)) for h in handles]
            await asyncio.sleep(1.0)
            leaving.send_signal(signal.SIGTERM)  # a deploy: it finishes what it runs, then goes
            async with asyncio.timeout(60):
                assert await leaving.wait() == 0
        await asyncio.gather(*reviewers)
        async with asyncio.timeout(240):
            outcomes = [await h.result() for h in handles]

    assert [o["stage"] for o in outcomes] == ["closed"] * INQUIRIES
    assert "worker stopped" in (store.folder / "leaving.log").read_text()
    once_each(store, payloads)


async def test_the_dev_server_stopped_and_restarted_mid_flight_loses_nothing(
    stack: Stack, store: Store
) -> None:
    # A server of its own on a file database, restarted on the same port.
    port = free_port()
    options: dict[str, Any] = {
        "data_converter": store.converter,
        "dev_server_existing_path": binary("temporal"),
        "dev_server_log_level": "error",
        "port": port,
        "dev_server_extra_args": ["--db-filename", str(store.folder / "temporal.db")],
    }
    queue = new_id("restart")
    env = worker_env(stack, queue, store) | {"TEMPORAL_ADDRESS": f"127.0.0.1:{port}"}
    payloads = [intake(new_id("RESTART")) for _ in range(INQUIRIES)]

    server = await WorkflowEnvironment.start_local(**options)
    try:
        async with worker_process(env, store.folder / "worker.log"):
            await start_all(server.client, queue, payloads)
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
    once_each(store, payloads)


async def test_postgresql_unavailable_for_a_minute_loses_nothing(
    stack: Stack, tmp_path: Path, db_postgres_server_url: str
) -> None:
    # The worker reaches PostgreSQL through a proxy that drops every connection and refuses new
    # ones for a minute; the test reads the store directly.
    async with postgres_schema(db_postgres_server_url) as direct, Outage(direct) as outage:
        store = Store(tmp_path, direct)
        queue = new_id("pg-outage")
        env = worker_env(stack, queue, store) | {"DATABASE_URL": outage.url}
        payloads = [intake(new_id("PGDOWN")) for _ in range(INQUIRIES)]
        async with worker_process(env, tmp_path / "worker.log"):
            handles = await start_all(await store.client(stack.address), queue, payloads)
            await asyncio.sleep(0.3)  # mid-flight: registering, triaging, documenting
            await outage.down()
            await asyncio.sleep(OUTAGE_S)
            await outage.up()
            await asyncio.gather(*(approve_when_ready(h) for h in handles))
            async with asyncio.timeout(300):
                outcomes = [await h.result() for h in handles]

        assert outage.dropped > 0  # the outage did cut the worker off
        assert [o["stage"] for o in outcomes] == ["closed"] * INQUIRIES
        once_each(store, payloads)


OUTAGE_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
