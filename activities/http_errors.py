"""How an HTTP exchange with a department system becomes a Temporal outcome.

The one place that decides what is worth retrying (STYLE item 5): the activity calls the
department once and hands the response, or the transport failure, to this module. Temporal's
retry policy then does the waiting, so no retrying transport sits underneath.

Every failure is an `ApplicationError`; the workflow matches on its `type`:

    ApplicationError
    ├── DepartmentUnavailable      retryable: timeout, connection failure, 5xx, 408, 429.
    │                              `next_retry_delay` follows the `Retry-After` header
    │                              (seconds or HTTP date), capped at MAX_RETRY_AFTER.
    ├── DepartmentRejected         non-retryable: any other 4xx (bad request, no auth, ...).
    │                              The workflow puts it before the owner as a failed routing.
    └── DepartmentProtocolError    non-retryable: a 2xx whose JSON is not a DepartmentAnswer
                                   (or `completed` without a summary), or a 1xx/3xx answer.

Messages and details name the department, the status code and at most the names of the fields
that were wrong; never the response body, which may echo personal data, and failure messages
are stored unencrypted in workflow history.
"""

from __future__ import annotations

import email.utils
import time
from datetime import timedelta
from typing import Any

import httpx
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from models.activities import DepartmentAnswer
from models.contract import Department

DEPARTMENT_UNAVAILABLE = "DepartmentUnavailable"
DEPARTMENT_REJECTED = "DepartmentRejected"
DEPARTMENT_PROTOCOL_ERROR = "DepartmentProtocolError"

# For a retry policy's `non_retryable_error_types`, and for the workflow's "failed routing" check.
NON_RETRYABLE_TYPES = (DEPARTMENT_REJECTED, DEPARTMENT_PROTOCOL_ERROR)

# A department asking us to come back in a day would otherwise park the activity beyond its SLA
# timers; past this cap, Temporal's own backoff is the better judge.
MAX_RETRY_AFTER = timedelta(minutes=5)

_RETRYABLE_4XX = frozenset({408, 429})


def answer_from_response(department: Department, response: httpx.Response) -> DepartmentAnswer:
    """The department's answer, or raise the `ApplicationError` its response stands for."""
    code = response.status_code
    if not response.is_success:
        raise error_for_status(department, response)
    try:
        answer = DepartmentAnswer.model_validate_json(response.content)
    except ValidationError as exc:
        # `from None`: the validation error quotes the input, which is the department's body.
        fields = sorted({".".join(str(p) for p in err["loc"]) or "body" for err in exc.errors()})
        raise _protocol_error(department, code, f"invalid fields: {', '.join(fields)}") from None
    if answer.status == "completed" and not answer.summary:
        raise _protocol_error(department, code, "completed without summary")
    return answer


def error_for_status(department: Department, response: httpx.Response) -> ApplicationError:
    """The error a non-2xx response stands for."""
    code = response.status_code
    if code >= 500 or code in _RETRYABLE_4XX:
        delay = retry_after_delay(response.headers)
        hint = f", retry after {delay.total_seconds():g}s" if delay else ""
        return ApplicationError(
            f"{department.value} department unavailable: HTTP {code}{hint}",
            _details(department, code),
            type=DEPARTMENT_UNAVAILABLE,
            next_retry_delay=delay,
        )
    if code >= 400:
        return ApplicationError(
            f"{department.value} department rejected the case: HTTP {code}",
            _details(department, code),
            type=DEPARTMENT_REJECTED,
            non_retryable=True,
        )
    return _protocol_error(department, code, "unexpected status")


def error_for_transport(department: Department, exc: httpx.TransportError) -> ApplicationError:
    """The error a timeout or connection failure stands for: always worth another attempt.

    Only the exception's class is named; raise the result `from None` so the original message
    does not travel into history either.
    """
    return ApplicationError(
        f"{department.value} department unreachable: {type(exc).__name__}",
        _details(department, None),
        type=DEPARTMENT_UNAVAILABLE,
    )


def retry_after_delay(headers: httpx.Headers, *, now: float | None = None) -> timedelta | None:
    """`Retry-After` as a delay (RFC 9110: delay-seconds or an HTTP date), None when absent,
    unreadable or already past."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        seconds = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    if not seconds > 0:  # also refuses NaN
        return None
    return timedelta(seconds=min(seconds, MAX_RETRY_AFTER.total_seconds()))


def _protocol_error(department: Department, code: int, reason: str) -> ApplicationError:
    return ApplicationError(
        f"{department.value} department answered HTTP {code} outside the contract: {reason}",
        _details(department, code),
        type=DEPARTMENT_PROTOCOL_ERROR,
        non_retryable=True,
    )


def _details(department: Department, code: int | None) -> dict[str, Any]:
    return {"department": department.value, "status_code": code}
