"""The audit trail as one hash chain per inquiry: how a row is hashed, how free text is kept
apart from the chain, and the one way rows are appended (`append_events`).

Every writer (the worker's `record_events` activity, the codec server, the late survey path,
erasure) goes through `activities.store.record_events`, which appends here.

The chain
    Each row of an inquiry's trail carries `seq` (1, 2, ... per inquiry), `prev_hash` (the
    previous row's `row_hash`; GENESIS for seq 1) and `row_hash`: the SHA-256 (hex) of the
    canonical JSON (keys sorted, no spaces, UTF-8) of

        inquiry_id, seq, event_key, workflow_id, at (UTC, ISO 8601 with microseconds), actor,
        action, stage, detail (as chained, below), prev_hash

    Changing, removing, inserting or reordering a row breaks a hash or a link, which
    `audit.verify` finds. A wholesale rewrite with fresh hashes is caught by the signed
    checkpoints of every chain's head, kept outside the database (`audit.checkpoints`).

Free text and erasure
    What people write (detail keys `text`, `note`, `comment`, `summary`, and `reason` unless a
    system actor gave it: `free_text_fields`) is not chained itself. The chained detail holds a
    commitment, "sha256:" + the SHA-256 hex of "<salt>:<text>" with a random salt, and the text
    with its salt lives in `audit_text`. Erasure deletes those rows (`erase_texts`): the chain
    still verifies, and the verifier accepts missing text only where a later `customer_erased`
    or `retention_purged` row says why. `read_trail` puts the text back, or "[erased]".

Appending
    One inquiry's appends are serialised across processes by its row in `audit_head`. The
    write's first statement is an `INSERT .. ON CONFLICT DO NOTHING` of that row: SQLite's
    driver begins the transaction just before the first DML, so the write lock is held before
    the head is read; PostgreSQL then locks the row (`SELECT .. FOR UPDATE`). The head moves
    with each row. Heads are locked in inquiry id order, so two writers never deadlock.

    An event whose key is stored with the same content changes nothing (a retried write). A key
    stored with different content does not swallow the event: it is appended under
    `<key>#conflict-<n>`, followed by an `audit_key_conflict` row naming the key (no text, no
    personal data), and an ERROR is logged with the key only.

The database refuses UPDATE and DELETE of `audit_event` rows and UPDATE of `audit_text` rows
(triggers of migration step 5). A table's owner can drop a trigger: on PostgreSQL run the
application as a role with only INSERT and SELECT on the audit tables
(deploy/postgres/audit-grants.sql).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.activities import AuditEvent
from models.store import AuditHead, AuditRecord, AuditText

log = logging.getLogger("regulated_inquiries.audit")

GENESIS = "0" * 64
ERASED = "[erased]"
# Free text people write into the trail; a reason the system gave names only rules and clocks.
WRITTEN_BY_PEOPLE = ("text", "note", "comment", "summary")
SYSTEM_ACTORS = ("system", "policy", "intake")
# A later row with one of these actions is why an inquiry's free text may be gone.
ERASING_ACTIONS = ("customer_erased", "retention_purged")
KEY_CONFLICT = "audit_key_conflict"
COMMITMENT = "sha256:"
SALT_BYTES = 16
MAX_EVENT_KEY = 255

AUDIT_EVENT: Table = AuditRecord.__table__  # type: ignore[attr-defined]
AUDIT_TEXT: Table = AuditText.__table__  # type: ignore[attr-defined]
AUDIT_HEAD: Table = AuditHead.__table__  # type: ignore[attr-defined]

Tip = tuple[int, str]  # (seq, row_hash) of a chain's newest row


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def utc_iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


# --- free text -------------------------------------------------------------------------------


def free_text_fields(actor: str) -> frozenset[str]:
    """The detail keys that hold what a person wrote, for a row by `actor`."""
    fields = set(WRITTEN_BY_PEOPLE)
    if actor not in SYSTEM_ACTORS:
        fields.add("reason")
    return frozenset(fields)


def commitment(salt: str, text: str) -> str:
    return COMMITMENT + hashlib.sha256(f"{salt}:{text}".encode()).hexdigest()


def is_commitment(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value.startswith(COMMITMENT)
        and len(value) == len(COMMITMENT) + 64
    )


def commit_free_text(
    detail: Mapping[str, Any], actor: str, salts: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The detail as chained (free text replaced by commitments) and {field: (salt, text)}.

    `salts` reuses known salts, to compare an event with a stored row; others are fresh.
    """
    personal = free_text_fields(actor)
    chained: dict[str, Any] = {}
    texts: dict[str, tuple[str, str]] = {}
    for key, value in detail.items():
        if key in personal and value not in (None, "", ERASED):
            text = value if isinstance(value, str) else canonical_json(value)
            salt = (salts or {}).get(key) or secrets.token_hex(SALT_BYTES)
            chained[key] = commitment(salt, text)
            texts[key] = (salt, text)
        else:
            chained[key] = value
    return chained, texts


