"""Walks the audit chains and names what is wrong with them (`verify_store`).

What is found, per inquiry (each a `Finding` with the seq and event key where it applies):

    changed          a row's content no longer matches its hash; or the chain's newest row is
                     not the one its head recorded
    removed          a gap in the seqs, rows missing after the last one (the head is further),
                     or an inquiry the checkpoint knows and the store does not
    inserted         a row without chain fields, a second row at one seq, a row whose prev_hash
                     is not the hash of the row before it, or rows past the chain's head
    reordered        two rows swapped (each hashes correctly at the other's place), or one moved
    text_changed     a row's free text does not match its commitment
    text_removed     a row's free text is gone, and no later customer_erased or
                     retention_purged row says why
    checkpoint_mismatch  the row at a seq the newest valid checkpoint recorded has another hash
                     (a chain rewritten with fresh hashes)
    checkpoint_invalid   a checkpoint file newer than the one used does not verify

Each inquiry is read in one snapshot, so appends running meanwhile never look like tampering.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel
from sqlalchemy import Engine

from audit.chain import (
    ERASING_ACTIONS,
    GENESIS,
    Chain,
    StoredRow,
    free_text_fields,
    inquiry_ids,
    is_commitment,
    read_chain,
    snapshot,
)
from audit.checkpoints import Checkpoint, Head, newest_valid

FindingKind = Literal[
    "changed",
    "removed",
    "inserted",
    "reordered",
    "text_changed",
    "text_removed",
    "checkpoint_mismatch",
    "checkpoint_invalid",
]


class Finding(BaseModel):
    kind: FindingKind
    reason: str
    inquiry_id: str | None = None
    seq: int | None = None
    event_key: str | None = None

    @classmethod
    def at_row(cls, kind: FindingKind, row: StoredRow, reason: str) -> Finding:
        return cls(
            kind=kind,
            reason=reason,
            inquiry_id=row.inquiry_id,
            seq=row.seq,
            event_key=row.event_key,
        )


class CheckpointUsed(BaseModel):
    file: str
    at: datetime
    inquiries: int


class Verification(BaseModel):
    ok: bool
    inquiries: int  # inquiries with audit rows that were checked
    rows: int
    checkpoint: CheckpointUsed | None
    findings: list[Finding]


def verify_store(
    engine: Engine,
    *,
    inquiry_id: str | None = None,
    checkpoint_dir: Path | None = None,
    public_key: Ed25519PublicKey | None = None,
) -> Verification:
    """Verify one inquiry's chain, or every chain, and hold them against the newest valid
    checkpoint in `checkpoint_dir` (none given: chains only)."""
    findings: list[Finding] = []
    checkpoint: Checkpoint | None = None
    if checkpoint_dir is not None:
        checkpoint, invalid = newest_valid(checkpoint_dir, public_key)
        findings += [
            Finding(kind="checkpoint_invalid", reason=f"{name}: {why}") for name, why in invalid
        ]
    if inquiry_id is not None:
        ids = [inquiry_id]
    else:
        with snapshot(engine) as conn:
            ids = inquiry_ids(conn)
        ids = sorted(set(ids) | set(checkpoint.heads if checkpoint else ()))
    inquiries = rows = 0
    for one in ids:
        with snapshot(engine) as conn:
            chain = read_chain(conn, one)
        inquiries += bool(chain.rows)
        rows += len(chain.rows)
        findings += check_chain(chain)
        if checkpoint is not None and one in checkpoint.heads:
            findings += check_against_checkpoint(chain, checkpoint.heads[one], checkpoint)
    used = (
        CheckpointUsed(file=checkpoint.file, at=checkpoint.at, inquiries=len(checkpoint.heads))
        if checkpoint
        else None
    )
    return Verification(
        ok=not findings, inquiries=inquiries, rows=rows, checkpoint=used, findings=findings
    )


def check_chain(chain: Chain) -> list[Finding]:
    """Everything wrong with one inquiry's chain, its texts and its head."""
    findings = [
        Finding.at_row("inserted", row, "the row has no chain fields: written outside the chain")
        for row in chain.rows
        if not row.chained
    ]
    genuine, extra = _one_per_seq([row for row in chain.rows if row.chained])
    findings += [Finding.at_row("inserted", row, f"a second row at seq {row.seq}") for row in extra]
    moved = _moved(genuine)
    findings += _hash_and_link_findings(genuine, moved)
    findings += _head_findings(chain, genuine)
    findings += _text_findings(chain, genuine)
    return findings


def check_against_checkpoint(chain: Chain, head: Head, checkpoint: Checkpoint) -> list[Finding]:
    when = f"the checkpoint of {checkpoint.at.isoformat()}"
    if not chain.rows:
        return [
            Finding(
                kind="removed",
                inquiry_id=chain.inquiry_id,
                reason=f"the inquiry's audit trail is gone; {when} recorded {head.seq} rows",
            )
        ]
    at_seq = [row for row in chain.rows if row.seq == head.seq]
    if not at_seq:
        return [
            Finding(
                kind="removed",
                inquiry_id=chain.inquiry_id,
                seq=head.seq,
                reason=f"no row at seq {head.seq}, which {when} recorded",
            )
        ]
    if any(row.row_hash == head.row_hash for row in at_seq):
        return []
    return [
        Finding.at_row(
            "checkpoint_mismatch",
            at_seq[0],
            f"the row at seq {head.seq} is not the one {when} recorded: the chain up to it "
            "was rewritten",
        )
    ]


