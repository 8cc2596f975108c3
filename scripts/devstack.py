"""The whole service on one machine: a Temporal dev server, the department simulator, a worker.

`scripts/dev` runs this after bootstrapping .venv. The server keeps its state in
`<data dir>/temporal.db`, the worker its store in `<data dir>/inquiries.db` (unless DATABASE_URL
is set), so inquiries survive a restart. Children's output is prefixed with their name.
Ctrl-C or SIGTERM stops them (worker, simulator, then server) and exits 0; if one dies, the
others are stopped and the exit code is 1. `--check` starts everything, checks the namespace's
search attributes and the simulator's health, and stops again: exit 0 when all is well.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import secrets
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's modules live one folder up

import httpx  # noqa: E402
from temporalio.client import Client  # noqa: E402

import clients  # noqa: E402
from activities.db import make_engine  # noqa: E402
from activities.migrations import migrate  # noqa: E402
from activities.roster import load_roster  # noqa: E402
from encryption import DataKeys, load_master_keys  # noqa: E402
from encryption.access import add_token  # noqa: E402
from models.contract import Department  # noqa: E402
from workflows.visibility import ALL_KEYS  # noqa: E402

T = TypeVar("T")
HOST = "127.0.0.1"
SERVER_UP_S, SIMULATOR_UP_S, WORKER_UP_S = 30.0, 20.0, 90.0
# The worker drains running activities for up to 30 s (worker.GRACEFUL_SHUTDOWN).
STOP_GRACE_S = {"worker": 40.0, "simulator": 10.0, "codec": 10.0, "temporal": 15.0}
CODEC_UP_S = 20.0
DEV_OPERATOR_TOKEN = "codec-operator-token"  # in the data folder: the dev operator's token
WORKER_READY = "worker polling task queue"
WORKER_CMD = [sys.executable, "worker.py"]
PORTS = (
    ("--port", "DEVSTACK_PORT", 7233, "Temporal"),
    ("--ui-port", "DEVSTACK_UI_PORT", 8233, "Temporal UI"),
    ("--simulator-port", "DEVSTACK_SIMULATOR_PORT", 8081, "simulator"),
    ("--metrics-port", "DEVSTACK_METRICS_PORT", 9464, "worker metrics"),
    ("--codec-port", "DEVSTACK_CODEC_PORT", 8234, "codec server"),
)
# What the dev server says while its pollers and clients go away: expected, not news.
SHUTDOWN_NOISE = ("level=WARN", "context canceled")


class Halted(Exception):
    """A stop was asked for, or a child died, while waiting for something."""


class StartupFailed(Exception):
    """Something did not come up in time; the message says what."""


@dataclass
class Child:
    name: str
    proc: asyncio.subprocess.Process
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    quiet: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    retired: bool = False  # stopped on purpose while the stack runs on


@dataclass
class Stack:
    args: argparse.Namespace
    children: list[Child] = field(default_factory=list)
    halt: asyncio.Event = field(default_factory=asyncio.Event)
    # Each department's token for this run of the stack: the worker sends it, the simulator
    # checks it and signs its results with it (unless the caller set their own).
    department_tokens: dict[str, str] = field(
        default_factory=lambda: {d.value: secrets.token_urlsafe(24) for d in Department}
    )
    failure: str | None = None
    stopping: bool = False
    relay_to: TextIO = field(default_factory=lambda: sys.stdout)  # the children's output

    @property
    def address(self) -> str:
        return f"{HOST}:{self.args.port}"

    @property
    def simulator_url(self) -> str:
        return f"http://{HOST}:{self.args.simulator_port}"

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.args.ui_port}"

    @property
    def codec_url(self) -> str:
        return f"http://{HOST}:{self.args.codec_port}"

    def request_stop(self) -> None:
        if self.halt.is_set() and self.stopping:
            say("stopping now")
            for child in self.children:
                if child.proc.returncode is None:
                    child.proc.kill()
        self.halt.set()

    async def until(self, awaitable: Awaitable[T], timeout: float, what: str) -> T:
        """`awaitable`'s result, unless a stop, a dead child or the timeout comes first."""
        task, halted = asyncio.ensure_future(awaitable), asyncio.ensure_future(self.halt.wait())
        done, _ = await asyncio.wait(
            {task, halted}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        halted.cancel()
        if task in done:
            return task.result()
        task.cancel()
        if self.halt.is_set():
            raise Halted
        raise StartupFailed(f"{what} did not come up within {timeout:.0f} s")

    async def spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> Child:
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=1 << 20,
            # Own process group: Ctrl-C reaches only us, and we stop the children in order.
            process_group=0,
            preexec_fn=_die_with_parent,
        )
        child = Child(name, proc)
        child.tasks = [
            asyncio.create_task(self._relay(child)),
            asyncio.create_task(self._watch(child)),
        ]
        self.children.append(child)
        return child

    async def restart_worker(self, env: dict[str, str]) -> int:
        """Stop the worker, start it again with `env` over the stack's environment; its pid."""
        old = next(c for c in self.children if c.name == "worker" and not c.retired)
        old.retired = True
        old.proc.terminate()
        await asyncio.wait_for(old.proc.wait(), STOP_GRACE_S["worker"])
        await asyncio.gather(*old.tasks)
        self.children.remove(old)
        new = await self.spawn("worker", WORKER_CMD, child_env(self) | env)
        await self.until(new.ready.wait(), WORKER_UP_S, "The worker")
        return new.proc.pid

    async def _relay(self, child: Child) -> None:
        assert child.proc.stdout is not None
        async for raw in child.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            if WORKER_READY in line:
                child.ready.set()
            if not (child.quiet and any(noise in line for noise in SHUTDOWN_NOISE)):
                print(f"[{child.name}] {line}", file=self.relay_to, flush=True)

    async def _watch(self, child: Child) -> None:
        code = await child.proc.wait()
        if not (self.stopping or child.retired) and self.failure is None:
            self.failure = f"{child.name} exited with code {code}"
            self.halt.set()

    async def stop_all(self) -> None:
        self.stopping = True
        for child in self.children:
            child.quiet = True
        for child in reversed(self.children):
            if child.proc.returncode is None:
                child.proc.terminate()
                try:
                    await asyncio.wait_for(child.proc.wait(), STOP_GRACE_S.get(child.name, 10.0))
                except TimeoutError:
                    say(f"{child.name} did not stop in time; killing it")
                    child.proc.kill()
                    await child.proc.wait()
            await asyncio.gather(*child.tasks)


