"""Chaos: inquiries run end to end while everything around them fails, and nothing is lost.

    .venv/bin/python scripts/chaos.py [--inquiries 200] [--concurrency 20] [--kills 8] [--seed 1]
                                      [--database-url postgresql://...] [--outage-seconds 45]

Starts its own Temporal dev server on a file database, the department simulator and a worker
process, all on loopback in a temporary folder, and plays the intake system and the reviewer
for N inquiries (each approved as soon as it awaits compliance). Meanwhile, at random moments:
the worker is killed (SIGKILL) and started again, the Temporal server is stopped and restarted
once on the same database, and the departments answer 5xx / 429 and slow down. Then it prints
what a reliability review asks for:

    started, completed, lost          every inquiry must complete: lost = started - completed
    duplicated department cases       a department opening two cases for one inquiry
    duplicated audit rows             a once-only event (received, owner assigned, resolution
                                      communicated) documented twice for one inquiry
    audit chains that fail to verify  (audit/verify.py)
    recovery after each fault         seconds from its end (worker running again, server or
                                      database back) until the next inquiry event is documented

The store is SQLite in the temporary folder, or with --database-url a fresh schema on that
PostgreSQL server, which the worker then reaches through a proxy: once, at a random moment, the
database is cut off (every connection dropped, new ones refused) for --outage-seconds. Exit
status 1 if anything was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import random
import signal
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session, col, select  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

import clients  # noqa: E402
from activities.db import make_engine  # noqa: E402
from audit.verify import verify_store  # noqa: E402
from models.contract import Department  # noqa: E402
from models.store import AuditRecord  # noqa: E402
from simulator.temporal_signaller import TemporalSignaller  # noqa: E402
from simulator.testing import serve_simulator  # noqa: E402
from tests.outage import Outage, postgres_schema  # noqa: E402
from tests.support import binary, data_keys, intake, master_key_file, new_id  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REVIEWER = "reviewer.rita"
ONCE = ("inquiry_received", "owner_assigned", "resolution_communicated")
QUICK = {"survey_delay": "PT1S", "survey_reminder": "PT1S", "survey_window": "PT2S"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Chaos:
    def __init__(self, folder: Path, seed: int, store_url: str | None, worker_url: str | None):
        self.folder = folder
        # The store as the report reads it, and as the worker reaches it (through the outage).
        self.store_url = store_url or f"sqlite:///{folder / 'inquiries.db'}"
        self.worker_url = worker_url or self.store_url
        self.chance = random.Random(seed)
        self.port = free_port()
        self.queue = new_id("chaos")
        # What failed, when it began and when it was over (worker running again, server or
        # database back): recovery is measured from the end.
        self.faults: list[tuple[str, datetime, datetime]] = []
        self.worker: asyncio.subprocess.Process | None = None
        self.server: WorkflowEnvironment | None = None
        self.keys = data_keys(folder, store_url)

    # --- the parts ------------------------------------------------------------------------

    async def start_server(self) -> Client:
        self.server = await WorkflowEnvironment.start_local(
            data_converter=clients.data_converter(self.keys),
            dev_server_existing_path=binary("temporal"),
            dev_server_log_level="error",
            port=self.port,
            dev_server_extra_args=["--db-filename", str(self.folder / "temporal.db")],
        )
        return self.server.client

    async def start_worker(self, env: dict[str, str]) -> None:
        log = self.folder / "worker.log"
        with log.open("a") as out:
            self.worker = await asyncio.create_subprocess_exec(
                sys.executable, "worker.py", cwd=ROOT, env=env, stdout=out, stderr=out
            )
        marks = log.read_text().count("worker polling task queue")
        while log.read_text().count("worker polling task queue") == marks:
            if self.worker.returncode is not None:
                raise RuntimeError(f"the worker exited; see {log}")
            await asyncio.sleep(0.05)

    def worker_env(self, departments: dict[str, str]) -> dict[str, str]:
        return (
            os.environ
            | departments
            | {
                "TEMPORAL_ADDRESS": f"127.0.0.1:{self.port}",
                "INQUIRY_TASK_QUEUE": self.queue,
                "DATABASE_URL": self.worker_url,
                "INQUIRY_MASTER_KEYS_FILE": str(master_key_file(self.folder)),
                "INQUIRY_ISSUER_JWKS_FILE": str(self.folder / "dev-issuer.jwks.json"),
                "INQUIRY_DEV_ISSUER_KEY_FILE": str(self.folder / "dev-issuer-key.pem"),
                "INQUIRY_AUDIT_SIGNING_KEY_FILE": str(self.folder / "audit-key.pem"),
                "INQUIRY_AUDIT_CHECKPOINT_DIR": str(self.folder / "checkpoints"),
                "METRICS_PORT": "0",
                "PYTHONUNBUFFERED": "1",
            }
        )

    # --- the faults -----------------------------------------------------------------------

    async def kill_worker(self, env: dict[str, str]) -> None:
        assert self.worker is not None
        began = datetime.now(UTC)
        self.worker.send_signal(signal.SIGKILL)
        await self.worker.wait()
        await asyncio.sleep(self.chance.uniform(0.0, 2.0))
        await self.start_worker(env)
        self.faults.append(("worker killed", began, datetime.now(UTC)))

    async def restart_server(self) -> Client:
        assert self.server is not None
        began = datetime.now(UTC)
        await self.server.shutdown()
        await asyncio.sleep(1.0)
        client = await self.start_server()
        self.faults.append(("server restarted", began, datetime.now(UTC)))
        return client

    async def cut_off_database(self, outage: Outage, seconds: float) -> None:
        began = datetime.now(UTC)
        await outage.down()
        await asyncio.sleep(seconds)
        await outage.up()
        self.faults.append(("database outage", began, datetime.now(UTC)))

    def unsettle_departments(self, desk: Any) -> None:
        department = self.chance.choice(list(Department))
        codes = [self.chance.choice([500, 502, 503, 429]) for _ in range(self.chance.randint(1, 4))]
        desk.configure(
            department, fail_next=codes, latency_s=self.chance.uniform(0.0, 0.4), retry_after=None
        )


async def drive(client_of: Any, queue: str, payload: dict[str, Any]) -> bool:
    """The intake system and the reviewer for one inquiry; True once it closed."""
    workflow_id = f"inquiry-{payload['inquiry_id']}"
    while True:
        try:
            handle = await client_of().start_workflow(
                "RegulatedInquiry", payload, id=workflow_id, task_queue=queue
            )
            break
        except Exception:  # noqa: BLE001 - the server may be restarting
            await asyncio.sleep(0.5)
    approved = False
    while True:
        try:
            handle = client_of().get_workflow_handle(workflow_id)
            described = await handle.describe()
            if described.status is not None and described.status.name == "COMPLETED":
                return True
            if described.status is not None and described.status.name != "RUNNING":
                return False
            if not approved:
                status = await handle.query("status")
                if status["stage"] == "awaiting_compliance":
                    await handle.signal(
                        "compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"}
                    )
                    approved = True
        except Exception:  # noqa: BLE001 - server restarting, worker down: ask again
            pass
        await asyncio.sleep(0.3)


async def main(
    inquiries: int,
    concurrency: int,
    kills: int,
    seed: int,
    database_url: str | None = None,
    outage_s: float = 45.0,
) -> int:
    with tempfile.TemporaryDirectory() as name:
        async with contextlib.AsyncExitStack() as stack:
            outage: Outage | None = None
            store_url: str | None = None
            if database_url is not None:
                store_url = await stack.enter_async_context(postgres_schema(database_url))
                outage = await stack.enter_async_context(Outage(store_url))
            chaos = Chaos(Path(name), seed, store_url, outage.url if outage else None)
            return await play(chaos, inquiries, concurrency, kills, outage, outage_s)


async def play(
    chaos: Chaos,
    inquiries: int,
    concurrency: int,
    kills: int,
    outage: Outage | None,
    outage_s: float,
) -> int:
    client = await chaos.start_server()
    current = {"client": client}
    async with serve_simulator(TemporalSignaller.using(client)) as sim:
        env = chaos.worker_env(sim.department_env())
        await chaos.start_worker(env)
        gate = asyncio.Semaphore(concurrency)
        payloads = [intake(new_id("CHAOS"), policy=QUICK) for _ in range(inquiries)]

        async def bounded(payload: dict[str, Any]) -> bool:
            async with gate:
                return await asyncio.wait_for(
                    drive(lambda: current["client"], chaos.queue, payload), timeout=600
                )

        began = time.perf_counter()
        runs = [asyncio.create_task(bounded(p)) for p in payloads]
        restart_at = chaos.chance.randint(1, max(1, kills))
        outage_at = chaos.chance.randint(1, max(1, kills))
        for n in range(1, kills + 1):
            await asyncio.sleep(chaos.chance.uniform(1.0, 4.0))
            chaos.unsettle_departments(sim.desk)
            await chaos.kill_worker(env)
            if n == restart_at:
                current["client"] = await chaos.restart_server()
            if n == outage_at and outage is not None:
                await chaos.cut_off_database(outage, outage_s)
        results = await asyncio.gather(*runs, return_exceptions=True)
        took = time.perf_counter() - began
        requests = list(sim.desk.requests)
        assert chaos.worker is not None
        chaos.worker.send_signal(signal.SIGTERM)
        await chaos.worker.wait()
    assert chaos.server is not None
    await chaos.server.shutdown()
    return report(chaos, payloads, results, requests, took)


def report(
    chaos: Chaos,
    payloads: list[dict[str, Any]],
    results: list[Any],
    requests: list[dict[str, Any]],
    took: float,
) -> int:
    ids = {p["inquiry_id"] for p in payloads}
    completed = sum(1 for r in results if r is True)
    cases: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    for request in requests:
        body = request["json"] if isinstance(request["json"], dict) else {}
        inquiry = str(body.get("inquiry_id"))
        if inquiry in ids and request["case_ref"]:
            cases[(inquiry, str(request["department"]))].add(str(request["case_ref"]))
    duplicated_cases = sum(len(refs) - 1 for refs in cases.values())
    engine = make_engine(chaos.store_url)
    with Session(engine) as session:
        rows = session.exec(
            select(AuditRecord.inquiry_id, AuditRecord.action, AuditRecord.at).where(
                col(AuditRecord.inquiry_id).in_(ids)
            )
        ).all()
    once = collections.Counter((i, a) for i, a, _ in rows if a in ONCE)
    duplicated_rows = sum(n - 1 for n in once.values() if n > 1)
    failing = [i for i in sorted(ids) if not verify_store(engine, inquiry_id=i).ok]
    times = sorted(at for _, _, at in rows)
    recovery = []
    for _, _, ended in chaos.faults:
        after = next((t for t in times if t > ended), None)
        overlapped = after is not None and any(ended < b < after for _, b, _ in chaos.faults)
        seconds = (after - ended).total_seconds() if after else float("nan")
        recovery.append(f"{seconds:.1f}s" + (" (the next fault came first)" if overlapped else ""))
    engine.dispose()

    played = collections.Counter(what for what, _, _ in chaos.faults)
    print(f"machine              {os.cpu_count()} cores")
    print(
        f"faults               {played['worker killed']} worker kills, "
        f"{played['server restarted']} server restart, {played['database outage']} database "
        "outage, department 5xx"
    )
    print(f"started              {len(payloads)}")
    print(f"completed            {completed} in {took:.1f}s")
    print(f"lost                 {len(payloads) - completed}")
    print(f"duplicated cases     {duplicated_cases}")
    print(f"duplicated audit     {duplicated_rows}")
    print(f"chains not verifying {len(failing)}")
    print("recovery             (from the fault's end to the next documented event)")
    for (what, _, _), figure in zip(chaos.faults, recovery, strict=True):
        print(f"  {what:<19}{figure}")
    bad = len(payloads) - completed + duplicated_cases + duplicated_rows + len(failing)
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inquiries", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--kills", type=int, default=8, help="worker kills (SIGKILL)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="PostgreSQL server to run the store on (outage)")
    parser.add_argument("--outage-seconds", type=float, default=45.0)
    args = parser.parse_args()
    sys.exit(
        asyncio.run(
            main(
                args.inquiries,
                args.concurrency,
                args.kills,
                args.seed,
                args.database_url,
                args.outage_seconds,
            )
        )
    )