# --- rows as stored --------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """What a row's hash covers."""

    inquiry_id: str
    seq: int
    event_key: str
    workflow_id: str
    at: datetime
    actor: str
    action: str
    stage: str
    detail: Mapping[str, Any]
    prev_hash: str

    def digest(self) -> str:
        content = {
            "inquiry_id": self.inquiry_id,
            "seq": self.seq,
            "event_key": self.event_key,
            "workflow_id": self.workflow_id,
            "at": utc_iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "stage": self.stage,
            "detail": dict(self.detail),
            "prev_hash": self.prev_hash,
        }
        return hashlib.sha256(canonical_json(content).encode()).hexdigest()


@dataclass(frozen=True)
class StoredRow:
    id: int
    event_key: str
    inquiry_id: str
    workflow_id: str
    at: datetime
    actor: str
    action: str
    stage: str
    detail: dict[str, Any]
    seq: int | None
    prev_hash: str | None
    row_hash: str | None

    @property
    def chained(self) -> bool:
        return None not in (self.seq, self.prev_hash, self.row_hash)

    def entry(self, *, seq: int | None = None, prev_hash: str | None = None) -> Entry:
        """The row's content at its own position, or at another (`seq`, `prev_hash`)."""
        at_seq = self.seq if seq is None else seq
        after = self.prev_hash if prev_hash is None else prev_hash
        if at_seq is None or after is None:
            raise ValueError("the row has no chain fields")
        return Entry(
            inquiry_id=self.inquiry_id,
            seq=at_seq,
            event_key=self.event_key,
            workflow_id=self.workflow_id,
            at=self.at,
            actor=self.actor,
            action=self.action,
            stage=self.stage,
            detail=self.detail,
            prev_hash=after,
        )

    def hash_holds(self) -> bool:
        return self.chained and self.entry().digest() == self.row_hash


@dataclass(frozen=True)
class StoredText:
    event_id: int
    field: str
    salt: str
    text: str

    def commitment(self) -> str:
        return commitment(self.salt, self.text)


@dataclass
class Chain:
    """One inquiry's rows (by seq, rows without one last), their texts, and its head."""

    inquiry_id: str
    rows: list[StoredRow] = field(default_factory=list)
    texts: dict[int, dict[str, StoredText]] = field(default_factory=dict)
    head: Tip | None = None


def _row(mapping: RowMapping) -> StoredRow:
    return StoredRow(**{name: mapping[name] for name in StoredRow.__dataclass_fields__})


def _texts(conn: Connection, *where: Any) -> dict[int, dict[str, StoredText]]:
    found: dict[int, dict[str, StoredText]] = {}
    for row in conn.execute(select(AUDIT_TEXT).where(*where)).mappings():
        text = StoredText(row["event_id"], row["field"], row["salt"], row["text"])
        found.setdefault(text.event_id, {})[text.field] = text
    return found


