"""The worker runs an activity only for the workflow that scheduled it.

Anyone who may write to the namespace can start a standalone activity on the task queue
(`temporal activity start --type send_message ...`): without this guard the worker would send a
message to a customer that no workflow, and so no reviewer, ever released. The guard refuses any
activity task not scheduled by one of the worker's own workflow types, before the activity runs,
with a non-retryable error that names only the activity type.

A forged *completion* of a workflow's activity (`temporal activity complete --workflow-id ...`)
is the codec's to refuse: an activity's payloads must be encrypted (encryption/codec.py).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

log = logging.getLogger("regulated_inquiries.worker")

NOT_SCHEDULED_BY_AN_INQUIRY = "NotScheduledByAnInquiry"


class ActivityGuard(Interceptor):
    """Refuses activity tasks not scheduled by a workflow of `workflow_types`."""

    def __init__(self, workflow_types: Collection[str]) -> None:
        self._workflow_types = frozenset(workflow_types)

    @classmethod
    def for_workflows(cls, workflows: Iterable[type]) -> ActivityGuard:
        """The guard for a worker running these workflow classes."""
        names = {workflow._Definition.must_from_class(w).name for w in workflows}
        return cls({name for name in names if name is not None})  # a dynamic workflow has none

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Guarded(next, self._workflow_types)


class _Guarded(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, workflow_types: frozenset[str]) -> None:
        super().__init__(next)
        self._workflow_types = workflow_types

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if not info.in_workflow or info.workflow_type not in self._workflow_types:
            log.warning(
                "refused activity %s: not scheduled by an inquiry workflow", info.activity_type
            )
            raise ApplicationError(
                f"{info.activity_type} runs only when an inquiry workflow schedules it",
                type=NOT_SCHEDULED_BY_AN_INQUIRY,
                non_retryable=True,
            )
        return await super().execute_activity(input)
