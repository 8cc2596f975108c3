"""Integration fixtures. Each group is owned by the part of the code it serves (prefix
`simulator_`: the department simulator); add new groups below, keeping imports at the top."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from simulator.config import SimulatorConfig
from simulator.signaller import Signaller
from simulator.testing import RecordingSignaller, RunningSimulator, serve_simulator

# --- the department simulator: real HTTP on a free loopback port ------------------------------

SimulatorFactory = Callable[..., Awaitable[RunningSimulator]]


@pytest.fixture
async def simulator_factory() -> AsyncIterator[SimulatorFactory]:
    """`await simulator_factory(signaller, config=None)` starts a simulator served by uvicorn;
    every one started is shut down when the test ends. Pass a `TemporalSignaller(client)` to
    have accepted cases report back to real workflows."""
    async with contextlib.AsyncExitStack() as running:

        async def start(
            signaller: Signaller, config: SimulatorConfig | None = None
        ) -> RunningSimulator:
            return await running.enter_async_context(serve_simulator(signaller, config))

        yield start


@pytest.fixture
def simulator_signaller() -> RecordingSignaller:
    """Records the signals the simulator sends instead of sending them."""
    return RecordingSignaller()


@pytest.fixture
async def simulator_server(
    simulator_factory: SimulatorFactory, simulator_signaller: RecordingSignaller
) -> RunningSimulator:
    """A simulator with default behaviour (every department inline, no latency) whose signals
    go to `simulator_signaller`. `.base_url`, `.url(department)`, `.desk` to steer it."""
    return await simulator_factory(simulator_signaller)


# --- the whole stack: a real Temporal dev server, the simulator and a worker ------------------
# One per test session; each test uses fresh inquiry ids and resets the simulator.

import dataclasses  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import Engine  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

import clients  # noqa: E402
from activities.db import make_engine  # noqa: E402
from models.settings import Settings  # noqa: E402
from simulator.temporal_signaller import TemporalSignaller  # noqa: E402
from tests.support import binary  # noqa: E402
from worker import running_worker  # noqa: E402


@dataclasses.dataclass
class Stack:
    env: WorkflowEnvironment
    client: Client
    simulator: RunningSimulator
    settings: Settings
    engine: Engine
    address: str


@pytest.fixture(scope="session")
async def stack_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=clients.data_converter,
        dev_server_existing_path=binary("temporal"),
        dev_server_log_level="error",
    )
    async with env:
        yield env


@pytest.fixture(scope="session")
async def stack_session(
    stack_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async with running_stack(stack_env, tmp_path_factory.mktemp("stack")) as stack:
        yield stack


@contextlib.asynccontextmanager
async def running_stack(env: WorkflowEnvironment, data: Path) -> AsyncIterator[Stack]:
    """The simulator and a worker (store in `data`) on the dev server `env` runs."""
    async with serve_simulator(TemporalSignaller(env.client)) as sim:
        settings = Settings.model_validate(
            {
                "DATABASE_URL": f"sqlite:///{data / 'inquiries.db'}",
                "INQUIRY_TASK_QUEUE": "regulated-inquiries",
                "POLICY_PATH": str(quick_follow_up_policy(data)),
                **sim.department_env(),
            }
        )
        async with running_worker(env.client, settings):
            engine = make_engine(settings.database_url)
            target = env.client.service_client.config.target_host
            try:
                yield Stack(env, env.client, sim, settings, engine, target)
            finally:
                engine.dispose()


@pytest.fixture
async def stack(stack_session: Stack) -> Stack:
    """The session's stack with the simulator back to its defaults (inline, no latency)."""
    stack_session.simulator.desk.reset()
    return stack_session


def quick_follow_up_policy(folder: Path) -> Path:
    """The shipped policy with the follow-up stage in seconds: these tests run in real time."""
    shipped = (Path(__file__).parents[2] / "config" / "policy.toml").read_text()
    quick = {"survey_delay": "PT1S", "survey_reminder": "PT2S", "survey_window": "PT3S"}
    lines = [
        f'{key} = "{quick[key]}"' if (key := line.split("=")[0].strip()) in quick else line
        for line in shipped.splitlines()
    ]
    path = folder / "policy.toml"
    path.write_text("\n".join(lines) + "\n")
    return path
