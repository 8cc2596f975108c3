"""Benchmark: how fast and how heavy inquiries are, end to end, on the real stack.

    .venv/bin/python scripts/benchmark.py [--inquiries 50] [--concurrency 20] [--latency 0]

Starts its own Temporal dev server, department simulator and worker (all on loopback, in a
temporary folder), runs the given number of inquiries concurrently from intake to closed (each
approved by a reviewer as soon as it awaits compliance), and prints figures: throughput, time
to the compliance checkpoint and to closure (p50 / p95 / max), history events and bytes per
inquiry, billable actions per inquiry (bench/costs.py), and the process's peak memory. Nothing
here asserts: compare the figures between changes.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.testing import WorkflowEnvironment  # noqa: E402

import clients  # noqa: E402
from bench import costs  # noqa: E402
from models.contract import Department  # noqa: E402
from models.settings import Settings  # noqa: E402
from models.status import InquiryOutcome, InquiryStatus  # noqa: E402
from simulator.temporal_signaller import TemporalSignaller  # noqa: E402
from simulator.testing import serve_simulator  # noqa: E402
from tests.support import binary, data_keys, intake, master_key_file, new_id  # noqa: E402
from worker import running_worker  # noqa: E402

REVIEWER = "reviewer.rita"


async def one_inquiry(
    env: WorkflowEnvironment, queue: str
) -> tuple[float, float, int, int, Counter[str]]:
    # One second of follow-up instead of a week, through the contract's own overrides.
    quick = {"survey_delay": "PT1S", "survey_reminder": "PT1S", "survey_window": "PT1S"}
    payload = intake(new_id("BENCH"), policy=quick)
    began = time.perf_counter()
    handle = await env.client.start_workflow(
        "RegulatedInquiry", payload, id=f"inquiry-{payload['inquiry_id']}", task_queue=queue,
        result_type=InquiryOutcome,
    )  # fmt: skip
    while True:
        try:
            status = await handle.query("status", result_type=InquiryStatus)
            if status.stage == "awaiting_compliance":
                break
        except Exception:  # noqa: BLE001 - not queryable until its first task ran
            pass
        await asyncio.sleep(0.05)
    held = time.perf_counter() - began
    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    await handle.result()  # after one second of follow-up
    closed = time.perf_counter() - began
    history = await handle.fetch_history()
    events = list(history.events)
    return held, closed, len(events), sum(e.ByteSize() for e in events), costs.actions(events)


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered):6.3f}s  p95 {p95:6.3f}s  max {ordered[-1]:6.3f}s"


async def main(inquiries: int, concurrency: int, latency: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        keys = data_keys(Path(folder))
        env = await WorkflowEnvironment.start_local(
            data_converter=clients.data_converter(keys),
            dev_server_existing_path=binary("temporal"),
            dev_server_log_level="error",
        )
        async with env, serve_simulator(TemporalSignaller.using(env.client)) as sim:
            for department in Department:
                sim.desk.configure(department, latency_s=latency)
            settings = Settings.model_validate(
                {
                    "DATABASE_URL": f"sqlite:///{folder}/inquiries.db",
                    "INQUIRY_MASTER_KEYS_FILE": str(master_key_file(Path(folder))),
                    **sim.department_env(),
                }
            )
            async with running_worker(env.client, settings):
                gate = asyncio.Semaphore(concurrency)

                async def bounded() -> tuple[float, float, int, int, Counter[str]]:
                    async with gate:
                        return await one_inquiry(env, settings.task_queue)

                began = time.perf_counter()
                results = await asyncio.gather(*(bounded() for _ in range(inquiries)))
                took = time.perf_counter() - began

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"inquiries            {inquiries} (concurrency {concurrency}, latency {latency}s)")
    print(
        f"wall time            {took:.2f}s  ->  {inquiries / took:.1f} inquiries/s intake to closed"
    )
    print(f"to checkpoint        {spread([r[0] for r in results])}")
    print(f"to closed            {spread([r[1] for r in results])} (incl. 1 s follow-up)")
    print(f"history events       mean {statistics.mean(r[2] for r in results):.0f} per inquiry")
    kib = statistics.mean(r[3] for r in results) / 1024
    print(f"history size         mean {kib:.1f} KiB per inquiry (events as stored)")
    spent: Counter[str] = sum((r[4] for r in results), Counter())
    kinds = ", ".join(f"{kind} {n / inquiries:.1f}" for kind, n in spent.most_common())
    print(
        f"billable actions     mean {spent.total() / inquiries:.1f} per inquiry ({kinds}; "
        "counting rules: bench/costs.py)"
    )
    print(f"peak memory (RSS)    {peak_mib:.0f} MiB (worker, simulator and client in one process)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inquiries", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each department takes")
    args = parser.parse_args()
    asyncio.run(main(args.inquiries, args.concurrency, args.latency))