def read_chain(conn: Connection, inquiry_id: str) -> Chain:
    rows = conn.execute(
        select(AUDIT_EVENT)
        .where(AUDIT_EVENT.c.inquiry_id == inquiry_id)
        .order_by(AUDIT_EVENT.c.seq.asc().nulls_last(), AUDIT_EVENT.c.id)
    ).mappings()
    head = conn.execute(
        select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.row_hash).where(AUDIT_HEAD.c.inquiry_id == inquiry_id)
    ).first()
    return Chain(
        inquiry_id=inquiry_id,
        rows=[_row(r) for r in rows],
        texts=_texts(conn, AUDIT_TEXT.c.inquiry_id == inquiry_id),
        head=(head.seq, head.row_hash) if head else None,
    )


def inquiry_ids(conn: Connection) -> list[str]:
    """Every inquiry with audit rows or a chain head."""
    rows = select(AUDIT_EVENT.c.inquiry_id).union(select(AUDIT_HEAD.c.inquiry_id))
    return sorted(conn.execute(rows).scalars())


def chain_heads(conn: Connection) -> dict[str, Tip]:
    """Each inquiry's newest row as stored: (seq, row_hash)."""
    newest = (
        select(AUDIT_EVENT.c.inquiry_id, func.max(AUDIT_EVENT.c.seq).label("seq"))
        .where(AUDIT_EVENT.c.seq.is_not(None))
        .group_by(AUDIT_EVENT.c.inquiry_id)
        .subquery()
    )
    rows = conn.execute(
        select(AUDIT_EVENT.c.inquiry_id, AUDIT_EVENT.c.seq, AUDIT_EVENT.c.row_hash)
        .join(
            newest,
            (newest.c.inquiry_id == AUDIT_EVENT.c.inquiry_id) & (newest.c.seq == AUDIT_EVENT.c.seq),
        )
        .where(AUDIT_EVENT.c.row_hash.is_not(None))
        .order_by(AUDIT_EVENT.c.inquiry_id, AUDIT_EVENT.c.id)
    )
    return {row.inquiry_id: (row.seq, row.row_hash) for row in rows}


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection whose reads all see one state of the database."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        elif conn.dialect.name == "sqlite":
            # The driver opens no transaction for reads: each would see its own state.
            conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()


def read_trail(*, session: Session, inquiry_id: str) -> list[AuditRecord]:
    """The inquiry's rows in the order things happened (ties in chain order), free text put
    back or "[erased]". The rows are copies, detached from the session."""
    conn = session.connection()
    rows = conn.execute(
        select(AUDIT_EVENT)
        .where(AUDIT_EVENT.c.inquiry_id == inquiry_id)
        .order_by(AUDIT_EVENT.c.at, AUDIT_EVENT.c.seq, AUDIT_EVENT.c.id)
    ).mappings()
    texts = _texts(conn, AUDIT_TEXT.c.inquiry_id == inquiry_id)
    return [
        AuditRecord(**{**row, "detail": restored(row, texts.get(row["id"], {}))}) for row in rows
    ]


def restored(row: RowMapping, texts: Mapping[str, StoredText]) -> dict[str, Any]:
    personal = free_text_fields(row["actor"])
    return {
        key: (texts[key].text if key in texts else ERASED)
        if key in personal and is_commitment(value)
        else value
        for key, value in row["detail"].items()
    }


# --- appending -------------------------------------------------------------------------------


