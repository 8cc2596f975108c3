"""Messages the workflow sends through the outbox: to the customer and to the owner.

Each carries a message key made from the workflow's identity, so a retried send or a replayed
workflow never delivers twice; each send is documented in the audit trail.

Failure policy: a send that keeps failing for a retryable reason is held and sent again until it
goes (`delivery_held`); one the channel refuses for good (a non-retryable error, e.g. an address
that does not exist) is recorded as `delivery_failed`, the owner is told (to reach the customer,
or the colleague a staff notice was for, another way), and the inquiry goes on: a message never
fails it.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.messaging import MessagingActivities
    from models.activities import MessageKind, MessageReceipt, OutboxMessage, SurveyRefInput

from workflows import messages, policies, steps
from workflows.case import Case
from workflows.policies import SYSTEM


async def to_customer(
    case: Case,
    kind: MessageKind,
    key: str,
    subject: str,
    body: str,
    survey: SurveyRefInput | None = None,
) -> str | None:
    channel, address = messages.customer_address(case.intake.customer, case.intake.channel.value)
    message = OutboxMessage(
        message_key=f"{case.workflow_id}:{case.run_key}:{key}",
        inquiry_id=case.intake.inquiry_id,
        workflow_id=case.workflow_id,
        kind=kind,
        audience="customer",
        recipient=address,
        channel=channel,
        subject=subject,
        body=body,
        survey=survey,
    )
    return await send(case, message)


async def to_owner(
    case: Case, what: str, kind: MessageKind = "owner_notice", retry: RetryPolicy | None = None
) -> str | None:
    return await to_staff(case, case.owner or "unassigned", what, kind, retry)


async def to_staff(
    case: Case,
    recipient: str,
    what: str,
    kind: MessageKind = "owner_notice",
    retry: RetryPolicy | None = None,
) -> str | None:
    subject, body = messages.owner_notice(case.intake.inquiry_id, what)
    # Counted, not keyed on `case.seq`: two notices may be sent with no event recorded between
    # them (two departments failing at once), and the outbox keeps one message per key.
    case.owner_notices += 1
    key = f"{kind.replace('_', '-')}:{case.owner_notices}"
    message = OutboxMessage(
        message_key=f"{case.workflow_id}:{case.run_key}:{key}",
        inquiry_id=case.intake.inquiry_id,
        workflow_id=case.workflow_id,
        kind=kind,
        audience="staff",
        recipient=recipient,
        channel="staff_inbox",
        subject=subject,
        body=body,
    )
    return await send(case, message, retry)


async def send(case: Case, message: OutboxMessage, retry: RetryPolicy | None = None) -> str | None:
    """Send `message` once; its key, or None if the channel refused it for good. With the
    default retry, a send that keeps failing for a retryable reason is held: recorded, the owner
    told once (a customer's message), and sent again after DELIVERY_PAUSE until it goes; a
    refusal is recorded and the owner told. With `retry` given, any failure raises
    ActivityError for the caller to handle."""
    summary = f"send {message.kind.replace('_', ' ')}"

    async def call() -> MessageReceipt:
        return await workflow.execute_activity_method(
            MessagingActivities.send_message,
            message,
            start_to_close_timeout=policies.DELIVERY_TIMEOUT,
            retry_policy=retry or policies.DELIVERY_RETRY,
            summary=summary,
        )

    if retry is not None:
        receipt = await call()  # the caller's own bound; it handles the failure
    else:
        try:
            receipt = await steps.persist(
                case,
                call,
                pause=policies.DELIVERY_PAUSE,
                summary=summary,
                on_held=lambda cause: _held(case, message, cause),
            )
        except ActivityError as err:
            await _refused(case, message, steps.cause_of(err))
            return None
    case.record(
        workflow.now(),
        SYSTEM,
        "message_sent",
        {"kind": message.kind, "audience": message.audience, "message_key": receipt.message_key},
    )
    return receipt.message_key


def _failure(message: OutboxMessage, cause: str) -> dict[str, str]:
    """What the audit trail says of a send that failed: never the recipient or the text."""
    return {
        "kind": message.kind,
        "audience": message.audience,
        "message_key": message.message_key,
        "cause": cause,
    }


async def _refused(case: Case, message: OutboxMessage, cause: str) -> None:
    case.record(workflow.now(), SYSTEM, "delivery_failed", _failure(message, cause))
    if message.audience == "customer":
        what = (
            f"the {message.kind.replace('_', ' ')} to the customer was refused by the channel "
            f"({cause}); please reach the customer another way"
        )
    elif case.owner is not None and message.recipient != case.owner:
        # A colleague's inbox refused it (a tier 3 notice, an escalation notice): the owner
        # is the one who can tell them another way. Staff ids only, never the customer.
        what = (
            f"the {message.kind.replace('_', ' ')} to {message.recipient} was refused by the "
            f"channel ({cause}); please tell them another way"
        )
    else:
        return  # the owner's own inbox refused it, or nobody owns it yet: the audit trail has it
    await _tell_owner(case, what)


async def _held(case: Case, message: OutboxMessage, cause: str) -> None:
    case.record(workflow.now(), SYSTEM, "delivery_held", _failure(message, cause))
    if message.audience != "customer":
        return  # a staff message: telling the owner would go the same way
    what = (
        f"the {message.kind.replace('_', ' ')} to the customer could not be delivered ({cause}); "
        f"it is sent again every {policies.DELIVERY_PAUSE.seconds // 60} minutes until the "
        "channel takes it"
    )
    await _tell_owner(case, what)


async def _tell_owner(case: Case, what: str) -> None:
    try:
        await to_owner(case, what, retry=policies.NOTICE_RETRY)
    except ActivityError:
        pass  # recorded by the caller; the owner's inbox is down too
