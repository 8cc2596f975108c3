"""Survey answers in the store on SQLite and PostgreSQL: the workflow's idempotent write, the late
path for answers after closing, and the starter's `record-survey` command on a SQLite file."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

import starter
from activities import migrations as db
from activities.db import make_engine
from activities.messaging import enqueue_message
from activities.migrations import migrate
from activities.store import (
    StoreActivities,
    apply_snapshot,
    find_inquiry,
    list_audit,
    register_inquiry,
)
from activities.surveys import (
    InquiryStillOpen,
    InvalidSurveyScores,
    NoSurveySent,
    SurveyAlreadyAnswered,
    UnknownInquiry,
    list_survey_answers,
    record_late_survey,
    record_survey_answer,
)
from encryption import DataKeys, LocalMasterKeys
from encryption.pseudonyms import Pseudonyms
from models.activities import (
    InquirySnapshot,
    OutboxMessage,
    RecordInput,
    RegisterInquiryInput,
    SurveyAnswer,
)
from models.contract import Sector, Stage

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = RECEIVED + timedelta(days=12)
COMMENT = "Dr. Jane Roe was kind, but my records for 1970-01-01 are still wrong"


def answer(survey_ref: str = "inquiry-INQ-1:survey:1", **scores: Any) -> SurveyAnswer:
    return SurveyAnswer(
        inquiry_id="INQ-1",
        workflow_id="inquiry-INQ-1",
        survey_ref=survey_ref,
        answered_at=RECEIVED + timedelta(days=8),
        **({"csat": 4} | scores),
    )


def given_inquiry(
    session: Session, stage: Stage = Stage.CLOSED, surveys: int = 1, inquiry_id: str = "INQ-1"
) -> list[str]:
    """An inquiry at `stage` with `surveys` survey messages in the outbox; their keys."""
    workflow_id = f"inquiry-{inquiry_id}"
    register_inquiry(
        session=session,
        request=RegisterInquiryInput(
            inquiry_id=inquiry_id,
            workflow_id=workflow_id,
            run_id="run-a",
            sector=Sector.HEALTHCARE,
            received_at=RECEIVED,
            customer_id="CUST-1",
        ),
        customer_ref="cust_test",
        now=RECEIVED,
    )
    apply_snapshot(
        session=session,
        snapshot=InquirySnapshot(
            inquiry_id=inquiry_id,
            workflow_id=workflow_id,
            version=1,
            sector=Sector.HEALTHCARE,
            stage=stage,
            received_at=RECEIVED,
            updated_at=LATER,
        ),
    )
    keys = [f"{workflow_id}:survey:{n}" for n in range(1, surveys + 1)]
    for key in keys:
        enqueue_message(
            session=session,
            message=OutboxMessage(
                message_key=key,
                inquiry_id=inquiry_id,
                workflow_id=workflow_id,
                kind="survey",
                audience="customer",
                recipient="jane@example.org",
                channel="email",
                subject="How did we do?",
                body="Tell us",
            ),
            now=RECEIVED + timedelta(days=1),
        )
    session.commit()
    return keys


def late(session: Session, inquiry_id: str = "INQ-1", **scores: Any) -> SurveyAnswer:
    values: dict[str, Any] = {"csat": None, "nps": None, "ces": None, "comment": None}
    return record_late_survey(
        session=session, inquiry_id=inquiry_id, now=LATER, **(values | scores)
    )


# --- the workflow's write --------------------------------------------------------------------


async def test_recording_the_same_survey_twice_keeps_the_first_answer(db_engine: Engine) -> None:
    # The workflow's documentation writes the answer with its audit batch; a retried batch, or
    # a second answer to the same survey, keeps the first.
    keys = DataKeys(db_engine, LocalMasterKeys({"k1": os.urandom(32)}, "k1"))
    store = StoreActivities(db_engine, Pseudonyms(keys))

    first = RecordInput(survey_answers=[answer(csat=2, comment=COMMENT)])
    await ActivityEnvironment().run(store.record_events, first)
    await ActivityEnvironment().run(store.record_events, first)
    await ActivityEnvironment().run(
        store.record_events, RecordInput(survey_answers=[answer(csat=5)])
    )

    with Session(db_engine) as session:
        (row,) = list_survey_answers(session=session, inquiry_id="INQ-1")
        again = record_survey_answer(session=session, answer=answer(csat=1), now=LATER)
    assert (row.csat, row.comment, row.late) == (2, COMMENT, False)
    assert row.answered_at == RECEIVED + timedelta(days=8)
    assert again is False


async def test_answers_to_different_surveys_are_each_kept(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        first = record_survey_answer(session=session, answer=answer("s:1"), now=LATER)
        second = record_survey_answer(session=session, answer=answer("s:2", nps=9), now=LATER)
        stored = list_survey_answers(session=session, inquiry_id="INQ-1")

    assert (first, second) == (True, True)
    assert [(r.survey_ref, r.nps) for r in stored] == [("s:1", None), ("s:2", 9)]


# --- the late path ---------------------------------------------------------------------------


async def test_a_late_answer_to_a_closed_inquiry_is_stored_as_late(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        keys = given_inquiry(session, surveys=2)

        recorded = late(session, csat=1, ces=6, comment=COMMENT)
        session.commit()
        stored = list_survey_answers(session=session, inquiry_id="INQ-1")
        trail = list_audit(session=session, inquiry_id="INQ-1")

    assert recorded.survey_ref == keys[-1]
    assert [(r.survey_ref, r.csat, r.nps, r.ces, r.late) for r in stored] == [
        (keys[-1], 1, None, 6, True)
    ]
    assert stored[0].answered_at == LATER and stored[0].workflow_id == "inquiry-INQ-1"
    assert [(e.action, e.detail["late"], e.detail["csat"]) for e in trail] == [
        ("survey_answered", True, 1)
    ]
    assert "Jane" not in repr([e.detail for e in trail])


async def test_a_late_answer_to_a_withdrawn_inquiry_is_accepted(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        given_inquiry(session, stage=Stage.WITHDRAWN)

        assert late(session, nps=3).late is True


@pytest.mark.parametrize(
    ("given", "scores", "error", "says"),
    [
        ({}, {"csat": 4}, UnknownInquiry, "no inquiry INQ-1"),
        ({"stage": Stage.FOLLOW_UP}, {"csat": 4}, InquiryStillOpen, "survey_response signal"),
        ({"surveys": 0}, {"csat": 4}, NoSurveySent, "no survey was sent for inquiry INQ-1"),
        ({"surveys": 1}, {"csat": 6, "comment": COMMENT}, InvalidSurveyScores, "csat"),
        ({"surveys": 1}, {"nps": -1}, InvalidSurveyScores, "nps"),
        ({"surveys": 1}, {"comment": COMMENT}, InvalidSurveyScores, "at least one"),
    ],
)
async def test_a_late_answer_that_cannot_be_taken_is_refused_naming_why(
    db_engine: Engine,
    given: dict[str, Any],
    scores: dict[str, Any],
    error: type[Exception],
    says: str,
) -> None:
    with Session(db_engine) as session:
        if given:
            given_inquiry(session, **given)

        with pytest.raises(error) as caught:
            late(session, **scores)
        session.rollback()
        stored = list_survey_answers(session=session, inquiry_id="INQ-1")

    assert says in str(caught.value) and "INQ-1" in str(caught.value)
    assert "Jane" not in str(caught.value)
    assert stored == []


async def test_a_survey_answers_only_once_however_it_arrives(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        (key,) = given_inquiry(session)
        record_survey_answer(session=session, answer=answer(key, csat=5), now=LATER)
        session.commit()

        with pytest.raises(SurveyAlreadyAnswered, match="survey for inquiry INQ-1"):
            late(session, csat=1)
        session.rollback()
        stored = list_survey_answers(session=session, inquiry_id="INQ-1")

    assert [(r.csat, r.late) for r in stored] == [(5, False)]


def test_a_database_at_step_1_gains_every_later_step_and_keeps_its_rows(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db_url)
    try:
        monkeypatch.setattr(db, "MIGRATIONS", db.MIGRATIONS[:1])
        assert migrate(engine) == 1
        with engine.begin() as conn:  # a row as step 1 wrote it: its columns only
            conn.execute(
                text(
                    "INSERT INTO inquiry (inquiry_id, workflow_id, first_run_id, sector, stage,"
                    " categories, compliance_flags, sla_breached, version, received_at,"
                    " created_at, updated_at) VALUES ('INQ-1', 'inquiry-INQ-1', 'run-a',"
                    " 'healthcare', 'closed', '[]', '[]', false, 1, :at, :at, :at)"
                ),
                {"at": RECEIVED},
            )
        monkeypatch.undo()

        assert migrate(engine) == db.MIGRATIONS[-1][0]
        assert {"survey_answer", "data_key"} <= set(inspect(engine).get_table_names())
        with Session(engine) as session:
            found = find_inquiry(session=session, inquiry_id="INQ-1")
        assert found is not None and found.stage == "closed" and found.customer_ref is None
    finally:
        engine.dispose()


# --- the starter -----------------------------------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated SQLite file that DATABASE_URL names, as the starter will read it."""
    url = f"sqlite:///{tmp_path / 'inquiries.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = make_engine(url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


