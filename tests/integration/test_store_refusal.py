"""A store that refuses to write an inquiry's audit rows, on the real stack: the inquiry goes on,
the owner is told, and no failure in the history carries a value from the intake."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from tests.integration.conftest import Stack
from tests.integration.helpers import history_events, outbox, start, status_when
from tests.support import intake, new_id


@contextmanager
def audit_rows_refused(engine: Engine, inquiry_id: str) -> Iterator[None]:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TRIGGER refuse_{inquiry_id.replace('-', '_')} BEFORE INSERT ON audit_event "
            f"WHEN NEW.inquiry_id = '{inquiry_id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TRIGGER refuse_{inquiry_id.replace('-', '_')}")


async def test_a_store_refusing_the_audit_rows_leaves_the_inquiry_running_and_tells_the_owner(
    stack: Stack,
) -> None:
    inquiry_id = new_id("REFUSED")
    payload = intake(inquiry_id)
    with audit_rows_refused(stack.engine, inquiry_id):
        handle = await start(stack, payload)
        held = await status_when(
            handle,
            lambda s: (
                s.undocumented_events > 0
                and any(m.kind == "owner_notice" for m in outbox(stack, inquiry_id))
            ),
            timeout_s=240,  # STORE_RETRY gives up after about two minutes
        )

        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        [notice] = [m for m in outbox(stack, inquiry_id) if m.kind == "owner_notice"]
        assert notice.recipient == held.owner and "StoreError" in notice.body
        failures = [
            e.activity_task_failed_event_attributes.failure
            for e in await history_events(handle)
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
        ]
        assert failures and all(f.application_failure_info.type == "StoreError" for f in failures)
        values = [payload["customer"]["name"], payload["customer"]["email"], payload["subject"]]
        for failure in failures:
            text = f"{failure.message} {failure.stack_trace} {failure.cause.message}"
            assert not [v for v in values if v in text]
    await handle.terminate("test over")
