"""Fixed message templates. Pure: the text depends only on the arguments.

Customer templates carry no case details (an acknowledgement can go out before anyone has read
the inquiry); staff notices name the inquiry and the step, never the customer's words.
"""

from __future__ import annotations

from datetime import datetime

from models.contract import Customer

ACK_SUBJECT = "We have received your inquiry {inquiry_id}"
ACK_BODY = (
    "Thank you for contacting us. Your inquiry {inquiry_id} has been received and is owned by "
    "{owner}, who will stay responsible for it until it is resolved.\n\n"
    "You can expect an answer by {due}. {closing}"
)
ACK_CLOSING = "You do not need to contact us again in the meantime."
# For a customer in distress the acknowledgement offers a person, not a wait; at critical
# urgency (self-harm) it also says where help is now. Neither says what triage found.
ACK_CLOSING_DISTRESS = (
    "If you would like to talk to someone sooner, reply to this message and {owner} or a "
    "colleague will call you."
)
ACK_CLOSING_CRITICAL = (
    ACK_CLOSING_DISTRESS + " If you are in danger or thinking of harming yourself, please call "
    "your local emergency number now."
)
RESOLUTION_SUBJECT = "Our answer to your inquiry {inquiry_id}"


def acknowledgement(
    inquiry_id: str, owner: str, due: datetime, distress: bool = False, critical: bool = False
) -> tuple[str, str]:
    due_text = due.strftime("%A %d %B %Y, %H:%M UTC")
    closing = (
        ACK_CLOSING_CRITICAL if critical else ACK_CLOSING_DISTRESS if distress else ACK_CLOSING
    ).format(owner=owner)
    return (
        ACK_SUBJECT.format(inquiry_id=inquiry_id),
        ACK_BODY.format(inquiry_id=inquiry_id, owner=owner, due=due_text, closing=closing),
    )


def resolution_subject(inquiry_id: str) -> str:
    return RESOLUTION_SUBJECT.format(inquiry_id=inquiry_id)


def owner_notice(inquiry_id: str, what: str) -> tuple[str, str]:
    return (f"Inquiry {inquiry_id}: {what}", f"Inquiry {inquiry_id} needs you: {what}.")


def score_alert(alerts: list[str], due: datetime, owner: str | None = None) -> str:
    """What a score alert tells the owner (`owner` None: "reopen ...") or, naming the owner, the
    team's manager. Scores and thresholds only: the customer's comment stays in the audit."""
    who = f"the owner, {owner}, must reopen" if owner else "reopen"
    return (
        f"survey scores call for service recovery ({'; '.join(alerts)}): {who} the inquiry "
        f"or close the step with a note by {due.isoformat()}"
    )


def recovery_unresolved(alerts: list[str], due: datetime, owner: str | None) -> str:
    """The escalation notice of a tier 3 service recovery left open past its deadline."""
    return (
        f"service recovery ({'; '.join(alerts)}) is unresolved past its deadline of "
        f"{due.isoformat()} and needs a decision: the owner, {owner or 'unassigned'}, closes "
        "it with a note, or the inquiry is reopened or withdrawn"
    )


def customer_address(customer: Customer, channel: str) -> tuple[str, str]:
    """Where a customer message goes: the preferred contact if we have it, else what we have."""
    preferred = customer.preferred_contact
    by_channel = {"email": customer.email, "sms": customer.phone, "phone": customer.phone}
    if preferred and (address := by_channel.get(preferred)):
        return preferred, address
    if customer.email:
        return "email", customer.email
    if customer.phone:
        return "sms", customer.phone
    # No address on file: the outbox holds it for the intake channel's own delivery.
    return channel, customer.customer_id


PROGRESS_SUBJECT = "An update on your inquiry {inquiry_id}"
PROGRESS_BODY = (
    "Your inquiry {inquiry_id} is still being worked on by {owner}. We have not forgotten it and "
    "will answer by {due}. You do not need to contact us again in the meantime."
)
SURVEY_SUBJECT = "How did we do with your inquiry {inquiry_id}?"
SURVEY_REF_LINE = "Survey reference: "  # the answer quotes what follows (commands/signing.py)
SURVEY_BODY = (
    "Your inquiry {inquiry_id} has been answered. Please tell us how we did: how satisfied you "
    "are (1-5), how likely you are to recommend us (0-10), and how easy it was to get help (1-7)."
    "\n\n" + SURVEY_REF_LINE + "{survey_ref}"
)
REMINDER_SUBJECT = "A reminder: how did we do with your inquiry {inquiry_id}?"


def progress_update(inquiry_id: str, owner: str, due: datetime | None) -> tuple[str, str]:
    due_text = due.strftime("%A %d %B %Y, %H:%M UTC") if due else "as soon as we can"
    return (
        PROGRESS_SUBJECT.format(inquiry_id=inquiry_id),
        PROGRESS_BODY.format(inquiry_id=inquiry_id, owner=owner, due=due_text),
    )


def survey(inquiry_id: str, survey_ref: str, reminder: bool = False) -> tuple[str, str]:
    subject = REMINDER_SUBJECT if reminder else SURVEY_SUBJECT
    return (
        subject.format(inquiry_id=inquiry_id),
        SURVEY_BODY.format(inquiry_id=inquiry_id, survey_ref=survey_ref),
    )
