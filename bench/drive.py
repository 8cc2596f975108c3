"""Plays the intake system, the reviewer and the customer through the contract, and reads what
each inquiry cost from its history.

Each inquiry: the intake system starts it; the reviewer polls the `status` query and approves as
soon as it awaits compliance; the customer polls until the survey is sent and answers it; then
the run closes. The same players drive the ceiling (bench/ceiling.py) and the real inquiry.

The latencies come from the server's own event times, not from the players' polling:
- intake → awaiting approval: from WorkflowExecutionStarted to the upsert that sets
  `InquiryStage` to `awaiting_compliance` (what a reviewer's queue in the UI filters on);
- approval → resolution sent: from the approval's WorkflowExecutionSignaled to the completion of
  the first message-sending activity after it (the resolution).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle

from bench import costs
from bench.measure import Usage, file_bytes, percentile, usage
from workflows.visibility import STAGE

REVIEWER = "reviewer.rita"
# One second of follow-up instead of a day, through the contract's own policy overrides.
QUICK = {"survey_delay": "PT1S", "survey_reminder": "PT1H", "survey_window": "PT2H"}
ANSWER = {"csat": 5, "nps": 9, "ces": 2}  # a content customer: no alert, no service recovery
RESOLUTION_SENT = {"send_message", "ceiling_communicate"}
AWAITING = json.dumps("awaiting_compliance").encode()


@dataclass(frozen=True)
class Kind:
    """A workflow the benchmark drives, and the worker process that runs it."""

    name: str
    workflow_type: str
    task_queue: str
    worker_pid: int
    workflow_id: Callable[[str], str]


@dataclass(frozen=True)
class Costs:
    """One closed run, read from its history."""

    to_awaiting_s: float
    approval_to_sent_s: float
    events: int
    history_bytes: int
    actions: Counter[str]
    activities: Counter[str]


@dataclass
class Phase:
    """One kind driven `inquiries` times, `concurrency` at once."""

    kind: str
    inquiries: int
    concurrency: int
    wall_s: float
    worker: tuple[Usage, Usage]
    server: tuple[Usage, Usage]
    database_bytes: int
    runs: list[Costs] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        n = self.inquiries
        awaiting = [r.to_awaiting_s for r in self.runs]
        sent = [r.approval_to_sent_s for r in self.runs]
        spent: Counter[str] = sum((r.actions for r in self.runs), Counter())
        ran: Counter[str] = sum((r.activities for r in self.runs), Counter())
        return {
            "kind": self.kind,
            "inquiries": n,
            "concurrency": self.concurrency,
            "inquiries_per_s": n / self.wall_s,
            "to_awaiting_s": _spread(awaiting),
            "approval_to_sent_s": _spread(sent),
            "events_per_inquiry": statistics.mean(r.events for r in self.runs),
            "history_kib_per_inquiry": statistics.mean(r.history_bytes for r in self.runs) / 1024,
            "actions_per_inquiry": spent.total() / n,
            "actions_by_kind": {k: v / n for k, v in spent.most_common()},
            "activities_by_type": {k: v / n for k, v in ran.most_common()},
            "worker_cpu_ms_per_inquiry": 1000 * _cpu(self.worker) / n,
            "server_cpu_ms_per_inquiry": 1000 * _cpu(self.server) / n,
            "worker_rss_mib": self.worker[1].rss_mib,
            "worker_peak_rss_mib": self.worker[1].peak_rss_mib,
            "sqlite_bytes_per_inquiry": self.database_bytes / n,
        }


def _cpu(pair: tuple[Usage, Usage]) -> float:
    return pair[1].cpu_s - pair[0].cpu_s


def _spread(values: list[float]) -> dict[str, float]:
    return {f"p{int(q * 100)}": percentile(values, q) for q in (0.5, 0.95, 0.99)}


async def phase(
    client: Client,
    kind: Kind,
    *,
    inquiries: int,
    concurrency: int,
    server_pid: int,
    server_db: Path,
    poll_s: float,
    make_intake: Callable[[], dict[str, Any]],
    keep: Path | None = None,
) -> Phase:
    """Drive `inquiries` of `kind` to closed; measure the processes over exactly that span."""
    gate = asyncio.Semaphore(concurrency)

    async def bounded() -> WorkflowHandle[Any, Any]:
        async with gate:
            return await play(client, kind, make_intake(), poll_s)

    worker, server, stored = usage(kind.worker_pid), usage(server_pid), file_bytes(server_db)
    began = time.perf_counter()
    handles = await asyncio.gather(*(bounded() for _ in range(inquiries)))
    wall_s = time.perf_counter() - began
    result = Phase(
        kind.name,
        inquiries,
        concurrency,
        wall_s,
        (worker, usage(kind.worker_pid)),
        (server, usage(server_pid)),
        file_bytes(server_db) - stored,
    )
    # Read after the span: fetching histories costs the server, not the inquiries.
    if keep is not None:  # one history of each kind, to read where the events go
        await costs_of(handles[0], keep / f"{kind.name}.history.json")
    for start in range(0, len(handles), concurrency):
        batch = handles[start : start + concurrency]
        result.runs += await asyncio.gather(*(costs_of(h) for h in batch))
    return result


async def play(
    client: Client, kind: Kind, payload: dict[str, Any], poll_s: float
) -> WorkflowHandle[Any, Any]:
    handle = await client.start_workflow(
        kind.workflow_type,
        payload,
        id=kind.workflow_id(payload["inquiry_id"]),
        task_queue=kind.task_queue,
    )
    await until(handle, lambda s: s["stage"] == "awaiting_compliance", poll_s)
    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    await until(handle, lambda s: bool((s.get("survey") or {}).get("sent_at")), poll_s)
    await handle.signal("survey_response", ANSWER)
    await handle.result()
    return handle


async def until(
    handle: WorkflowHandle[Any, Any], wanted: Callable[[dict[str, Any]], bool], poll_s: float
) -> dict[str, Any]:
    while True:
        try:
            status: dict[str, Any] = await handle.query("status", result_type=dict)
            if wanted(status):
                return status
        except Exception:  # noqa: BLE001 - not queryable until its first task ran
            pass
        await asyncio.sleep(poll_s)


async def costs_of(handle: WorkflowHandle[Any, Any], keep: Path | None = None) -> Costs:
    history = await handle.fetch_history()
    if keep is not None:
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_text(history.to_json())
    try:
        return read_costs(history.events)
    except StopIteration:
        path = Path(f"{handle.id}.history.json")
        path.write_text(history.to_json())
        raise ValueError(f"{handle.id} lacks a mark the benchmark reads: see {path}") from None


def read_costs(events: Sequence[HistoryEvent]) -> Costs:
    started = _at(events[0])
    awaiting = next(e for e in events if _sets_awaiting(e))
    approval = next(
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and e.workflow_execution_signaled_event_attributes.signal_name == "compliance_decision"
    )
    kinds = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    sent = next(
        e
        for e in events
        if e.event_id > approval.event_id
        and e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and kinds[e.activity_task_completed_event_attributes.scheduled_event_id] in RESOLUTION_SENT
    )
    return Costs(
        (_at(awaiting) - started).total_seconds(),
        (_at(sent) - _at(approval)).total_seconds(),
        len(events),
        sum(e.ByteSize() for e in events),
        costs.actions(events),
        costs.activities(events),
    )


def _sets_awaiting(event: HistoryEvent) -> bool:
    if event.event_type != EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        return False
    fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
    value = fields.indexed_fields.get(STAGE.name)
    return value is not None and value.data == AWAITING


def _at(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime()
