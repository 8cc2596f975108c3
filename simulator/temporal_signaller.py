"""Deliver `department_result` to the inquiry's workflow through a real Temporal client.

The client is connected on first use by `connect` (in production use, the project's own client:
Temporal's environment configuration and the one encrypting data converter), so the simulator
starts even while Temporal does not. A failed delivery is logged with the workflow id and case
ref only (never the summary) and tried again with backoff; it never reaches the HTTP server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

logger = logging.getLogger("simulator.signaller")


class TemporalSignaller:
    def __init__(
        self,
        connect: Callable[[], Awaitable[Client]],
        *,
        attempts: int = 5,
        first_backoff_s: float = 0.5,
    ) -> None:
        self._connect_client = connect
        self._client: Client | None = None
        self._attempts = attempts
        self._first_backoff_s = first_backoff_s
        self._connecting = asyncio.Lock()

    @classmethod
    def using(cls, client: Client, **options: Any) -> TemporalSignaller:
        """A signaller on a client that is already connected (tests, the benchmark)."""

        async def connected() -> Client:
            return client

        return cls(connected, **options)

    async def department_result(self, workflow_id: str, payload: dict[str, Any]) -> None:
        case_ref = payload.get("case_ref")
        backoff = self._first_backoff_s
        for attempt in range(1, self._attempts + 1):
            try:
                client = await self._connect()
                await client.get_workflow_handle(workflow_id).signal("department_result", payload)
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    # No such running workflow: it ended or never existed; retrying cannot help.
                    logger.warning(
                        "no running workflow %s for case %s; result dropped", workflow_id, case_ref
                    )
                    return
                self._log_failure(workflow_id, case_ref, attempt, exc)
            except Exception as exc:
                self._log_failure(workflow_id, case_ref, attempt, exc)
            else:
                logger.info("department_result sent to %s for case %s", workflow_id, case_ref)
                return
            if attempt < self._attempts:
                await asyncio.sleep(backoff)
                backoff *= 2
        logger.error("gave up sending department_result to %s for case %s", workflow_id, case_ref)

    async def _connect(self) -> Client:
        async with self._connecting:
            if self._client is None:
                self._client = await self._connect_client()
            return self._client

    def _log_failure(
        self, workflow_id: str, case_ref: object, attempt: int, exc: Exception
    ) -> None:
        logger.warning(
            "department_result to %s for case %s failed (attempt %d of %d): %s",
            workflow_id,
            case_ref,
            attempt,
            self._attempts,
            type(exc).__name__,
        )
