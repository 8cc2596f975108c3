"""Deliver `department_result` to the inquiry's workflow through a real Temporal client.

The client is connected on first use, from Temporal's environment configuration
(`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, ... or a config file), so the simulator starts even
while Temporal does not. A failed delivery is logged with the workflow id and case ref only
(never the summary) and tried again with backoff; it never reaches the HTTP server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.service import RPCError, RPCStatusCode

logger = logging.getLogger("simulator.signaller")

DEFAULT_TARGET_HOST = "localhost:7233"


class TemporalSignaller:
    def __init__(
        self,
        client: Client | None = None,
        *,
        attempts: int = 5,
        first_backoff_s: float = 0.5,
    ) -> None:
        self._client = client
        self._attempts = attempts
        self._first_backoff_s = first_backoff_s
        self._connecting = asyncio.Lock()

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
                config = ClientConfig.load_client_connect_config()
                config.setdefault("target_host", DEFAULT_TARGET_HOST)
                self._client = await Client.connect(
                    **config, data_converter=pydantic_data_converter
                )
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
