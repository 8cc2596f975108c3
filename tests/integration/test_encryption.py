"""The payload codec on both databases: what an auditor reading Temporal's raw history would see,
what a key rotation and an erasure do, and what a failure message keeps."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.converter import WorkflowSerializationContext
from temporalio.exceptions import ApplicationError

import clients
from encryption import (
    DataKeyErased,
    DataKeys,
    EncryptionCodec,
    KeyConfigError,
    LocalMasterKeys,
    Undecodable,
)
from encryption.__main__ import main as encryption_cli
from encryption.master import load_master_keys, new_key
from models.settings import Settings

CANARY = "canary-7f3a-Hypertension-jordan@example.test"


def ring(active: str, *ids: str, keys: dict[str, bytes] | None = None) -> LocalMasterKeys:
    keys = keys or {}
    return LocalMasterKeys({i: keys.get(i) or os.urandom(32) for i in {active, *ids}}, active)


def payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps({"body": text}).encode())


def for_inquiry(keys: DataKeys, workflow_id: str) -> EncryptionCodec:
    context = WorkflowSerializationContext(namespace="default", workflow_id=workflow_id)
    return EncryptionCodec(keys).with_context(context)


async def test_an_encoded_payload_shows_nothing_and_decodes_to_the_original(
    db_engine: Engine,
) -> None:
    codec = for_inquiry(DataKeys(db_engine, ring("k1")), "inquiry-INQ-1")
    original = payload(CANARY)

    [sealed] = await codec.encode([original])

    assert CANARY.encode() not in sealed.SerializeToString()
    assert b"Hypertension" not in sealed.SerializeToString()
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert await codec.decode([sealed]) == [original]


async def test_each_inquiry_has_its_own_data_key_and_a_plain_payload_passes(
    db_engine: Engine,
) -> None:
    keys = DataKeys(db_engine, ring("k1"))
    [one] = await for_inquiry(keys, "inquiry-A").encode([payload("a")])
    [two] = await for_inquiry(keys, "inquiry-B").encode([payload("b")])
    plain = payload("from a raw client")

    assert one.metadata["encryption-key-id"] != two.metadata["encryption-key-id"]
    # Any codec of the store decodes any payload: the key id travels in the metadata.
    assert await EncryptionCodec(keys).decode([two, plain]) == [payload("b"), plain]


async def test_a_payload_altered_in_history_is_refused_not_misread(db_engine: Engine) -> None:
    keys = DataKeys(db_engine, ring("k1"))
    [sealed] = await for_inquiry(keys, "inquiry-INQ-1").encode([payload("approve")])
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])

    with pytest.raises(Undecodable, match="altered or forged"):
        await EncryptionCodec(keys).decode([sealed])
    # Inside the inquiry it becomes a value the workflow refuses: the inquiry never wedges.
    [refused] = await for_inquiry(keys, "inquiry-INQ-1").decode([sealed])
    assert json.loads(refused.data) == {"undecodable_payload": "altered or forged ciphertext"}


async def test_another_inquirys_payload_copied_into_an_inquiry_is_not_opened_there(
    db_engine: Engine,
) -> None:
    keys = DataKeys(db_engine, ring("k1"))
    [theirs] = await for_inquiry(keys, "inquiry-A").encode([payload(CANARY)])

    [moved] = await for_inquiry(keys, "inquiry-B").decode([theirs])

    assert CANARY.encode() not in moved.data
    assert json.loads(moved.data) == {"undecodable_payload": "another inquiry's data key"}
    assert await for_inquiry(keys, "inquiry-A").decode([theirs]) == [payload(CANARY)]


async def test_rotation_keeps_old_payloads_readable_and_rewrap_retires_the_old_key(
    db_engine: Engine,
) -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    before = for_inquiry(DataKeys(db_engine, ring("k1", keys={"k1": k1})), "inquiry-OLD")
    [old] = await before.encode([payload("written under k1")])

    rotated = DataKeys(db_engine, ring("k2", "k1", keys={"k1": k1, "k2": k2}))
    [new] = await for_inquiry(rotated, "inquiry-NEW").encode([payload("written under k2")])
    assert await EncryptionCodec(rotated).decode([old]) == [payload("written under k1")]
    assert rotated.master_key_ids_in_use() == {"k1": 1, "k2": 1}

    assert rotated.rewrap() == 1
    assert rotated.master_key_ids_in_use() == {"k2": 2}
    only_k2 = DataKeys(db_engine, LocalMasterKeys({"k2": k2}, "k2"))
    assert await EncryptionCodec(only_k2).decode([old, new]) == [
        payload("written under k1"),
        payload("written under k2"),
    ]


async def test_erasure_makes_an_inquiry_unreadable_for_good_and_leaves_others(
    db_engine: Engine,
) -> None:
    master = ring("k1")
    keys = DataKeys(db_engine, master)
    [gone] = await for_inquiry(keys, "inquiry-ERASED").encode([payload(CANARY)])
    [kept] = await for_inquiry(keys, "inquiry-KEPT").encode([payload("kept")])

    assert keys.erase(["inquiry-ERASED"]) == 1

    elsewhere = DataKeys(db_engine, master)  # another process, with nothing cached
    for store in (keys, elsewhere):
        with pytest.raises(DataKeyErased):
            await EncryptionCodec(store).decode([gone])
        assert await EncryptionCodec(store).decode([kept]) == [payload("kept")]
    with pytest.raises(DataKeyErased):  # nor can anything new be written for it
        await for_inquiry(elsewhere, "inquiry-ERASED").encode([payload("again")])
    assert keys.erase(["inquiry-ERASED"]) == 0


async def test_a_key_id_from_elsewhere_is_named_as_unknown(db_engine: Engine) -> None:
    [sealed] = await for_inquiry(DataKeys(db_engine, ring("k1")), "inquiry-X").encode(
        [payload("x")]
    )
    sealed.metadata["encryption-key-id"] = b"0" * 32

    with pytest.raises(Undecodable, match="never held"):
        await EncryptionCodec(DataKeys(db_engine, ring("k1"))).decode([sealed])


async def test_failure_messages_and_stack_traces_are_encrypted_except_a_refused_intake(
    db_engine: Engine,
) -> None:
    converter = clients.data_converter(DataKeys(db_engine, ring("k1"))).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id="inquiry-F")
    )
    quoting = Failure()
    await converter.encode_failure(ValueError(f"could not parse {CANARY}"), quoting)
    refused = Failure()
    await converter.encode_failure(
        ApplicationError("intake refused: 'sector' is not one of ...", type="InvalidIntake"),
        refused,
    )

    assert CANARY.encode() not in quoting.SerializeToString()
    assert quoting.message == "Encoded failure"
    decoded = await converter.decode_failure(quoting)
    assert CANARY in str(decoded)
    assert refused.message.startswith("intake refused: 'sector'")


# --- configuration ----------------------------------------------------------------------------


def test_development_makes_a_private_key_file_once(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master-keys.json"
    first = load_master_keys(None, path, create_if_missing=True)
    again = load_master_keys(None, path, create_if_missing=True)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.active_id == again.active_id


def test_outside_development_a_missing_key_is_a_refusal_to_start(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "INQUIRY_ENV": "production",
            "DATABASE_URL": "postgresql://db/inquiries",
            "INQUIRY_MASTER_KEYS_FILE": str(tmp_path / "none.json"),
            "INQUIRY_ISSUER": "https://id.example.test/",
            **{f"{d}_TOKEN": "t" for d in ("BILLING", "CLINICAL", "LEGAL")},
        }
    )
    with pytest.raises(KeyConfigError, match="INQUIRY_MASTER_KEYS"):
        settings.load_master_keys()
    assert not (tmp_path / "none.json").exists()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("not json", "expected"),
        ('{"active": "a", "keys": {"a": "c2hvcnQ="}}', "32 bytes"),
        (json.dumps({"active": "b", "keys": {"a": new_key()}}), "active master key"),
    ],
)
def test_a_bad_key_configuration_is_named_without_showing_a_key(text: str, named: str) -> None:
    with pytest.raises(KeyConfigError, match=named) as refused:
        LocalMasterKeys.from_json(text, "INQUIRY_MASTER_KEYS")
    assert "c2hvcnQ" not in str(refused.value)


async def test_a_ring_that_cannot_open_the_stores_keys_is_refused_before_any_inquiry(
    db_engine: Engine,
) -> None:
    await DataKeys(db_engine, ring("k1")).check()  # the first ring makes the store's keys

    with pytest.raises(KeyConfigError, match="master key 'k1'"):
        await DataKeys(db_engine, ring("k2")).check()
    with pytest.raises(KeyConfigError, match="do not open"):
        await DataKeys(db_engine, ring("k1")).check()  # same name, another key


def test_rotating_twice_at_once_adds_two_keys_and_replaces_none(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    assert encryption_cli(["new-key-file", str(path)]) == 0
    first = json.loads(path.read_text())["keys"]
    assert encryption_cli(["rotate", str(path)]) == 0
    assert encryption_cli(["rotate", str(path)]) == 0

    ring = json.loads(path.read_text())
    assert len(ring["keys"]) == 3 and first.items() <= ring["keys"].items()
    assert ring["active"] not in first