def _die_with_parent() -> None:
    # Should this process be killed outright, the children go too instead of holding the ports.
    if sys.platform == "linux":
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def taken_ports(ports: dict[str, int]) -> list[str]:
    taken = []
    for what, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                taken.append(f"{port} ({what})")
    return taken


async def poll(attempt: Callable[[], Awaitable[T]], interval: float = 0.25) -> T:
    while True:
        try:
            return await asyncio.wait_for(attempt(), 5)
        except Exception:
            await asyncio.sleep(interval)


def child_env(stack: Stack) -> dict[str, str]:
    # Only our own server counts: the caller's TEMPORAL_* settings may point elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env.setdefault("DATABASE_URL", f"sqlite:///{stack.args.data_dir / 'inquiries.db'}")
    env.setdefault("INQUIRY_MASTER_KEYS_FILE", str(stack.args.data_dir / "master-keys.json"))
    env.setdefault("INQUIRY_ISSUER_JWKS_FILE", str(stack.args.data_dir / "dev-issuer.jwks.json"))
    env.setdefault("INQUIRY_DEV_ISSUER_KEY_FILE", str(stack.args.data_dir / "dev-issuer-key.pem"))
    env.setdefault(
        "INQUIRY_AUDIT_SIGNING_KEY_FILE", str(stack.args.data_dir / "audit-signing-key.pem")
    )
    env.setdefault("INQUIRY_AUDIT_CHECKPOINT_DIR", str(stack.args.data_dir / "audit-checkpoints"))
    for department, token in stack.department_tokens.items():
        env.setdefault(f"{department.upper()}_TOKEN", token)
        env[f"SIMULATOR_{department.upper()}_TOKEN"] = env[f"{department.upper()}_TOKEN"]
    env |= {f"{d.value.upper()}_URL": f"{stack.simulator_url}/{d.value}" for d in Department}
    env |= {"TEMPORAL_ADDRESS": stack.address, "TEMPORAL_NAMESPACE": "default"}
    env |= {"SIMULATOR_HOST": HOST, "SIMULATOR_PORT": str(stack.args.simulator_port)}
    env |= {"METRICS_HOST": HOST, "METRICS_PORT": str(stack.args.metrics_port)}
    env.setdefault("INQUIRY_CODEC_TOKENS_FILE", str(stack.args.data_dir / "codec-tokens.json"))
    env |= {"INQUIRY_CODEC_HOST": HOST, "INQUIRY_CODEC_PORT": str(stack.args.codec_port)}
    env |= {"INQUIRY_CODEC_UI_ORIGIN": stack.ui_url}
    return env | {"PYTHONUNBUFFERED": "1"}


