"""The Ed25519 key that signs audit checkpoints, and the public key that checks them.

From `INQUIRY_AUDIT_SIGNING_KEY` (the PEM itself, e.g. from a secret store) or the file named by
`INQUIRY_AUDIT_SIGNING_KEY_FILE` (PEM, PKCS#8). In development a missing file is created (mode
0600) with its public key beside it (`<name>.pub.pem`); outside development a missing key is a
refusal to start, naming the setting. Make one with

    openssl genpkey -algorithm ed25519 -out audit-signing-key.pem
    openssl pkey -in audit-signing-key.pem -pubout -out audit-signing-key.pub.pem

Verification uses the public key file beside the key file when there is one, else the public
half of the configured key. Keep a copy of the public key where the checkpoints go.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from encryption.master import KeyConfigError

log = logging.getLogger("regulated_inquiries.audit")

SETTINGS = "INQUIRY_AUDIT_SIGNING_KEY or INQUIRY_AUDIT_SIGNING_KEY_FILE"


def public_key_path(path: Path) -> Path:
    """Where the public key of the signing key at `path` lives."""
    return path.with_name(path.name.removesuffix(".pem") + ".pub.pem")


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex: names the key that signed a checkpoint."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_signing_key(
    inline: str | None, path: Path, *, create_if_missing: bool
) -> Ed25519PrivateKey:
    """The configured signing key: inline PEM first, else the file (created in development)."""
    if inline:
        return _private(inline.encode(), "INQUIRY_AUDIT_SIGNING_KEY")
    if not path.exists():
        if not create_if_missing:
            raise KeyConfigError(
                f"no audit signing key: set {SETTINGS} "
                "(an Ed25519 private key in PEM: openssl genpkey -algorithm ed25519)"
            )
        write_signing_key(path, Ed25519PrivateKey.generate())
        log.warning("created a development audit signing key at %s", path)
    return _private(_read(path, "the audit signing key"), str(path))


def load_verify_key(inline: str | None, path: Path) -> Ed25519PublicKey | None:
    """The public key that checks checkpoints, or None when no key is configured at all."""
    if inline:
        return _private(inline.encode(), "INQUIRY_AUDIT_SIGNING_KEY").public_key()
    public = public_key_path(path)
    if public.exists():
        try:
            key = serialization.load_pem_public_key(_read(public, "the audit public key"))
        except (ValueError, UnsupportedAlgorithm):
            raise KeyConfigError(f"{public}: not a public key in PEM") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyConfigError(f"{public}: not an Ed25519 public key")
        return key
    if path.exists():
        return _private(_read(path, "the audit signing key"), str(path)).public_key()
    return None


def write_signing_key(path: Path, key: Ed25519PrivateKey) -> None:
    """The private key readable by its owner only, its public key beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write(public_key_path(path), public, 0o644)
    _write(path, private, 0o600)


def _write(path: Path, data: bytes, mode: int) -> None:
    partial = path.with_suffix(path.suffix + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(partial, path)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise KeyConfigError(f"{path}: cannot read {what} ({err.strerror})") from None


def _private(pem: bytes, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyConfigError(f"{source}: not an unencrypted private key in PEM") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyConfigError(f"{source}: not an Ed25519 private key")
    return key
