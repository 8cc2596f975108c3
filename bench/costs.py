"""What a workflow run costs, counted from its history: events, and billable actions as Temporal
Cloud counts them (https://docs.temporal.io/cloud/actions), one each for:

- the start of a workflow (WorkflowExecutionStarted), including a continue-as-new;
- a signal received (WorkflowExecutionSignaled) and an Update accepted;
- an activity attempt (every ActivityTaskStarted: retries count again), and a local activity
  (its MarkerRecorded);
- a timer started (TimerStarted);
- a search attribute upsert (UpsertWorkflowSearchAttributes) and a memo change;
- any other marker recorded (a patch, a side effect).

Queries and workflow tasks are free. Local activities are counted once per marker, not per
attempt (their retries inside one task are not in the history)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

BILLABLE = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "start",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signal",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update",
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: "activity attempt",
    EventType.EVENT_TYPE_MARKER_RECORDED: "marker",
    EventType.EVENT_TYPE_TIMER_STARTED: "timer",
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "upsert",
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: "memo",
}


def actions(events: Iterable[HistoryEvent]) -> Counter[str]:
    """Billable actions in `events`, by kind."""
    return Counter(BILLABLE[e.event_type] for e in events if e.event_type in BILLABLE)


def activities(events: Iterable[HistoryEvent]) -> Counter[str]:
    """Activities scheduled, by type: where the actions go."""
    return Counter(
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