async def start(stack: Stack) -> Client:
    args = stack.args
    args.data_dir.mkdir(parents=True, exist_ok=True)
    temporal = Path(sys.executable).parent / "temporal"
    if not temporal.exists():
        raise StartupFailed(f"{temporal} is missing: run scripts/bootstrap")
    # start-dev registers --search-attribute only when it creates its database; for a kept one
    # from an older version, the worker registers what is missing (in development).
    db = args.data_dir / "temporal.db"
    cmd = [str(temporal), "server", "start-dev", "--db-filename", str(db), "--ip", HOST]
    cmd += f"--port {args.port} --ui-port {args.ui_port} --log-level warn".split()
    cmd += ["--ui-disable-news-fetch", "--ui-codec-endpoint", stack.codec_url]
    cmd += clients.search_attribute_flags()
    await stack.spawn("temporal", cmd, child_env(stack))
    # One key ring for every process of the stack, made here before any of them could each
    # make their own (the stack is a development tool, whatever INQUIRY_ENV its children get).
    env = child_env(stack)
    master = load_master_keys(
        env.get("INQUIRY_MASTER_KEYS"),
        Path(env["INQUIRY_MASTER_KEYS_FILE"]),
        create_if_missing=True,
    )
    engine = make_engine(env["DATABASE_URL"])
    await asyncio.to_thread(migrate, engine)
    keys = DataKeys(engine, master)
    own = {"TEMPORAL_ADDRESS": stack.address, "TEMPORAL_NAMESPACE": "default"}
    client = await stack.until(poll(lambda: clients.connect(keys, own)), SERVER_UP_S, "Temporal")
    await stack.spawn("simulator", [sys.executable, "-m", "simulator"], child_env(stack))
    await stack.until(
        poll(lambda: health(f"{stack.simulator_url}/health")), SIMULATOR_UP_S, "The simulator"
    )
    worker = await stack.spawn("worker", WORKER_CMD, child_env(stack))
    await stack.until(worker.ready.wait(), WORKER_UP_S, "The worker")
    dev_operator_token(stack, env)
    await stack.spawn("codec", [sys.executable, "codec_server.py"], child_env(stack))
    await stack.until(poll(lambda: health(f"{stack.codec_url}/health")), CODEC_UP_S, "The codec")
    return client


def dev_operator_token(stack: Stack, env: dict[str, str]) -> None:
    """A codec server token for the roster's first operator, made once and kept in the data
    folder so the banner can show how to sign in (development only: production tokens are
    handed out with `python -m encryption add-token`)."""
    kept = stack.args.data_dir / DEV_OPERATOR_TOKEN
    if kept.exists():
        return
    roster = load_roster(Path(env.get("ROSTER_PATH") or ROOT / "config" / "roster.toml"))
    if not roster.operators:
        return
    token = add_token(Path(env["INQUIRY_CODEC_TOKENS_FILE"]), roster.operators[0].id)
    fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"{roster.operators[0].id} {token}\n")


async def health(url: str) -> None:
    async with httpx.AsyncClient(timeout=2.0) as http:
        (await http.get(url)).raise_for_status()


async def check(stack: Stack, client: Client) -> bool:
    """The namespace has the contract's search attributes; the simulator and codec answer."""
    try:
        await clients.ensure_search_attributes(client, register=False)
        await health(f"{stack.simulator_url}/health")
        await health(f"{stack.codec_url}/health")
    except (clients.SearchAttributesMissing, httpx.HTTPError) as exc:
        say(f"check failed: {exc}")
        return False
    say(
        f"check passed: {len(ALL_KEYS)} search attributes registered, "
        "simulator and codec server healthy"
    )
    return True


