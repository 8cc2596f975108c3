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
    every one started is shut down when the test ends. Pass a `TemporalSignaller.using(client)` to
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
import os  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import Engine  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

import clients  # noqa: E402
from activities.config_files import WatchedFile  # noqa: E402
from activities.db import make_engine  # noqa: E402
from activities.roster import load_roster  # noqa: E402
from encryption.access import OperatorTokens, add_token  # noqa: E402
from encryption.server import create_app as create_codec_app  # noqa: E402
from models.settings import Settings  # noqa: E402
from simulator.temporal_signaller import TemporalSignaller  # noqa: E402
from simulator.testing import serve_asgi  # noqa: E402
from tests.conftest import IDENTITY_ISSUER_VARS  # noqa: E402
from tests.support import binary, data_keys, master_key_file  # noqa: E402
from worker import running_worker  # noqa: E402


@dataclasses.dataclass
class Stack:
    env: WorkflowEnvironment
    client: Client
    simulator: RunningSimulator
    settings: Settings
    engine: Engine
    address: str
    codec: RunningCodec


@dataclasses.dataclass(frozen=True)
class RunningCodec:
    """The codec server of a stack, and an operator's token for it."""

    url: str
    operator: str
    token: str

    def cli_flags(self) -> list[str]:
        return ["--codec-endpoint", self.url, "--codec-auth", f"Bearer {self.token}"]


@contextlib.asynccontextmanager
async def serve_codec(
    settings: Settings, ui_origin: str | None = None
) -> AsyncIterator[RunningCodec]:
    """The real codec server in-process on a free port, with a token for the roster's operator."""
    operator = load_roster(settings.roster_path).operators[0].id
    token = add_token(settings.codec_tokens_file, operator)
    roster = WatchedFile(settings.roster_path, load_roster)
    async with clients.data_keys(settings) as keys:
        app = create_codec_app(
            keys, roster.current, OperatorTokens.load(settings.codec_tokens_file),
            ui_origin=ui_origin,
        )  # fmt: skip
        async with serve_asgi(app) as url:
            yield RunningCodec(url, operator, token)


@pytest.fixture(scope="session")
def stack_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session stack's folder: its store (data keys included) and master key file."""
    return tmp_path_factory.mktemp("stack")


@contextlib.asynccontextmanager
async def dev_server(data: Path, **options: Any) -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server whose client encrypts with the key store kept in `data`."""
    env = await WorkflowEnvironment.start_local(
        data_converter=clients.data_converter(data_keys(data)),
        dev_server_existing_path=binary("temporal"),
        dev_server_log_level="error",
        **options,
    )
    async with env:
        yield env


@pytest.fixture(scope="session")
async def stack_env(stack_data: Path) -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server(stack_data) as env:
        yield env


@pytest.fixture(scope="session")
async def stack_session(stack_env: WorkflowEnvironment, stack_data: Path) -> AsyncIterator[Stack]:
    async with running_stack(stack_env, stack_data) as stack:
        yield stack


def stack_settings(data: Path, **env: str) -> Settings:
    """Settings of a stack kept in `data`, as the entry points would read them."""
    return Settings.model_validate(
        {
            "DATABASE_URL": f"sqlite:///{data / 'inquiries.db'}",
            "INQUIRY_MASTER_KEYS_FILE": str(master_key_file(data)),
            "INQUIRY_CODEC_TOKENS_FILE": str(data / "codec-tokens.json"),
            "INQUIRY_TASK_QUEUE": "regulated-inquiries",
            **{name: os.environ[name] for name in IDENTITY_ISSUER_VARS},
            # scripts/test's forced-replay pass sets it to 0
            **{k: v for k, v in os.environ.items() if k == "INQUIRY_MAX_CACHED_WORKFLOWS"},
            **env,
        }
    )


@contextlib.asynccontextmanager
async def running_stack(
    env: WorkflowEnvironment, data: Path, ui_origin: str | None = None
) -> AsyncIterator[Stack]:
    """The simulator and a worker (store in `data`) on the dev server `env` runs."""
    async with serve_simulator(TemporalSignaller.using(env.client)) as sim:
        settings = stack_settings(
            data, POLICY_PATH=str(quick_follow_up_policy(data)), **sim.department_env()
        )
        async with running_worker(env.client, settings), serve_codec(settings, ui_origin) as codec:
            engine = make_engine(settings.database_url)
            target = env.client.service_client.config.target_host
            try:
                yield Stack(env, env.client, sim, settings, engine, target, codec)
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