def append_events(*, session: Session, events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """Append each event to its inquiry's chain, once; returns the events stored for the first
    time (not those a retried write found stored, nor a conflicting one kept under a derived key
    beside its alarm). Committing is the caller's."""
    by_inquiry: dict[str, list[tuple[AuditEvent, dict[str, Any]]]] = {}
    for event in events:
        by_inquiry.setdefault(event.inquiry_id, []).append((event, _values(event)))
    conn = session.connection()
    added: list[AuditEvent] = []
    for inquiry_id in sorted(by_inquiry):
        batch = by_inquiry[inquiry_id]
        start = tip = _lock_head(conn, inquiry_id)
        # One look for the whole batch: keys not stored yet go in together, in one statement; a
        # key stored already (a retried write, a conflict, a repeat within the batch) takes the
        # careful path, one row at a time.
        stored = set(
            conn.execute(
                select(AUDIT_EVENT.c.event_key).where(
                    AUDIT_EVENT.c.event_key.in_([v["event_key"] for _, v in batch])
                )
            ).scalars()
        )
        fresh: list[tuple[AuditEvent, dict[str, Any]]] = []
        for event, values in batch:
            if values["event_key"] not in stored:
                stored.add(values["event_key"])
                fresh.append((event, values))
                continue
            tip = _insert_rows(conn, tip, [values for _, values in fresh])
            added += [event for event, _ in fresh]
            fresh = []
            tip = _append(conn, tip, values, alarm=True)
        tip = _insert_rows(conn, tip, [values for _, values in fresh])
        added += [event for event, _ in fresh]
        if tip != start:
            conn.execute(
                update(AUDIT_HEAD)
                .where(AUDIT_HEAD.c.inquiry_id == inquiry_id)
                .values(seq=tip[0], row_hash=tip[1])
            )
    return added


def erase_texts(*, session: Session, inquiry_ids: Sequence[str]) -> int:
    """Delete the free text of these inquiries' audit rows; returns how many rows had some."""
    conn = session.connection()
    where = AUDIT_TEXT.c.inquiry_id.in_(list(inquiry_ids))
    rows = conn.execute(
        select(func.count(func.distinct(AUDIT_TEXT.c.event_id))).where(where)
    ).scalar_one()
    conn.execute(delete(AUDIT_TEXT).where(where))
    return int(rows)


def _values(event: AuditEvent) -> dict[str, Any]:
    utc_iso(event.at)  # refuses a naive time before anything is written
    return {
        **event.model_dump(mode="python", exclude={"detail", "stage"}),
        "stage": event.stage.value,
        # JSON mode turns dates, enums and the like in the detail into plain JSON values.
        "detail": event.model_dump(mode="json")["detail"],
    }


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the store does not support the {conn.dialect.name} dialect")


def _lock_head(conn: Connection, inquiry_id: str) -> Tip:
    # DML first: see the module docstring.
    conn.execute(
        _insert(conn, AUDIT_HEAD)
        .values(inquiry_id=inquiry_id, seq=0, row_hash=GENESIS)
        .on_conflict_do_nothing(index_elements=["inquiry_id"])
    )
    head = conn.execute(
        select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.row_hash)
        .where(AUDIT_HEAD.c.inquiry_id == inquiry_id)
        .with_for_update()
    ).one()
    if head.seq == 0:
        # A head made just now; rows stored without one (it was removed) still come first.
        newest = conn.execute(
            select(AUDIT_EVENT.c.seq, AUDIT_EVENT.c.row_hash)
            .where(AUDIT_EVENT.c.inquiry_id == inquiry_id, AUDIT_EVENT.c.seq.is_not(None))
            .order_by(AUDIT_EVENT.c.seq.desc())
            .limit(1)
        ).first()
        if newest is not None:
            return newest.seq, newest.row_hash
    return head.seq, head.row_hash


def _append(conn: Connection, tip: Tip, values: dict[str, Any], *, alarm: bool) -> Tip:
    key = values["event_key"]
    conflicts = 0
    while True:
        candidate = key if conflicts == 0 else _derived_key(key, f"#conflict-{conflicts}")
        stored = conn.execute(select(AUDIT_EVENT).where(AUDIT_EVENT.c.event_key == candidate))
        existing = stored.mappings().first()
        if existing is None:
            added = _insert_row(conn, tip, {**values, "event_key": candidate})
            if added is None:  # another inquiry's writer took the key this instant: look again
                continue
            break
        if _same_content(conn, _row(existing), values):
            return tip
        conflicts += 1
    if conflicts:
        log.error(
            "audit event key %s is stored with other content; the event was recorded as %s",
            key,
            candidate,
        )
        if alarm:
            added = _append(conn, added, _alarm(values, key, candidate), alarm=False)
    return added


