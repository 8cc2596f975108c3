"""No activity retries without end: every retry policy states how many attempts, except the
departments', which the department SLA bounds (schedule-to-close, see routing)."""

from __future__ import annotations

from temporalio.common import RetryPolicy

from workflows import policies

BOUNDED_BY_TIME = {"DEPARTMENT_RETRY"}


def test_every_retry_policy_states_its_bound() -> None:
    found = {
        name: value for name, value in vars(policies).items() if isinstance(value, RetryPolicy)
    }

    unbounded = [
        name
        for name, policy in found.items()
        if not policy.maximum_attempts and name not in BOUNDED_BY_TIME
    ]

    assert {"LOCAL_RETRY", "STORE_RETRY", "DELIVERY_RETRY", "NOTICE_RETRY"} <= set(found)
    assert unbounded == []
