"""Survey answers after the inquiry closed (`starter.py record-survey`): the store's own path.
During follow-up the workflow's documentation writes the answer with its audit trail
(activities/store.py, `record_events`).

Errors
    SurveyNotRecorded  `record_late_survey` refused an answer; messages name the inquiry id and
        UnknownInquiry         the field at fault, never the answer's content:
        InquiryStillOpen       the workflow still runs: the `survey_response` signal is the way
        NoSurveySent           no survey went out for the inquiry
        SurveyAlreadyAnswered  its latest survey has an answer already
        InvalidSurveyScores    a score out of the contract's range, or no score at all
    Database errors propagate unchanged and Temporal retries them.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError
from sqlmodel import Session, col, select

from activities.store import (
    CLOSED_STAGES,
    find_inquiry,
    record_events,
    record_survey_answer,
)
from models.activities import AuditEvent, SurveyAnswer
from models.contract import Stage, SurveyResponse
from models.store import OutboxRecord, SurveyAnswerRecord


class SurveyNotRecorded(ValueError):
    """A late survey answer the store refused; the message is safe to show and to log."""


class UnknownInquiry(SurveyNotRecorded):
    pass


class InquiryStillOpen(SurveyNotRecorded):
    pass


class NoSurveySent(SurveyNotRecorded):
    pass


class SurveyAlreadyAnswered(SurveyNotRecorded):
    pass


class InvalidSurveyScores(SurveyNotRecorded):
    pass


def list_survey_answers(*, session: Session, inquiry_id: str) -> list[SurveyAnswerRecord]:
    return list(
        session.exec(
            select(SurveyAnswerRecord)
            .where(SurveyAnswerRecord.inquiry_id == inquiry_id)
            .order_by(col(SurveyAnswerRecord.id))
        ).all()
    )


def record_late_survey(
    *,
    session: Session,
    inquiry_id: str,
    csat: int | None,
    nps: int | None,
    ces: int | None,
    comment: str | None,
    now: datetime,
) -> SurveyAnswer:
    """Record an answer to the inquiry's latest survey after the inquiry has closed.

    The workflow is gone by then, so the store checks what its signal handler would have: the
    scores, that a survey went out, and that it has no answer yet. Also writes an audit event.
    """
    try:
        scores = SurveyResponse(csat=csat, nps=nps, ces=ces, comment=comment)
    except ValidationError as err:
        fields = sorted({".".join(map(str, e["loc"])) or "scores" for e in err.errors()})
        raise InvalidSurveyScores(
            f"inquiry {inquiry_id}: invalid survey answer ({', '.join(fields)}); "
            "csat 1-5, nps 0-10, ces 1-7, at least one"
        ) from None
    inquiry = find_inquiry(session=session, inquiry_id=inquiry_id)
    if inquiry is None:
        raise UnknownInquiry(f"no inquiry {inquiry_id} in the store")
    if inquiry.stage not in CLOSED_STAGES:
        raise InquiryStillOpen(
            f"inquiry {inquiry_id} is still open ({inquiry.stage}); "
            "send the survey_response signal instead"
        )
    survey_ref = session.exec(
        select(OutboxRecord.message_key)
        .where(OutboxRecord.inquiry_id == inquiry_id)
        .where(OutboxRecord.kind == "survey")
        .order_by(col(OutboxRecord.id).desc())
    ).first()
    if survey_ref is None:
        raise NoSurveySent(f"no survey was sent for inquiry {inquiry_id}")
    answer = SurveyAnswer(
        inquiry_id=inquiry_id,
        workflow_id=inquiry.workflow_id,
        survey_ref=survey_ref,
        **scores.model_dump(exclude={"survey_ref"}),
        answered_at=now,
        late=True,
    )
    if not record_survey_answer(session=session, answer=answer, now=now):
        raise SurveyAlreadyAnswered(f"the survey for inquiry {inquiry_id} is already answered")
    audit = AuditEvent(
        event_key=f"{survey_ref}:late-answer",
        inquiry_id=inquiry_id,
        workflow_id=inquiry.workflow_id,
        at=now,
        actor="customer",
        action="survey_answered",
        stage=Stage(inquiry.stage),
        # Scores only: the comment may hold personal data and stays in its own table.
        detail={"survey_ref": survey_ref, "late": True, **scores.model_dump(exclude={"comment"})},
    )
    record_events(session=session, events=[audit])
    return answer