def _one_per_seq(rows: list[StoredRow]) -> tuple[list[StoredRow], list[StoredRow]]:
    """The row at each seq, and the rows that also claim a seq (inserted)."""
    by_seq: dict[int, list[StoredRow]] = {}
    for row in rows:
        assert row.seq is not None
        by_seq.setdefault(row.seq, []).append(row)
    genuine: list[StoredRow] = []
    extra: list[StoredRow] = []
    for seq in sorted(by_seq):
        claims = by_seq[seq]
        linked_to = {row.prev_hash for row in by_seq.get(seq + 1, [])}
        # The row the next one links to; else one whose hash holds; else the first written.
        keep = max(claims, key=lambda r: (r.row_hash in linked_to, r.hash_holds(), -r.id))
        genuine.append(keep)
        extra += [row for row in claims if row is not keep]
    return genuine, extra


def _moved(genuine: list[StoredRow]) -> dict[int, int]:
    """For each row whose hash fails at its own place but holds at another's: seq -> that seq.

    Two rows swapped either kept their chain fields (each content hashes at the other's
    position) or exchanged their seqs (each content hashes at its old seq)."""
    broken = [row for row in genuine if not row.hash_holds()]
    moved: dict[int, int] = {}
    for row in broken:
        for other in broken:
            if other is row or other.seq is None:
                continue
            own_seq = row.entry(seq=other.seq).digest() == row.row_hash
            other_place = row.entry(seq=other.seq, prev_hash=other.prev_hash).digest()
            if own_seq or other_place == other.row_hash:
                assert row.seq is not None
                moved[row.seq] = other.seq
                break
    return moved


def _hash_and_link_findings(genuine: list[StoredRow], moved: dict[int, int]) -> list[Finding]:
    findings: list[Finding] = []
    reported: set[int] = set()
    for row in genuine:
        assert row.seq is not None
        if row.seq in moved and row.seq not in reported:
            there = moved[row.seq]
            reported |= {row.seq, there}
            swapped = moved.get(there) == row.seq
            findings.append(
                Finding.at_row(
                    "reordered",
                    row,
                    f"the rows at seq {row.seq} and {there} are swapped"
                    if swapped
                    else f"the row at seq {row.seq} belongs at seq {there}",
                )
            )
        elif row.seq not in moved and not row.hash_holds():
            findings.append(Finding.at_row("changed", row, "its content does not match its hash"))
    previous: StoredRow | None = None
    for row in genuine:
        assert row.seq is not None
        expected_seq = previous.seq + 1 if previous and previous.seq is not None else 1
        expected_hash = previous.row_hash if previous else GENESIS
        if row.seq > expected_seq:
            missing = (
                f"{expected_seq}"
                if row.seq == expected_seq + 1
                else (f"{expected_seq} to {row.seq - 1}")
            )
            findings.append(
                Finding.at_row("removed", row, f"rows missing before it: seq {missing}")
            )
        elif row.prev_hash != expected_hash and not ({row.seq, row.seq - 1} & set(moved)):
            findings.append(
                Finding.at_row(
                    "inserted",
                    row,
                    f"its prev_hash is not the hash of the row at seq {expected_seq - 1}"
                    if expected_seq > 1
                    else "seq 1 does not start the chain",
                )
            )
        previous = row
    return findings


def _head_findings(chain: Chain, genuine: list[StoredRow]) -> list[Finding]:
    newest = genuine[-1] if genuine else None
    if chain.head is None:
        if newest is None:
            return []
        return [
            Finding(
                kind="inserted",
                inquiry_id=chain.inquiry_id,
                reason="the inquiry has rows but no chain head: they were written outside it",
            )
        ]
    head_seq, head_hash = chain.head
    last = newest.seq if newest and newest.seq is not None else 0
    if head_seq > last:
        return [
            Finding(
                kind="removed",
                inquiry_id=chain.inquiry_id,
                seq=last + 1,
                reason=f"rows missing after seq {last}: the chain's head is at seq {head_seq}",
            )
        ]
    if head_seq < last:
        return [
            Finding.at_row("inserted", row, f"past the chain's head (seq {head_seq})")
            for row in genuine
            if row.seq is not None and row.seq > head_seq
        ]
    if newest is not None and newest.row_hash != head_hash:
        return [Finding.at_row("changed", newest, "not the row the chain's head recorded")]
    return []


def _text_findings(chain: Chain, genuine: Iterable[StoredRow]) -> list[Finding]:
    erasures = [row.seq for row in genuine if row.action in ERASING_ACTIONS and row.seq]
    last_erasure = max(erasures, default=0)
    findings: list[Finding] = []
    for row in chain.rows:
        texts = chain.texts.get(row.id, {})
        committed = {
            key: value
            for key, value in row.detail.items()
            if key in free_text_fields(row.actor) and is_commitment(value)
        }
        for key, value in committed.items():
            text = texts.get(key)
            if text is None:
                if row.seq is None or row.seq >= last_erasure:
                    reason = f"its free text ({key}) is gone, and no later erasure says why"
                    findings.append(Finding.at_row("text_removed", row, reason))
            elif text.commitment() != value:
                reason = f"its free text ({key}) does not match the commitment"
                findings.append(Finding.at_row("text_changed", row, reason))
        for key in sorted(set(texts) - set(committed)):
            reason = f"free text ({key}) the row does not commit to"
            findings.append(Finding.at_row("text_changed", row, reason))
    return findings
