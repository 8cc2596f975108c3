"""What every command shares: the user-facing error, reading and checking input, printing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import WorkflowExecutionStatus

from activities.db import make_engine
from activities.migrations import migrate
from models.settings import Settings
from workflows.intake import describe

WORKFLOW_TYPE = "RegulatedInquiry"


class CommandError(Exception):
    """A mistake the user can fix; printed as one line, exit status 2."""


class ActionRefused(Exception):
    """The inquiry refused the action by its rules (the verdict is printed); exit status 1."""


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise CommandError(f"cannot read {path}: {err.strerror}") from None


def parse_json(raw: str, source: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise CommandError(
            f"{source} is not valid JSON (line {err.lineno}, column {err.colno})"
        ) from None


def validate(model: type[BaseModel], value: Any) -> Any:
    if not isinstance(value, dict):
        raise CommandError(f"expected a JSON object for {model.__name__}")
    try:
        return model.model_validate(value)
    except ValidationError as err:
        raise CommandError(f"invalid {model.__name__}: {describe(err)}") from None


def emit(out: TextIO, value: dict[str, Any]) -> None:
    out.write(json.dumps(value) + "\n")


def run_state(value: WorkflowExecutionStatus | None) -> str:
    return value.name.lower() if value else "unknown"


def drop_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


@contextmanager
def open_store(settings: Settings) -> Iterator[Engine]:
    """The store at DATABASE_URL, migrated; a database error becomes a CommandError."""
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        yield engine
    except SQLAlchemyError as err:
        # The driver's text may quote the URL or the statement's values.
        raise CommandError(
            f"the store at DATABASE_URL failed ({type(err).__name__}); is it reachable?"
        ) from None
    finally:
        engine.dispose()