def banner(stack: Stack) -> str:
    args = stack.args
    queue = os.environ.get("INQUIRY_TASK_QUEUE", "regulated-inquiries")
    at = "" if args.port == 7233 else f"TEMPORAL_ADDRESS={stack.address} "
    if args.data_dir.resolve() != (ROOT / "data").resolve():
        # starter.py must share the stack's store and keys, or the worker cannot read its input.
        env = child_env(stack)
        at += f"DATABASE_URL={env['DATABASE_URL']} "
        at += f"INQUIRY_MASTER_KEYS_FILE={env['INQUIRY_MASTER_KEYS_FILE']} "
        at += f"INQUIRY_ISSUER_JWKS_FILE={env['INQUIRY_ISSUER_JWKS_FILE']} "
        at += f"INQUIRY_DEV_ISSUER_KEY_FILE={env['INQUIRY_DEV_ISSUER_KEY_FILE']} "
        at += f"INQUIRY_AUDIT_SIGNING_KEY_FILE={env['INQUIRY_AUDIT_SIGNING_KEY_FILE']} "
        at += f"INQUIRY_AUDIT_CHECKPOINT_DIR={env['INQUIRY_AUDIT_CHECKPOINT_DIR']} "
    cli_at = "" if args.port == 7233 else f" --address {stack.address}"
    return f"""
  Temporal UI   {stack.ui_url}
  Temporal      {stack.address} (namespace default, task queue {queue})
  Codec server  {stack.codec_url} (payloads are encrypted: sign in to read them)
  Simulator     {stack.simulator_url} (GET /health, GET /_control/requests)
  Metrics       http://{HOST}:{args.metrics_port}/metrics (Prometheus)
  Data          {args.data_dir}

  Read decoded inquiries in the UI: sign in at
    {stack.codec_url}/login?next={stack.ui_url}
  with the operator id and token in {args.data_dir / DEV_OPERATOR_TOKEN}, then in the UI's
  codec server settings (the glasses icon, top right) tick "Include cross-origin credentials".

  Start an inquiry:
    .venv/bin/python starter.py sample > demo-1.json   # the example, received now
    {at}.venv/bin/python starter.py start demo-1.json
  or with the Temporal CLI:
    .venv/bin/temporal workflow start{cli_at} --type RegulatedInquiry --task-queue {queue} \\
      --workflow-id inquiry-DEMO-1 --input-file demo-1.json \\
      --codec-endpoint {stack.codec_url} --codec-header X-Inquiry-Id=DEMO-1 \\
      --codec-auth "Bearer $(cut -d' ' -f2 {args.data_dir / DEV_OPERATOR_TOKEN})"
  Approve its draft (signed by the development issuer for reviewer.rita):
    {at}.venv/bin/python starter.py decide DEMO-1 --reviewer reviewer.rita --approve
  or with the Temporal CLI (`starter.py sign` prints the signed payload):
    .venv/bin/temporal workflow update execute{cli_at} --workflow-id inquiry-DEMO-1 \\
      --name compliance_decision --input "$({at}.venv/bin/python starter.py sign \\
      compliance_decision DEMO-1 \\
      --payload '{{"reviewer_id": "reviewer.rita", "decision": "approve"}}')"

  Ctrl-C stops everything.
"""


async def run(args: argparse.Namespace) -> int:
    # Everything the stack writes (stores, keys, logs of its children) for this user alone.
    os.umask(0o077)
    ports = {what: getattr(args, flag[2:].replace("-", "_")) for flag, _, _, what in PORTS}
    if len(set(ports.values())) < len(ports):
        say(f"the ports must differ: {ports}")
        return 2
    if taken := taken_ports(ports):
        say(f"port already in use on {HOST}: {', '.join(taken)}. Is another stack running?")
        say("Stop it, or choose free ports with --port, --ui-port and --simulator-port.")
        return 2
    stack = Stack(args)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stack.request_stop)
    code = 0
    try:
        client = await start(stack)
        if args.check:
            code = 0 if await check(stack, client) else 1
        else:
            say("ready" + banner(stack))
            await stack.halt.wait()
    except Halted:
        pass
    except StartupFailed as exc:
        stack.failure = stack.failure or str(exc)
    finally:
        say(f"{stack.failure}; stopping the others" if stack.failure else "stopping")
        await stack.stop_all()
    if stack.failure:
        say(f"stopped after a failure: {stack.failure}")
        return 1
    say("stopped")
    return code


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    data = os.environ.get("DEVSTACK_DATA_DIR", str(ROOT / "data"))
    parser.add_argument("--data-dir", type=Path, default=Path(data), help=f"default {data}")
    for flag, var, default, what in PORTS:
        port = int(os.environ.get(var, default))
        parser.add_argument(
            flag, type=int, default=port, help=f"{what} port ({var}, default {port})"
        )
    parser.add_argument("--check", action="store_true", help="start, check, stop; 0 if all is up")
    args = parser.parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(run(parse_args())))
