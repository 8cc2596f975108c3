"""Timeouts and retry policies of the workflow's activities, named and kept in one place.

Changing a value here changes only new commands, never replay, so these are safe to tune.
"""

from datetime import timedelta

from temporalio.common import RetryPolicy

# Reading config files, the roster and the store: fast and local. Sixteen attempts (about two
# minutes, never more than 10 s apart, so a database back from an outage is used within 10 s);
# then the step is held and tried again every LOCAL_PAUSE for as long as it takes
# (workflows/steps.py), because an inquiry must not be lost to a database restart, and no
# activity may retry forever.
LOCAL_TIMEOUT = timedelta(seconds=30)
LOCAL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=16,
)
LOCAL_PAUSE = timedelta(minutes=5)

# Writing the audit trail: attempts for about two minutes, so a database restart or a short
# outage is ridden out; then the workflow holds the events, tells the owner once, and tries again
# after STORE_PAUSE, for as long as it takes. A store that refuses a row never fails or wedges the
# inquiry, and nothing documented is dropped.
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=16,
)
STORE_PAUSE = timedelta(minutes=5)
# The audit trail is written in batches at the lifecycle's quiet rests, but never holds more than
# AUDIT_HOLD events meanwhile (a flood of notes while departments are called, or while the run
# continues as new), and one write carries at most AUDIT_BATCH_BYTES of them: an activity's
# input, like what continue-as-new carries, must stay under Temporal's 2 MiB payload limit, and
# an event may hold 20 000 characters of someone's note.
AUDIT_HOLD = 32
AUDIT_BATCH_BYTES = 512 * 1024
# The owner's notice about it: bounded too, since it goes through the same store.
NOTICE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=3,
)

# Department systems: each attempt bounded by the HTTP timeout plus margin; attempts go on with
# backoff until the department SLA ends (schedule-to-close is set from the policy per inquiry).
DEPARTMENT_ATTEMPT_TIMEOUT = timedelta(seconds=30)
DEPARTMENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=["DepartmentRejected", "DepartmentProtocolError"],
)

# Delivery adapters may be slow (a mail relay) or down for hours, and a message must still go
# out. Each send is bounded (six attempts over about a minute); then the workflow records the
# message as held, tells the owner once (for a customer's message), and sends again after
# DELIVERY_PAUSE, for as long as it takes: no activity retries forever, nothing is dropped.
DELIVERY_TIMEOUT = timedelta(minutes=2)
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=6,
)
DELIVERY_PAUSE = timedelta(minutes=15)

# The most an action (a signal's or an Update's payload) may carry: far above any valid one (a
# note holds at most 20 000 characters), far below what a history event may hold.
MAX_ACTION_BYTES = 256 * 1024

# Actors that are the system itself rather than a person, as written to the audit trail.
SYSTEM = "system"
INTAKE = "intake"