def _insert_rows(conn: Connection, tip: Tip, batch: Sequence[dict[str, Any]]) -> Tip:
    """Append events whose keys were found absent under the head lock, in one statement.

    A plain INSERT: should another inquiry's writer take one of these keys in the meantime
    (PostgreSQL: it holds its own head), the unique key fails the transaction and the retried
    write finds the key stored, so it takes the careful path (`_append`)."""
    if not batch:
        return tip
    rows: list[dict[str, Any]] = []
    texts_of: dict[str, dict[str, tuple[str, str]]] = {}
    for values in batch:
        chained, texts = commit_free_text(values["detail"], values["actor"])
        linked = {**values, "detail": chained, "seq": tip[0] + 1, "prev_hash": tip[1]}
        tip = (tip[0] + 1, Entry(**linked).digest())
        rows.append({**linked, "row_hash": tip[1]})
        texts_of[values["event_key"]] = texts
    ids = conn.execute(
        insert(AUDIT_EVENT).returning(AUDIT_EVENT.c.event_key, AUDIT_EVENT.c.id), rows
    ).all()
    _insert_texts(conn, [(event_id, texts_of[key]) for key, event_id in ids], batch[0])
    return tip


def _insert_row(conn: Connection, tip: Tip, values: dict[str, Any]) -> Tip | None:
    """Append one event unless its key is taken (None then): the careful path."""
    chained, texts = commit_free_text(values["detail"], values["actor"])
    seq, prev_hash = tip[0] + 1, tip[1]
    linked = {**values, "detail": chained, "seq": seq, "prev_hash": prev_hash}
    row_hash = Entry(**linked).digest()
    event_id = conn.execute(
        _insert(conn, AUDIT_EVENT)
        .values(**linked, row_hash=row_hash)
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(AUDIT_EVENT.c.id)
    ).scalar_one_or_none()
    if event_id is None:
        return None
    _insert_texts(conn, [(event_id, texts)], values)
    return seq, row_hash


def _insert_texts(
    conn: Connection,
    texts: Sequence[tuple[int, dict[str, tuple[str, str]]]],
    values: Mapping[str, Any],
) -> None:
    """The free text of stored rows (`event_id`, field -> (salt, text)), of one inquiry."""
    rows = [
        {
            "event_id": event_id,
            "inquiry_id": values["inquiry_id"],
            "field": key,
            "salt": salt,
            "text": text,
        }
        for event_id, fields in texts
        for key, (salt, text) in fields.items()
    ]
    if rows:
        conn.execute(insert(AUDIT_TEXT), rows)


def _same_content(conn: Connection, existing: StoredRow, values: Mapping[str, Any]) -> bool:
    """Whether `values` is the event already stored as `existing` (a retried write)."""
    facts = ("inquiry_id", "workflow_id", "actor", "action", "stage")
    if any(getattr(existing, name) != values[name] for name in facts):
        return False
    if existing.at != values["at"]:
        return False
    texts = _texts(conn, AUDIT_TEXT.c.event_id == existing.id).get(existing.id, {})
    chained, _ = commit_free_text(
        values["detail"], values["actor"], {key: text.salt for key, text in texts.items()}
    )
    if set(chained) != set(existing.detail):
        return False
    for key, value in existing.detail.items():
        if canonical_json(value) == canonical_json(chained[key]):
            continue
        erased = key not in texts and (is_commitment(value) or value == ERASED)
        if erased and is_commitment(chained[key]):
            continue  # the stored text was erased: nothing is left to compare it with
        return False
    return True


def _derived_key(key: str, suffix: str) -> str:
    if len(key) + len(suffix) <= MAX_EVENT_KEY:
        return key + suffix
    return COMMITMENT + hashlib.sha256(key.encode()).hexdigest() + suffix


def _alarm(values: Mapping[str, Any], key: str, recorded_as: str) -> dict[str, Any]:
    # Deterministic, so a retried write finds it stored and adds nothing.
    return {
        "event_key": _derived_key(recorded_as, ":key-conflict"),
        "inquiry_id": values["inquiry_id"],
        "workflow_id": values["workflow_id"],
        "at": values["at"],
        "actor": "system",
        "action": KEY_CONFLICT,
        "stage": values["stage"],
        "detail": {"event_key": key, "recorded_as": recorded_as},
    }
