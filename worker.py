"""Runs a worker for the RegulatedInquiry workflow and its activities.

Configuration comes from the environment (see the README's table). `python worker.py` runs
until SIGINT or SIGTERM, then stops taking work, lets running activities finish, and closes
its connections.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

import clients
from activities.config_files import ConfigError
from activities.db import make_engine
from activities.departments import DepartmentActivities
from activities.guard import ActivityGuard
from activities.identity import IdentityActivities, survey_secrets
from activities.intake import IntakeActivities
from activities.messaging import DeliveryAdapter, LoggingDelivery, MessagingActivities
from activities.migrations import migrate
from activities.roster import RosterActivities
from activities.store import OwnerLoad, StoreActivities
from activities.triage import TriageActivities
from audit.checkpoints import periodic_checkpoints
from encryption import DataKeys, KeyConfigError
from encryption.pseudonyms import Pseudonyms
from identity.verifier import Verifier
from models.settings import Settings
from workflows.inquiry import RegulatedInquiry
from workflows.runner import workflow_runner

log = logging.getLogger("regulated_inquiries.worker")

WORKFLOWS: Sequence[type] = (RegulatedInquiry,)
GRACEFUL_SHUTDOWN = timedelta(seconds=30)


def activities_for(
    settings: Settings, engine: Engine, http: httpx.AsyncClient, delivery: DeliveryAdapter
) -> list[Any]:
    """Every activity this worker runs, built with the clients it needs."""
    keys = DataKeys(engine, settings.load_master_keys())
    store = StoreActivities(engine, Pseudonyms(keys))
    triage = TriageActivities(settings.triage_rules_path, settings.policy_path)
    roster = RosterActivities(settings.roster_path, OwnerLoad(engine))
    verifier = Verifier(settings.issuer, settings.issuer_keys(), settings.department_secret)
    identity = IdentityActivities(
        verifier,
        roster.current,
        survey_secrets(keys),
        engine,
        require_signed=settings.signed_actions_required,
    )
    departments = DepartmentActivities(http, settings)
    messaging = MessagingActivities(engine, delivery, identity.sign_survey_ref)
    intake = IntakeActivities(store, triage, roster)
    return [
        intake.take_in,
        store.record_events,
        roster.assign_owner,
        roster.escalation_contacts,
        identity.verify_actors,
        departments.route_to_department,
        messaging.send_message,
    ]


@asynccontextmanager
async def running_worker(
    client: Client,
    settings: Settings,
    *,
    delivery: DeliveryAdapter | None = None,
    register_search_attributes: bool = True,
    audit_signing_key: Ed25519PrivateKey | None = None,
) -> AsyncIterator[Worker]:
    """A started worker with its store migrated and its connections open; all closed after.
    With `audit_signing_key`, it also writes the audit trail's signed checkpoints."""
    registered = await clients.ensure_search_attributes(client, register=register_search_attributes)
    if registered:
        log.info("registered search attributes: %s", ", ".join(registered))
    engine = make_engine(settings.database_url)
    version = await asyncio.to_thread(migrate, engine)
    log.info("store ready at schema version %d (%s)", version, engine.url.get_backend_name())
    http = httpx.AsyncClient(timeout=settings.department_timeout.total_seconds())
    try:
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=list(WORKFLOWS),
            activities=activities_for(settings, engine, http, delivery or LoggingDelivery()),
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
            max_cached_workflows=settings.max_cached_workflows,
            workflow_runner=workflow_runner(),
            interceptors=[ActivityGuard.for_workflows(WORKFLOWS)],
        )
        async with (
            worker,
            periodic_checkpoints(
                engine,
                audit_signing_key,
                settings.audit_checkpoint_dir,
                settings.audit_checkpoint_every,
            ),
        ):
            yield worker
    finally:
        await http.aclose()
        engine.dispose()


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings()
    async with clients.data_keys(settings) as keys:
        runtime = clients.metrics_runtime(settings.metrics_host, settings.metrics_port)
        client = await clients.connect(keys, runtime=runtime)
        if runtime is not None:
            log.info(
                "metrics at http://%s:%d/metrics", settings.metrics_host, settings.metrics_port
            )
        await serve(client, settings)


async def serve(client: Client, settings: Settings) -> None:
    """Run a worker on `client` until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Registering search attributes is an operator's act in production (README: Operating).
    register = settings.environment == "development"
    signing_key = settings.load_audit_signing_key()
    async with running_worker(
        client, settings, register_search_attributes=register, audit_signing_key=signing_key
    ):
        log.info(
            "worker polling task queue %r on namespace %r", settings.task_queue, client.namespace
        )
        await stop.wait()
        log.info("shutting down: finishing running activities")
    log.info("worker stopped")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(main())
    except (clients.SearchAttributesMissing, KeyConfigError, ConfigError) as err:
        log.error("%s", err)
        raise SystemExit(2) from None
