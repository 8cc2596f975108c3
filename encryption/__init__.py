"""Payload encryption for everything Temporal stores, with a data key per inquiry.

Temporal keeps every workflow input, signal, update, query answer, activity argument and result,
and failure message in its history, and shows them in its UI. The project's one data converter
(`clients.data_converter`) passes each of them through `EncryptionCodec`:

- AES-256-GCM (`cryptography`), a fresh 96-bit nonce per payload, the key id as associated data;
  the whole original payload (metadata and data) is what gets encrypted.
- Envelope encryption: each inquiry (its workflow id, taken from the SDK's serialization
  context) has its own random data key, stored in the `data_key` table wrapped by a master key.
  `MasterKeys` is the one interface a KMS implements; `LocalMasterKeys` is a key ring read from
  configuration, so master keys rotate: new data keys are wrapped by the active key, older ones
  stay readable while their master key is in the ring, and `DataKeys.rewrap` moves them over.
- Crypto-shredding: `DataKeys.erase` destroys an inquiry's data key. Its history, in Temporal and
  in any backup, can then never be decoded again.

Payloads without an encrypted encoding (plain JSON from a raw client) decode unchanged, as the
contract promises. Nothing here logs a payload or a key.
"""

from encryption.codec import ENCRYPTED_ENCODING, EncryptionCodec, FailureConverter, Undecodable
from encryption.data_keys import DataKeyErased, DataKeys, UnknownDataKey
from encryption.master import KeyConfigError, LocalMasterKeys, MasterKeys, load_master_keys

__all__ = [
    "ENCRYPTED_ENCODING",
    "DataKeyErased",
    "DataKeys",
    "EncryptionCodec",
    "FailureConverter",
    "KeyConfigError",
    "LocalMasterKeys",
    "MasterKeys",
    "Undecodable",
    "UnknownDataKey",
    "load_master_keys",
]
