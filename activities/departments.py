"""Send one case to one department system over HTTP (CONTRACT "Department systems (HTTP)").

One POST per attempt, with the idempotency key the workflow derived, so Temporal's retries never
open a second case. What a response means is decided in `activities.http_errors`.
"""

from __future__ import annotations

import httpx
from temporalio import activity

from activities.http_errors import answer_from_response, error_for_transport
from models.activities import DepartmentAnswer, DepartmentRequest
from models.settings import Settings

# What a department is sent: the case and the customer's reference, never contact details.
CASE_FIELDS = frozenset(
    {
        "inquiry_id",
        "department",
        "sector",
        "tier",
        "urgency",
        "compliance_flags",
        "categories",
        "customer_id",
        "subject",
        "body",
    }
)


class DepartmentActivities:
    """Activities reaching the department systems; `http` must not retry on its own."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self._http = http
        self._settings = settings

    @activity.defn(name="route_to_department")
    async def route_to_department(self, request: DepartmentRequest) -> DepartmentAnswer:
        department = request.department
        headers = {"Idempotency-Key": request.idempotency_key}
        token = self._settings.token(department)
        if token is not None and token.get_secret_value():
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        try:
            response = await self._http.post(
                f"{self._settings.department_url(department)}/cases",
                json=request.model_dump(mode="json", include=set(CASE_FIELDS)),
                headers=headers,
                timeout=self._settings.department_timeout.total_seconds(),
            )
        except httpx.TransportError as exc:
            # `from None`: transport messages may carry whatever the peer sent.
            raise error_for_transport(department, exc) from None
        answer = answer_from_response(department, response)
        activity.logger.info(
            "department %s answered HTTP %d: case %s %s",
            department.value,
            response.status_code,
            answer.case_ref,
            answer.status,
        )
        return answer
