"""scripts/devstack.py, the process behind `scripts/dev`: it comes up, keeps its data in the data
folder, stops everything it started, and says clearly when it cannot run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEVSTACK = ROOT / "scripts" / "devstack.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def ports() -> dict[str, int]:
    return {
        "--port": free_port(),
        "--ui-port": free_port(),
        "--simulator-port": free_port(),
        "--metrics-port": free_port(),
        "--codec-port": free_port(),
    }


def devstack(
    data_dir: Path, ports: dict[str, int], *, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    args = [arg for flag, port in ports.items() for arg in (flag, str(port))]
    return subprocess.run(
        [sys.executable, str(DEVSTACK), "--check", "--data-dir", str(data_dir), *args],
        env=env | (extra_env or {}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def test_check_brings_the_stack_up_and_down_and_keeps_data_in_the_data_folder(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    data = tmp_path / "data"
    done = devstack(data, ports)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[devstack] check passed" in done.stdout
    assert "[worker]" in done.stdout and "[simulator]" in done.stdout
    assert (data / "temporal.db").is_file()
    assert (data / "inquiries.db").is_file()
    # The stack's secrets, made once for all its processes, readable by their owner only.
    secrets = ("master-keys.json", "codec-tokens.json", "codec-operator-token")
    for secret in (*secrets, "inquiries.db", "temporal.db"):
        assert (data / secret).stat().st_mode & 0o077 == 0, secret
    assert all(port_is_free(port) for port in ports.values()), "a child outlived the stack"


def test_a_port_in_use_is_named_and_nothing_starts(
    tmp_path: Path, ports: dict[str, int], listening: socket.socket
) -> None:
    taken = listening.getsockname()[1]
    done = devstack(tmp_path / "data", ports | {"--simulator-port": taken})
    assert done.returncode == 2
    assert f"port already in use on 127.0.0.1: {taken} (simulator)" in done.stdout
    assert not (tmp_path / "data").exists()


def test_a_child_that_dies_stops_the_others_and_fails_the_stack(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    # Production settings refuse the SQLite store, so the worker exits at start.
    done = devstack(tmp_path / "data", ports, extra_env={"INQUIRY_ENV": "production"})
    assert done.returncode == 1
    assert "[devstack] stopped after a failure: worker exited with code 1" in done.stdout
    assert all(port_is_free(port) for port in ports.values()), "a child outlived the stack"
