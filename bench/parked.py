"""Parked inquiries: N waiting at the compliance checkpoint, as after a busy week.

Reports the worker's memory with its default cache and then with a bounded one (a fresh worker
that has touched every parked inquiry once, so its cache is full), the visibility query a
reviewer's queue runs, and how long one approval takes to take effect (the `compliance_decision`
Update's round trip, which answers once the workflow applied it) on the oldest and the newest.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from temporalio.client import Client, WorkflowHandle

from bench.drive import REVIEWER
from bench.measure import percentile, usage
from models.contract import workflow_id_for
from models.settings import Settings
from workflows.visibility import list_query

TIER_3_EVERY = 4  # one inquiry in four is a tier 3 legal matter; the rest are tier 2
TIER_3_MATTER = {
    "sector": "legal",
    "channel": "phone",
    "subject": "Upset client: case documents",
    "body": "an upset client who believes sensitive case documents were shared inappropriately",
}
QUEUE_QUERY = list_query(stage="awaiting_compliance", tier=3)
VISIBILITY_TRIES = 20


async def measure(
    stack: Any, client: Client, args: Any, make_intake: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """`stack` is the running scripts/devstack.py stack; `args` the benchmark's options."""
    n = args.parked
    worker_pid = _pid(stack, "worker")
    idle = usage(worker_pid).rss_mib
    began = time.perf_counter()
    ids = await park(client, n, args.concurrency, make_intake)
    reached = time.perf_counter() - began
    default = usage(worker_pid).rss_mib
    visibility = await visibility_latency(client)
    approvals = {  # both are tier 2: see park()
        "oldest_s": await approval_takes(client, ids[0]),
        "newest_s": await approval_takes(client, ids[-1]),
    }
    # A fresh worker with a bounded cache, which then meets every parked inquiry once.
    env = {"INQUIRY_MAX_CACHED_WORKFLOWS": str(args.bounded_cache)}
    worker_pid = await stack.restart_worker(env)
    bounded_idle = usage(worker_pid).rss_mib
    still = ids[1:-1]
    # The oldest and newest still waiting that one reviewer may approve (not a tier 3 matter).
    plain = [i for n, i in enumerate(ids) if 0 < n < len(ids) - 1 and n % TIER_3_EVERY != 1]
    for start in range(0, len(still), args.concurrency):
        batch = still[start : start + args.concurrency]
        await asyncio.gather(*(client.get_workflow_handle(i).query("status") for i in batch))
    bounded = usage(worker_pid).rss_mib
    cached = min(n, Settings.model_fields["max_cached_workflows"].default)
    figures = {
        "parked": n,
        "reached_per_s": n / reached,
        "worker_rss_mib": {
            "idle": idle,
            "default_cache": default,
            "per_cached_inquiry_default": (default - idle) / cached,
            "bounded_cache": args.bounded_cache,
            "bounded_idle": bounded_idle,
            "bounded_after_touching_all": bounded,
            "per_cached_inquiry_bounded": (bounded - bounded_idle) / min(n, args.bounded_cache),
        },
        "visibility_query": QUEUE_QUERY,
        "visibility_s": visibility,
        "approval_takes_effect_s": approvals,
        "approval_takes_effect_bounded_s": {
            "oldest_s": await approval_takes(client, plain[0]),
            "newest_s": await approval_takes(client, plain[-1]),
        },
    }
    return figures


async def park(
    client: Client, n: int, concurrency: int, make_intake: Callable[[], dict[str, Any]]
) -> list[str]:
    """Start `n` inquiries, oldest first, and wait until all of them await compliance. One in
    TIER_3_EVERY is a tier 3 matter, never the first or the last."""
    ids: list[str] = []
    for start in range(0, n, concurrency):
        payloads = [
            make_intake() | (TIER_3_MATTER if i % TIER_3_EVERY == 1 and i < n - 1 else {})
            for i in range(start, min(n, start + concurrency))
        ]
        handles = await asyncio.gather(
            *(
                client.start_workflow(
                    "RegulatedInquiry",
                    p,
                    id=workflow_id_for(p["inquiry_id"]),
                    task_queue="regulated-inquiries",
                )
                for p in payloads
            )
        )
        ids += [h.id for h in handles]
    waiting = list_query(stage="awaiting_compliance")
    while (await client.count_workflows(waiting)).count < n:
        await asyncio.sleep(0.5)
    return ids


async def visibility_latency(client: Client) -> dict[str, float]:
    took = []
    for _ in range(VISIBILITY_TRIES):
        began = time.perf_counter()
        await client.count_workflows(QUEUE_QUERY)
        async for _ in client.list_workflows(QUEUE_QUERY, page_size=50, limit=50):
            pass
        took.append(time.perf_counter() - began)
    return {"p50": statistics.median(took), "p99": percentile(took, 0.99), "max": max(took)}


async def approval_takes(client: Client, workflow_id: str) -> float:
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(workflow_id)
    began = time.perf_counter()
    verdict = await handle.execute_update(
        "compliance_decision",
        {"reviewer_id": REVIEWER, "decision": "approve"},
        result_type=dict,
    )
    took = time.perf_counter() - began
    if not verdict.get("accepted"):
        raise RuntimeError(f"the approval of {workflow_id} was refused: {verdict.get('reason')}")
    return took


def render(f: dict[str, Any]) -> str:
    rss = f["worker_rss_mib"]
    vis, ok, okb = (
        f["visibility_s"],
        f["approval_takes_effect_s"],
        f["approval_takes_effect_bounded_s"],
    )
    return "\n".join(
        [
            f"parked                 {f['parked']} at awaiting_compliance "
            f"(reached at {f['reached_per_s']:.1f}/s)",
            f"worker RSS, default    idle {rss['idle']:.0f} MiB, parked {rss['default_cache']:.0f}"
            f" MiB: {rss['per_cached_inquiry_default']:.2f} MiB per cached inquiry",
            f"worker RSS, cache {rss['bounded_cache']:<5}idle {rss['bounded_idle']:.0f} MiB, after"
            f" touching all {rss['bounded_after_touching_all']:.0f} MiB: "
            f"{rss['per_cached_inquiry_bounded']:.2f} MiB per cached inquiry",
            f"visibility query       {f['visibility_query']}",
            f"  count + first page   p50 {vis['p50'] * 1000:.0f} ms, "
            f"max {vis['max'] * 1000:.0f} ms",
            f"approval takes effect  oldest {ok['oldest_s'] * 1000:.0f} ms, newest "
            f"{ok['newest_s'] * 1000:.0f} ms (default cache); oldest "
            f"{okb['oldest_s'] * 1000:.0f} ms, newest {okb['newest_s'] * 1000:.0f} ms (bounded)",
        ]
    )


def _pid(stack: Any, name: str) -> int:
    pid: int = next(c.proc.pid for c in stack.children if c.name == name)
    return pid
