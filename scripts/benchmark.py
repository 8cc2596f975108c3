"""Benchmark: the real inquiry beside the ceiling workflow, on one stack, in one run.

    .venv/bin/python scripts/benchmark.py [--inquiries 200] [--concurrency 20] [--json FILE]
    .venv/bin/python scripts/benchmark.py --parked 1000 [--bounded-cache 200]

Starts the development stack (scripts/devstack.py: a Temporal dev server on a file SQLite, the
department simulator answering inline at zero latency, the worker, in a temporary folder) and a
second worker process for the ceiling (bench/ceiling.py) with the same settings. Runs the
ceiling, then the inquiry, then the ceiling again, so drift between the first and last shows,
each `--inquiries` times at `--concurrency`, playing the intake system, the reviewer and the
customer through the contract (bench/drive.py). Prints a table (bench/report.py) and writes
the figures as JSON. Billable actions are counted from the histories by the rules in
bench/costs.py. Nothing here asserts: the figures are for comparing changes, and BENCHMARKS.md
keeps the last ones.

`--parked N` instead leaves N inquiries waiting at `awaiting_compliance` and reports the
worker's memory with the default cache and with `--bounded-cache`, the visibility query a
reviewer's queue runs, and how long one approval takes to show on the oldest and newest
(bench/parked.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import devstack  # noqa: E402  (scripts/, next to this file)
from temporalio.client import Client  # noqa: E402

from bench import drive, parked, report  # noqa: E402
from bench.ceiling import QUEUE as CEILING_QUEUE  # noqa: E402
from models.contract import workflow_id_for  # noqa: E402
from tests.support import intake, new_id  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((devstack.HOST, 0))
        return int(sock.getsockname()[1])


def quick_intake() -> dict[str, Any]:
    return intake(new_id("BENCH"), policy=drive.QUICK)


async def compare(stack: devstack.Stack, client: Client, args: argparse.Namespace) -> Any:
    ceiling_proc = await stack.spawn(
        "ceiling", [sys.executable, "-m", "bench.ceiling"], devstack.child_env(stack)
    )
    await stack.until(ceiling_proc.ready.wait(), devstack.WORKER_UP_S, "The ceiling worker")
    ceiling = drive.Kind(
        "ceiling", "CeilingInquiry", CEILING_QUEUE, ceiling_proc.proc.pid, lambda i: f"ceiling-{i}"
    )
    inquiry = drive.Kind(
        "inquiry", "RegulatedInquiry", "regulated-inquiries", pid(stack, "worker"), workflow_id_for
    )
    figures = []
    for kind in (ceiling, inquiry, ceiling):
        say(f"{kind.name}: {args.inquiries} inquiries at concurrency {args.concurrency}")
        run = await drive.phase(
            client,
            kind,
            inquiries=args.inquiries,
            concurrency=args.concurrency,
            server_pid=pid(stack, "temporal"),
            server_db=args.data_dir / "temporal.db",
            poll_s=args.poll,
            make_intake=quick_intake,
            keep=args.histories,
        )
        figures.append(run.figures())
    first, project, last = figures
    print(report.table(first, project, last))
    print()
    for f in (first, project):
        print(report.spending(f))
    return {"phases": figures, "ratios": report.ratios(first, project, last)}


def pid(stack: devstack.Stack, name: str) -> int:
    return next(c.proc.pid for c in stack.children if c.name == name)


def say(message: str) -> None:
    print(f"[benchmark] {message}", file=sys.stderr, flush=True)


async def main(args: argparse.Namespace) -> int:
    # The department systems answer at once: the benchmark measures the orchestration.
    os.environ |= {"SIMULATOR_MODE": "inline", "SIMULATOR_LATENCY_S": "0"}
    with tempfile.TemporaryDirectory(prefix="benchmark-") as folder:
        args.data_dir = Path(folder)
        ports = ["--data-dir", folder]
        for flag, *_ in devstack.PORTS:
            ports += [flag, str(free_port())]
        stack = devstack.Stack(devstack.parse_args(ports))
        with open(Path(folder) / "stack.log", "w") as log:
            stack.relay_to = log
            try:
                client = await devstack.start(stack)
                if args.parked:
                    figures = await parked.measure(stack, client, args, quick_intake)
                    print(parked.render(figures))
                    result = {"parked": figures}
                else:
                    result = await compare(stack, client, args)
            except (devstack.Halted, devstack.StartupFailed) as exc:
                say(f"the stack failed: {stack.failure or exc}; its log: {log.name}")
                return 1
            finally:
                await stack.stop_all()
    result["machine"] = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    result["settings"] = {
        k: v for k, v in vars(args).items() if k not in ("data_dir", "json", "histories")
    }
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    say(f"figures written to {args.json} ({os.cpu_count()} cores)")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inquiries", type=int, default=200, help="per phase (default 200)")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--poll", type=float, default=0.05, help="seconds between a player's status queries"
    )
    parser.add_argument("--json", type=Path, default=Path("benchmark.json"))
    parser.add_argument(
        "--histories", type=Path, help="write one history of each kind here (JSON), to read"
    )
    parser.add_argument("--parked", type=int, default=0, help="leave N inquiries awaiting approval")
    parser.add_argument(
        "--bounded-cache", type=int, default=200, help="the bounded worker cache for --parked"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
