"""Workflow tests on the time-skipping test server: one server for the session, and for each
test a fresh fake world with its own task queue and worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.support import data_keys
from tests.workflows.server import start_test_server
from tests.workflows.world import World


@pytest.fixture(scope="session")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WorkflowEnvironment]:
    keys = data_keys(tmp_path_factory.mktemp("keys"))
    async with await start_test_server(keys) as env:
        yield env


@pytest.fixture
async def world(env: WorkflowEnvironment) -> AsyncIterator[World]:
    """A worker is running for it; configure the world before starting a workflow."""
    async with World(env.client).running() as running:
        yield running
