"""Assertions for the actions the starter sends (the README's "Who is acting").

Staff actions: `--assertion TOKEN` sends a token from the organisation's identity provider as
it is; otherwise, in development, the development issuer signs for the staff id given (`--as`
is not needed: the payload names the actor); `--unsigned` sends none, which the service accepts
as unverified only where signed actions are not required. Department results are signed with
the department's token (BILLING_TOKEN, ...) when one is configured. A survey answer quotes the
survey message's reference (`--survey-ref`, else the one in the store's outbox).

`sign` prints a signed payload for any action, for the raw `temporal` CLI:

    temporal workflow update execute --name compliance_decision -w inquiry-DEMO-1 \\
        --input "$(python starter.py sign compliance_decision DEMO-1 \\
                    --payload '{"reviewer_id": "reviewer.rita", "decision": "approve"}')"
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from temporalio.client import Client

from activities.config_files import ConfigError
from activities.db import make_engine
from activities.store import list_outbox
from commands.common import CommandError, emit, parse_json, validate
from identity.assertions import STAFF_ACTIONS, SURVEY_ACTION, actor_of
from identity.keys import department_assertion
from models.contract import SIGNAL_PAYLOADS, workflow_id_for
from models.settings import Settings
from models.status import InquiryStatus
from workflows.messages import SURVEY_REF_LINE


async def with_proof(
    client: Client,
    name: str,
    payload: BaseModel,
    inquiry_id: str,
    *,
    given: str | None = None,
    unsigned: bool = False,
    draft_version: int | None = None,
) -> dict[str, Any]:
    """The payload as JSON with its proof: a survey answer's `survey_ref` (found in the survey
    message in the store, as the customer finds it in their mail), or an action's `assertion`."""
    field = "survey_ref" if name == SURVEY_ACTION else "assertion"
    if given is None and getattr(payload, field, None) is None and name == "compliance_decision":
        # Signed here or sent unsigned: the decision names the draft it is for, so a revision
        # that lands first is not approved unread. (A given assertion signed the payload as is.)
        payload = await _for_draft(client, payload, inquiry_id, draft_version)
    body: dict[str, Any] = payload.model_dump(mode="json", exclude_none=True)
    if unsigned or field in body:
        return body
    if given is not None:
        proof: str | None = given
    elif name == SURVEY_ACTION:
        proof = survey_ref_in_outbox(inquiry_id)
    else:
        proof = await _sign(name, payload, inquiry_id)
    return body | {field: proof} if proof is not None else body


async def _for_draft(
    client: Client, payload: BaseModel, inquiry_id: str, draft_version: int | None
) -> BaseModel:
    """The decision for `draft_version`, the one it names, or else the draft now current."""
    version = draft_version or getattr(payload, "draft_version", None)
    if version is None:
        version = await _current_draft(client, inquiry_id)
    return payload.model_copy(update={"draft_version": version})


def survey_ref_in_outbox(inquiry_id: str) -> str | None:
    """The reference of the newest survey message sent for the inquiry; None if there is none
    or the store cannot say (the service then says whether it needs one)."""
    engine = make_engine(Settings().database_url)
    try:
        with Session(engine) as session:
            messages = list_outbox(session=session, inquiry_id=inquiry_id)
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    for message in reversed(messages):
        if message.kind in ("survey", "survey_reminder") and SURVEY_REF_LINE in message.body:
            return message.body.rsplit(SURVEY_REF_LINE, 1)[1].split()[0]
    return None


async def _sign(name: str, payload: BaseModel, inquiry_id: str) -> str | None:
    """An assertion for `payload` by what can sign here, or None to send it unsigned."""
    settings = Settings()
    if name == "department_result":
        department = actor_of(name, payload)
        secret = settings.department_secret(department)
        return department_assertion(secret, payload, inquiry_id) if secret else None
    if name not in STAFF_ACTIONS:
        return None
    try:
        issuer = settings.dev_issuer()
    except ConfigError as err:
        raise CommandError(f"cannot sign {name}: {err}") from None
    draft_version = getattr(payload, "draft_version", None)
    return issuer.sign(name, payload, inquiry_id, draft_version=draft_version)


async def _current_draft(client: Client, inquiry_id: str) -> int | None:
    handle = client.get_workflow_handle(workflow_id_for(inquiry_id))
    current = await handle.query("status", result_type=InquiryStatus)
    return current.draft.version if current.draft is not None else None


def add_signing_options(sub: argparse.ArgumentParser) -> None:
    group = sub.add_mutually_exclusive_group()
    group.add_argument(
        "--assertion", help="a signed assertion from your identity provider (see the README)"
    )
    group.add_argument(
        "--unsigned",
        action="store_true",
        help="send no assertion (accepted as unverified only where signing is not required)",
    )


async def sign(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    """Print the payload with its assertion, ready for `temporal ... --input`."""
    if args.action not in SIGNAL_PAYLOADS:
        raise CommandError(f"no such action: {args.action}")
    raw = parse_json(args.payload, "--payload")
    payload = validate(SIGNAL_PAYLOADS[args.action], raw)
    body = await with_proof(
        client, args.action, payload, args.inquiry_id, draft_version=args.draft_version
    )
    if "assertion" not in body and "survey_ref" not in body:
        raise CommandError(f"{args.action} is not signed: nothing here can sign it")
    emit(out, body)
