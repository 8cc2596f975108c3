"""Seams for tests: run the real simulator in-process on a free port, and watch its signals.

async with serve_simulator(RecordingSignaller()) as sim:
    sim.url(Department.BILLING)       # e.g. http://127.0.0.1:40123/billing
    sim.desk.configure(Department.BILLING, mode="accepted")
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from models.contract import Department
from simulator.app import create_app, desk_of
from simulator.config import SimulatorConfig
from simulator.desk import CaseDesk
from simulator.signaller import Signaller


@dataclass(frozen=True)
class SentSignal:
    workflow_id: str
    payload: dict[str, Any]
    at: float  # the event loop's clock


@dataclass
class RecordingSignaller:
    """Keeps every signal it is asked to send; `wait_for` returns once enough have arrived."""

    sent: list[SentSignal] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def department_result(self, workflow_id: str, payload: dict[str, Any]) -> None:
        async with self._arrived:
            self.sent.append(SentSignal(workflow_id, payload, asyncio.get_running_loop().time()))
            self._arrived.notify_all()

    async def wait_for(self, count: int, timeout_s: float = 10.0) -> list[SentSignal]:
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.sent) >= count), timeout_s
            )
            return list(self.sent)


@dataclass(frozen=True)
class RunningSimulator:
    base_url: str
    desk: CaseDesk

    def url(self, department: Department) -> str:
        return f"{self.base_url}/{department.value}"

    def department_env(self) -> dict[str, str]:
        """BILLING_URL, CLINICAL_URL and LEGAL_URL pointing here, for `Settings`."""
        return {f"{d.value.upper()}_URL": self.url(d) for d in Department}


class _InProcessServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Leave Ctrl-C to the test runner instead of stopping only the simulator.
        yield


@contextlib.asynccontextmanager
async def serve_simulator(
    signaller: Signaller, config: SimulatorConfig | None = None, *, startup_timeout_s: float = 10.0
) -> AsyncIterator[RunningSimulator]:
    """Serve the simulator over real HTTP on a free loopback port until the block ends."""
    app = create_app(config or SimulatorConfig(), signaller)
    async with serve_asgi(app, startup_timeout_s=startup_timeout_s) as base_url:
        yield RunningSimulator(base_url=base_url, desk=desk_of(app))


@contextlib.asynccontextmanager
async def serve_asgi(app: Any, *, startup_timeout_s: float = 10.0) -> AsyncIterator[str]:
    """Serve an ASGI app (the simulator, the codec server) over real HTTP on a free loopback
    port until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _InProcessServer(
        uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(startup_timeout_s):
            while not server.started:
                if serving.done():
                    serving.result()  # startup failed: raise why
                    raise RuntimeError("the server stopped during startup")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        sock.close()
