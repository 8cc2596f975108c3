"""route_to_department against a scripted department (httpx.MockTransport): what is sent, and
which Temporal error each kind of answer becomes."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.departments import DepartmentActivities
from activities.http_errors import (
    DEPARTMENT_PROTOCOL_ERROR,
    DEPARTMENT_REJECTED,
    DEPARTMENT_UNAVAILABLE,
    MAX_RETRY_AFTER,
)
from models.activities import DepartmentAnswer, DepartmentRequest
from models.contract import Department
from models.settings import Settings

# Personal data a department might echo back; it must never reach an error message.
ECHOED = "Jane Doe, born 1970-01-01"

ENV_VARS = (
    "BILLING_URL",
    "CLINICAL_URL",
    "LEGAL_URL",
    "BILLING_TOKEN",
    "CLINICAL_TOKEN",
    "LEGAL_TOKEN",
    "DEPARTMENT_HTTP_TIMEOUT",
)


def make_request(department: Department = Department.BILLING) -> DepartmentRequest:
    return DepartmentRequest(
        workflow_id="inquiry-INQ-42",
        inquiry_id="INQ-42",
        department=department,
        sector="healthcare",
        tier=2,
        urgency="high",
        compliance_flags=["HIPAA"],
        categories=["billing", "clinical"],
        customer_id="CUST-9",
        subject="Charged twice for my MRI",
        body="I was billed twice for the scan on 3 March.",
    )


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BILLING_URL", "http://billing.test/api/")
    monkeypatch.setenv("BILLING_TOKEN", "billing-secret")
    monkeypatch.setenv("CLINICAL_URL", "http://clinical.test")
    monkeypatch.setenv("DEPARTMENT_HTTP_TIMEOUT", "PT3S")
    return Settings()


Handler = Callable[[httpx.Request], httpx.Response]


async def route(
    settings: Settings, handler: Handler, request: DepartmentRequest | None = None
) -> DepartmentAnswer:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        activities = DepartmentActivities(http, settings)
        answer: DepartmentAnswer = await ActivityEnvironment().run(
            activities.route_to_department, request or make_request()
        )
        return answer


async def route_error(settings: Settings, handler: Handler) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await route(settings, handler)
    return caught.value


def answering(status: int, body: object = None, **headers: str) -> Handler:
    content = json.dumps(body if body is not None else {"error": ECHOED}).encode()
    return lambda request: httpx.Response(status, content=content, headers=headers)


COMPLETED = {"case_ref": "BIL-1", "status": "completed", "summary": "refunded"}


async def test_case_is_posted_with_idempotency_key_and_only_the_case_fields(
    settings: Settings,
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=COMPLETED)

    answer = await route(settings, handler)

    assert answer == DepartmentAnswer.model_validate(COMPLETED)
    (sent,) = seen
    assert sent.method == "POST"
    assert str(sent.url) == "http://billing.test/api/cases"
    assert sent.headers["Idempotency-Key"] == "inquiry-INQ-42:billing"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.content) == {
        "inquiry_id": "INQ-42",
        "department": "billing",
        "sector": "healthcare",
        "tier": 2,
        "urgency": "high",
        "compliance_flags": ["HIPAA"],
        "categories": ["billing", "clinical"],
        "customer_id": "CUST-9",
        "subject": "Charged twice for my MRI",
        "body": "I was billed twice for the scan on 3 March.",
    }
    assert sent.extensions["timeout"]["read"] == 3.0


async def test_bearer_token_is_sent_only_to_departments_that_have_one(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: dict[str, httpx.Request] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request
        return httpx.Response(201, json={"case_ref": "C-1", "status": "accepted"})

    await route(settings, handler, make_request(Department.BILLING))
    await route(settings, handler, make_request(Department.CLINICAL))

    assert seen["billing.test"].headers["Authorization"] == "Bearer billing-secret"
    assert "Authorization" not in seen["clinical.test"].headers
    assert "billing-secret" not in caplog.text


async def test_accepted_answer_is_returned_without_summary(settings: Settings) -> None:
    answer = await route(settings, answering(201, {"case_ref": "BIL-7", "status": "accepted"}))

    assert answer.status == "accepted"
    assert answer.case_ref == "BIL-7"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
async def test_server_errors_timeouts_and_rate_limits_are_retryable(
    settings: Settings, status: int
) -> None:
    error = await route_error(settings, answering(status))

    assert error.type == DEPARTMENT_UNAVAILABLE
    assert not error.non_retryable
    assert error.next_retry_delay is None
    assert str(status) in error.message


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError, httpx.ReadError]
)
async def test_timeouts_and_connection_failures_are_retryable(
    settings: Settings, failure: type[httpx.TransportError]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure(ECHOED, request=request)

    error = await route_error(settings, handler)

    assert error.type == DEPARTMENT_UNAVAILABLE
    assert not error.non_retryable
    assert ECHOED not in error.message
    assert error.__cause__ is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", timedelta(seconds=7)),
        ("1.5", timedelta(seconds=1.5)),
        ("86400", MAX_RETRY_AFTER),
        ("soon", None),
        ("-3", None),
    ],
)
async def test_retry_after_seconds_set_the_next_retry_delay(
    settings: Settings, header: str, expected: timedelta | None
) -> None:
    error = await route_error(settings, answering(503, **{"Retry-After": header}))

    assert error.next_retry_delay == expected


async def test_retry_after_http_date_sets_the_next_retry_delay(settings: Settings) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)

    error = await route_error(settings, answering(429, **{"Retry-After": when}))

    assert error.next_retry_delay is not None
    assert timedelta(seconds=25) < error.next_retry_delay <= timedelta(seconds=30)


async def test_retry_after_date_in_the_past_leaves_backoff_to_temporal(settings: Settings) -> None:
    when = email.utils.formatdate(time.time() - 30, usegmt=True)

    error = await route_error(settings, answering(503, **{"Retry-After": when}))

    assert error.next_retry_delay is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_other_client_errors_are_permanent_rejections(
    settings: Settings, status: int
) -> None:
    error = await route_error(settings, answering(status, **{"Retry-After": "5"}))

    assert error.type == DEPARTMENT_REJECTED
    assert error.non_retryable
    assert error.next_retry_delay is None
    assert error.details == ({"department": "billing", "status_code": status},)


@pytest.mark.parametrize(
    "content",
    [
        b"<html>" + ECHOED.encode() + b"</html>",
        json.dumps({"status": "completed", "summary": ECHOED}).encode(),
        json.dumps({"case_ref": "BIL-1", "status": ECHOED}).encode(),
        json.dumps({"case_ref": "BIL-1", "status": "completed"}).encode(),
        json.dumps([ECHOED]).encode(),
        # 3 MB would pass Temporal's 2 MiB payload limit: the activity would fail for ever
        json.dumps(
            {"case_ref": "BIL-1", "status": "completed", "summary": "x" * 3_000_000}
        ).encode(),
        json.dumps({"case_ref": "B" * 129, "status": "accepted"}).encode(),
    ],
    ids=[
        "not-json",
        "no-case-ref",
        "unknown-status",
        "completed-without-summary",
        "not-object",
        "summary-too-long",
        "case-ref-too-long",
    ],
)
async def test_a_success_outside_the_contract_is_a_permanent_protocol_error(
    settings: Settings, content: bytes
) -> None:
    error = await route_error(settings, lambda request: httpx.Response(200, content=content))

    assert error.type == DEPARTMENT_PROTOCOL_ERROR
    assert error.non_retryable
    assert ECHOED not in error.message
    assert error.__cause__ is None


async def test_a_redirect_is_not_followed_and_not_retried(settings: Settings) -> None:
    handler = answering(302, **{"Location": "http://elsewhere.test/cases"})

    error = await route_error(settings, handler)

    assert error.type == DEPARTMENT_PROTOCOL_ERROR
    assert error.non_retryable


@pytest.mark.parametrize("status", [400, 422, 500, 503])
async def test_error_messages_name_department_and_status_but_never_the_body(
    settings: Settings, status: int
) -> None:
    error = await route_error(settings, answering(status, {"detail": ECHOED}))

    assert error.message.startswith("billing department")
    assert str(status) in error.message
    assert ECHOED not in error.message
    assert ECHOED not in repr(error.details)