async def test_record_survey_command_stores_a_late_answer(
    sqlite_store: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with Session(sqlite_store) as session:
        (key,) = given_inquiry(session, inquiry_id="INQ-9")
    out = io.StringIO()

    status = await starter.main(
        ["record-survey", "INQ-9", "--csat", "2", "--nps", "7", "--comment", COMMENT], out=out
    )

    assert status == 0, capsys.readouterr().err
    assert json.loads(out.getvalue()) == {
        "inquiry_id": "INQ-9",
        "survey_ref": key,
        "recorded": True,
        "late": True,
        "csat": 2,
        "nps": 7,
    }
    with Session(sqlite_store) as session:
        (row,) = list_survey_answers(session=session, inquiry_id="INQ-9")
    assert (row.csat, row.nps, row.comment, row.late) == (2, 7, COMMENT, True)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["record-survey", "INQ-404", "--csat", "3"], "error: no inquiry INQ-404 in the store"),
        (["record-survey", "INQ-9", "--csat", "9"], "error: invalid SurveyResponse: csat:"),
        (["record-survey", "INQ-9", "--comment", "hi"], "at least one of csat, nps, ces"),
    ],
)
async def test_record_survey_command_refuses_with_one_line_and_status_2(
    sqlite_store: Engine, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    with Session(sqlite_store) as session:
        given_inquiry(session, inquiry_id="INQ-9")
    out = io.StringIO()

    status = await starter.main(argv, out=out)

    err = capsys.readouterr().err
    assert status == 2
    assert says in err and err.count("\n") == 1
    assert out.getvalue() == ""


class ClosedWorkflowClient:
    """Stands in for a Temporal client whose workflows have all completed."""

    def get_workflow_handle(self, workflow_id: str) -> ClosedWorkflowClient:
        self.id = workflow_id
        return self

    async def execute_update(self, name: str, payload: dict[str, Any], **_: Any) -> None:
        raise RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"")


async def test_a_survey_signal_to_a_closed_inquiry_points_to_record_survey(
    capsys: pytest.CaptureFixture[str],
) -> None:
    client: Any = ClosedWorkflowClient()

    survey = await starter.main(["survey", "INQ-3", "--csat", "4"], client=client)
    survey_err = capsys.readouterr().err
    note = await starter.main(["note", "INQ-3", "--author", "a", "--text", "t"], client=client)
    note_err = capsys.readouterr().err

    assert survey == note == 1
    assert "inquiry INQ-3 is closed" in survey_err and "record-survey INQ-3" in survey_err
    assert "inquiry INQ-3 is closed" in note_err and "record-survey" not in note_err
