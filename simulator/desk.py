"""The simulated departments' case desk: what a request gets back, and which signals follow.

Kept apart from HTTP so the control surface used by tests and demos (`configure`, `requests`,
`reset`, `drain`) is plain Python. Cases live in memory for the life of the process.

A case is opened at most once per `Idempotency-Key`: a repeated key gets the original answer and
schedules no second signal, which is what lets Temporal retry a send safely. A reopened inquiry
sends a new key (`<workflow id>:<department>:reopen-<n>`) and so opens a new case. Its result
goes to the workflow `inquiry-<inquiry_id>` named by the body, whatever shape the key has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from identity.keys import department_assertion
from models.contract import Department, DepartmentResult, workflow_id_for
from simulator import summaries
from simulator.config import DepartmentConfig, SimulatorConfig
from simulator.signaller import Signaller

logger = logging.getLogger("simulator")

REQUIRED_FIELDS = ("inquiry_id", "department", "subject", "body")


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class CaseDesk:
    def __init__(self, config: SimulatorConfig, signaller: Signaller) -> None:
        self._initial = config.model_copy(deep=True)
        self._signaller = signaller
        self._tasks: set[asyncio.Task[None]] = set()
        self._reset_state()

    def _reset_state(self) -> None:
        self.config = self._initial.model_copy(deep=True)
        self.requests: list[dict[str, Any]] = []
        self._cases: dict[str, Reply] = {}
        self._sequence = dict.fromkeys(Department, 0)

    # --- control ------------------------------------------------------------------------

    def configure(self, department: Department, **changes: Any) -> DepartmentConfig:
        """Apply a partial update; raises pydantic's ValidationError and changes nothing then."""
        updated = self.config.departments[department].updated(changes)
        self.config.departments[department] = updated
        return updated

    def reset(self) -> None:
        """Back to the initial configuration, with no cases, requests or pending signals."""
        for task in self._tasks:
            task.cancel()
        self._reset_state()

    async def drain(self) -> None:
        """Wait until every scheduled signal has been sent (or has failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.drain()

    # --- the department API -------------------------------------------------------------

    async def receive(
        self, department: Department, headers: Mapping[str, str], body: object
    ) -> Reply:
        """Answer one `POST /{department}/cases`; `headers` keys are lower case."""
        settings = self.config.departments[department]
        if settings.latency_s:
            await asyncio.sleep(settings.latency_s)
        # Everything below runs without awaiting, so concurrent repeats of a key see one case.
        settings = self.config.departments[department]
        key = headers.get("idempotency-key", "")
        reply = self._answer(department, settings, headers, key, body)
        self._record(department, headers, body, reply)
        logger.info(
            "%s case request, idempotency key %s: HTTP %d %s",
            department.value,
            key or "-",
            reply.status_code,
            reply.body.get("status") or reply.body.get("error", ""),
        )
        return reply

    def _answer(
        self,
        department: Department,
        settings: DepartmentConfig,
        headers: Mapping[str, str],
        key: str,
        body: object,
    ) -> Reply:
        token = settings.token.get_secret_value() if settings.token else None
        if token and headers.get("authorization") != f"Bearer {token}":
            return Reply(401, {"error": "missing or wrong bearer token"})
        if not key:
            return _refusal("missing header", "Idempotency-Key")
        if not isinstance(body, dict):
            return _refusal("body must be a JSON object", "body")
        for name in REQUIRED_FIELDS:
            if body.get(name) in (None, ""):
                return _refusal("missing field", name)
        if body["department"] != department.value:
            return _refusal("department does not match the path", "department")
        if settings.fail_next:
            code = settings.fail_next.pop(0)
            extra = {"Retry-After": settings.retry_after} if settings.retry_after else {}
            return Reply(code, {"error": "injected fault"}, extra)
        if key not in self._cases:
            workflow_id = workflow_id_of(body, key, department)
            inquiry_id = str(body["inquiry_id"])
            self._cases[key] = self._open_case(department, settings, workflow_id, inquiry_id)
        return self._cases[key]

    def _open_case(
        self, department: Department, settings: DepartmentConfig, workflow_id: str, inquiry_id: str
    ) -> Reply:
        self._sequence[department] += 1
        ref = summaries.case_ref(department, self._sequence[department])
        if settings.mode == "inline":
            text = summaries.summary(department, "completed", ref)
            return Reply(200, {"case_ref": ref, "status": "completed", "summary": text})
        payload = {
            "department": department.value,
            "case_ref": ref,
            "status": settings.final_status,
            "summary": summaries.summary(department, settings.final_status, ref),
        }
        secret = settings.token.get_secret_value() if settings.token else None
        self._schedule(
            self._signal_later(workflow_id, payload, settings.result_delay_s, inquiry_id, secret)
        )
        return Reply(201, {"case_ref": ref, "status": "accepted"})

    def _schedule(self, signalling: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(signalling)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _signal_later(
        self,
        workflow_id: str,
        payload: dict[str, Any],
        delay_s: float,
        inquiry_id: str,
        secret: str | None,
    ) -> None:
        await asyncio.sleep(delay_s)
        if secret is not None:
            # The department proves the result is its own: signed with the token it shares.
            result = DepartmentResult.model_validate(payload)
            payload = payload | {"assertion": department_assertion(secret, result, inquiry_id)}
        try:
            await self._signaller.department_result(workflow_id, payload)
        except Exception as exc:
            # The signaller should swallow its own failures; this keeps a bad one from killing
            # the task silently, without logging the payload.
            logger.error(
                "department_result to %s for case %s failed: %s",
                workflow_id,
                payload["case_ref"],
                type(exc).__name__,
            )

    def _record(
        self, department: Department, headers: Mapping[str, str], body: object, reply: Reply
    ) -> None:
        shown = {k: v for k, v in headers.items() if k != "authorization"}
        self.requests.append(
            {
                "department": department.value,
                "headers": shown,
                "authorization": "present" if "authorization" in headers else "absent",
                "json": body,
                "answer_status": reply.status_code,
                "case_ref": reply.body.get("case_ref"),
            }
        )


def workflow_id_of(body: Mapping[str, Any], idempotency_key: str, department: Department) -> str:
    """The workflow to signal: `inquiry-<inquiry_id>` from the body when it names one, else what
    precedes `:<department>` in the key (the whole key if it has no such part)."""
    inquiry_id = body.get("inquiry_id")
    if isinstance(inquiry_id, str) and inquiry_id:
        return workflow_id_for(inquiry_id)
    return idempotency_key.partition(f":{department.value}")[0]


def _refusal(error: str, field_name: str) -> Reply:
    return Reply(400, {"error": error, "field": field_name})
