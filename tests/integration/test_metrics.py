"""The worker's Prometheus endpoint shows the SDK's metrics and the inquiry counters moving."""

from __future__ import annotations

import asyncio
import socket

import httpx
from temporalio.client import Client

import clients
from models.settings import Settings
from tests.integration.conftest import Stack
from tests.integration.helpers import approve, status_when
from tests.support import intake, new_id
from worker import running_worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def scrape(url: str) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(url)).text


def value(metrics: str, name: str, label: str = "") -> float:
    """The sum of a counter's samples, optionally only those whose labels contain `label`."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith(name) and (line[len(name)] in " {") and label in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_metrics_port_shows_the_inquiry_counters_moving(stack: Stack) -> None:
    port = free_port()
    runtime = clients.metrics_runtime("127.0.0.1", port)
    settings = stack.settings.model_copy(update={"task_queue": new_id("metrics-queue")})
    url = f"http://127.0.0.1:{port}/metrics"
    async with clients.data_keys(settings) as keys:
        client = await clients.connect(keys, {"TEMPORAL_ADDRESS": stack.address}, runtime)
        await count_inquiry_metrics(client, settings, url)


async def count_inquiry_metrics(client: Client, settings: Settings, url: str) -> None:
    async with running_worker(client, settings):
        before = await scrape(url)
        payload = intake()
        handle = await client.start_workflow(
            "RegulatedInquiry", payload, id=f"inquiry-{payload['inquiry_id']}",
            task_queue=settings.task_queue,
        )  # fmt: skip
        await status_when(handle, lambda s: s.stage == "awaiting_compliance")
        await handle.signal("compliance_decision", {"reviewer_id": "nobody", "decision": "approve"})
        await approve(handle)
        await handle.result()
        await asyncio.sleep(1.5)  # the SDK exports metrics on an interval
        after = await scrape(url)

    assert value(after, "inquiries_started") == value(before, "inquiries_started") + 1
    closed = 'stage="closed"'
    assert value(after, "inquiry_stage_transitions", closed) == (
        value(before, "inquiry_stage_transitions", closed) + 1
    )
    assert value(after, "inquiry_signals_refused", 'signal="compliance_decision"') >= 1
    assert "temporal_workflow_completed" in after  # the SDK's own metrics are there too
    assert payload["customer"]["email"] not in after and payload["inquiry_id"] not in after
