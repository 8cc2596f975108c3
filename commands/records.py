"""Commands on the store: `record-survey` after closing, and `erase` a customer."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TextIO

from sqlmodel import Session
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.roster import load_roster
from activities.surveys import SurveyNotRecorded, record_late_survey
from commands.common import (
    CommandError,
    drop_none,
    emit,
    open_store,
    validate,
)
from encryption import EncryptionCodec
from encryption.erasure import StillOpen, erase_customer, purge_expired
from models.contract import SurveyResponse
from models.settings import Settings


def record_survey(client: Client | None, args: argparse.Namespace, out: TextIO) -> None:
    """A survey answer that arrives after the inquiry closed: straight to the store."""
    scores = drop_none(csat=args.csat, nps=args.nps, ces=args.ces, comment=args.comment)
    response = validate(SurveyResponse, scores)
    try:
        with open_store(Settings()) as engine, Session(engine) as session:
            answer = record_late_survey(
                session=session,
                inquiry_id=args.inquiry_id,
                csat=response.csat,
                nps=response.nps,
                ces=response.ces,
                comment=response.comment,
                now=datetime.now(UTC),
            )
            session.commit()
    except SurveyNotRecorded as err:
        raise CommandError(str(err)) from None
    emit(
        out,
        {
            "inquiry_id": answer.inquiry_id,
            "survey_ref": answer.survey_ref,
            "recorded": True,
            "late": answer.late,
            **drop_none(csat=answer.csat, nps=answer.nps, ces=answer.ces),
        },
    )


async def erase(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    """Erase a customer: destroy their inquiries' data keys and scrub the store (see
    encryption/erasure.py). Only an operator of the roster may."""
    codec = _operator_codec(client, Settings(), args.by)

    async def running(workflow_ids: list[str]) -> list[str]:
        open_ = []
        for workflow_id in workflow_ids:
            try:
                described = await client.get_workflow_handle(workflow_id).describe()
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:  # past retention: nothing runs
                    continue
                raise
            if described.status == WorkflowExecutionStatus.RUNNING:
                open_.append(workflow_id)
        return open_

    try:
        report = await erase_customer(
            codec.keys, args.customer, by=args.by, now=datetime.now(UTC), running=running
        )
    except StillOpen as err:
        raise CommandError(str(err)) from None
    emit(out, report.model_dump())


def _operator_codec(client: Client, settings: Settings, by: str) -> EncryptionCodec:
    """The client's codec, for an act only an operator of the roster may do."""
    if by not in {op.id for op in load_roster(settings.roster_path).operators}:
        raise CommandError(f"--by must name an operator of the roster ({settings.roster_path})")
    codec = client.data_converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        raise CommandError("this client does not encrypt: connect with clients.connect")
    return codec


async def purge(client: Client, args: argparse.Namespace, out: TextIO) -> None:
    """Retention: erase every inquiry closed longer ago than INQUIRY_RETENTION (run daily)."""
    settings = Settings()
    codec = _operator_codec(client, settings, args.by)
    now = datetime.now(UTC)
    report = await purge_expired(
        codec.keys, closed_before=now - settings.retention, by=args.by, now=now
    )
    emit(out, report.model_dump(exclude={"customer"}))
