"""Per-inquiry data keys, stored wrapped by a master key in the `data_key` table.

A scope is what a key protects: an inquiry's workflow id, or `SHARED_SCOPE` for the few payloads
that travel without one (a client call that names no workflow). One row per scope, created on
first use by whichever process encodes first (the starter, the codec server or the worker); a race
between two processes ends with both using the row that won.

Keys are cached unwrapped for `cache_seconds`, so an erasure reaches every other process within
that time; in this process it takes effect at once.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Column,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from encryption.master import KEY_BYTES, KeyConfigError, MasterKeys
from models.store import UtcDateTime

SHARED_SCOPE = "-shared-"
CHECK_SCOPE = "-check-"  # a key used for nothing but proving the ring opens this store

_metadata = MetaData()
DATA_KEY = Table(
    "data_key",
    _metadata,
    Column("key_id", String(40), primary_key=True),
    Column("scope", String(128), nullable=False, unique=True),
    Column("master_key_id", String(64), nullable=False),
    Column("wrapped", LargeBinary, nullable=True),  # NULL once erased
    Column("created_at", UtcDateTime, nullable=False),
    Column("erased_at", UtcDateTime, nullable=True),
)


# A data key row as unwrapping needs it.
WRAPPED_KEY = (DATA_KEY.c.key_id, DATA_KEY.c.scope, DATA_KEY.c.master_key_id, DATA_KEY.c.wrapped)


class UnknownDataKey(LookupError):
    """A payload names a data key this store never held (another deployment's, or forged)."""


class DataKeyErased(LookupError):
    """The data key was destroyed on erasure: what it protected can never be read again."""


@dataclass(frozen=True)
class DataKey:
    key_id: str
    scope: str
    cipher: AESGCM
    secret: bytes = field(repr=False)


def _context(key_id: str, scope: str) -> bytes:
    # Binds a wrapped key to its row: a wrapped key copied onto another scope does not open.
    return f"data-key|{key_id}|{scope}".encode()


class DataKeys:
    def __init__(
        self,
        engine: Engine,
        master: MasterKeys,
        *,
        cache_seconds: float = 300.0,
        cache_size: int = 10_000,
    ) -> None:
        self._engine = engine
        self._master = master
        self._ttl = cache_seconds
        self._size = cache_size
        self._by_scope: OrderedDict[str, tuple[float, DataKey]] = OrderedDict()
        self._by_id: OrderedDict[str, tuple[float, DataKey]] = OrderedDict()

    @property
    def engine(self) -> Engine:
        return self._engine

    # --- the codec's two questions ------------------------------------------------------------

    async def for_scope(self, scope: str) -> DataKey:
        """The key that encrypts payloads of `scope`, created on first use."""
        return await self._get(self._by_scope, scope, self._load_or_create)

    async def by_id(self, key_id: str) -> DataKey:
        """The key a payload names; UnknownDataKey or DataKeyErased when it cannot be had."""
        return await self._get(self._by_id, key_id, self._load_by_id)

    async def _get(
        self,
        table: OrderedDict[str, tuple[float, DataKey]],
        name: str,
        load: Callable[[str], DataKey],
    ) -> DataKey:
        cached = self._cached(table, name)
        if cached is None:
            cached = await asyncio.to_thread(load, name)
            self._remember(cached)
        return cached

    async def check(self) -> None:
        """Refuse a master key ring that cannot open the keys already in this store (a wrong or
        missing key file), before any inquiry meets it: KeyConfigError naming the master key."""
        try:
            await self.for_scope(CHECK_SCOPE)
        except KeyError as missing:
            raise KeyConfigError(
                f"the store's data keys are wrapped by master key {missing}, which is not in "
                "the configured ring"
            ) from None
        except ValueError:
            raise KeyConfigError(
                "the configured master keys do not open the data keys in this store"
            ) from None

    # --- operators' acts ----------------------------------------------------------------------

    def erase(self, scopes: Iterable[str]) -> int:
        """Destroy the data keys of these scopes; returns how many were destroyed now."""
        wanted = sorted(set(scopes))
        if not wanted:
            return 0
        with self._engine.begin() as conn:
            erased = conn.execute(
                update(DATA_KEY)
                .where(DATA_KEY.c.scope.in_(wanted), DATA_KEY.c.wrapped.is_not(None))
                .values(wrapped=None, erased_at=datetime.now(UTC))
            ).rowcount
        gone = set(wanted)
        for table in (self._by_scope, self._by_id):
            for name in [name for name, (_, key) in table.items() if key.scope in gone]:
                del table[name]
        return int(erased or 0)

    def rewrap(self) -> int:
        """Wrap every live data key with the active master key; returns how many moved."""
        moved = 0
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(*WRAPPED_KEY)
                .where(DATA_KEY.c.wrapped.is_not(None))
                .where(DATA_KEY.c.master_key_id != self._master.active_id)
            ).all()
            for key_id, scope, master_key_id, wrapped in rows:
                context = _context(key_id, scope)
                plain = self._master.unwrap(master_key_id, wrapped, context)
                new_master, new_wrapped = self._master.wrap(plain, context)
                conn.execute(
                    update(DATA_KEY)
                    .where(DATA_KEY.c.key_id == key_id)
                    .values(master_key_id=new_master, wrapped=new_wrapped)
                )
                moved += 1
        return moved

    def master_key_ids_in_use(self) -> dict[str, int]:
        """Live data keys per master key: a master key with none left may leave the ring."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(DATA_KEY.c.master_key_id).where(DATA_KEY.c.wrapped.is_not(None))
            ).scalars()
            counts: dict[str, int] = {}
            for master_key_id in rows:
                counts[master_key_id] = counts.get(master_key_id, 0) + 1
        return counts

    # --- inside ---------------------------------------------------------------------------------

    def _load_or_create(self, scope: str) -> DataKey:
        found = self._select(DATA_KEY.c.scope == scope)
        if found is not None:
            return found
        key_id = uuid.uuid4().hex
        plain = os.urandom(KEY_BYTES)
        master_key_id, wrapped = self._master.wrap(plain, _context(key_id, scope))
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    DATA_KEY.insert().values(
                        key_id=key_id,
                        scope=scope,
                        master_key_id=master_key_id,
                        wrapped=wrapped,
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            # Another process created this scope's key first: use theirs.
            found = self._select(DATA_KEY.c.scope == scope)
            if found is None:
                raise
            return found
        return DataKey(key_id, scope, AESGCM(plain), plain)

    def _load_by_id(self, key_id: str) -> DataKey:
        found = self._select(DATA_KEY.c.key_id == key_id)
        if found is None:
            raise UnknownDataKey("the data key is not in this store")
        return found

    def _select(self, where: object) -> DataKey | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(*WRAPPED_KEY).where(where)  # type: ignore[arg-type]
            ).one_or_none()
        if row is None:
            return None
        key_id, scope, master_key_id, wrapped = row
        if wrapped is None:
            raise DataKeyErased(f"data key {key_id} was erased")
        plain = self._master.unwrap(master_key_id, wrapped, _context(key_id, scope))
        return DataKey(key_id, scope, AESGCM(plain), plain)

    def _cached(self, table: OrderedDict[str, tuple[float, DataKey]], name: str) -> DataKey | None:
        entry = table.get(name)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del table[name]
            return None
        table.move_to_end(name)
        return entry[1]

    def _remember(self, key: DataKey) -> None:
        expires = time.monotonic() + self._ttl
        self._by_id[key.key_id] = (expires, key)
        self._by_scope[key.scope] = (expires, key)
        for table in (self._by_id, self._by_scope):
            while len(table) > self._size:
                table.popitem(last=False)
