"""The issuers' keys: the staff issuer's public keys (a JWKS file) for verifying, and the
development issuer's private key for signing on the dev stack.

An organisation plugs in its own issuer by pointing `INQUIRY_ISSUER_JWKS_FILE` at its public
keys (a JSON Web Key Set, e.g. saved from its identity provider's `jwks_uri`) and setting
`INQUIRY_ISSUER` to the `iss` its tokens carry. The file is re-read when it changes, so keys
rotate without a restart. In development, a missing JWKS file is created together with a
development signing key (`data/dev-issuer-key.pem`, mode 0600) that `starter.py` signs with.
Outside development nothing is created: a missing file is a refusal to start.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from pydantic import BaseModel

from activities.config_files import ConfigError, WatchedFile
from identity.assertions import (
    STAFF_ALGORITHMS,
    actor_of,
    claims_for,
    survey_claims,
)

DEV_ISSUER = "dev-issuer"
DEV_LIFETIME = timedelta(minutes=10)


class IssuerKeys:
    """The issuer's public keys by key id, from a JWKS file re-read when it changes."""

    def __init__(self, path: Path) -> None:
        self._file = WatchedFile(path, _load_jwks)

    def key(self, kid: str | None) -> jwt.PyJWK:
        keys = self._file.current()
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        if kid is None or kid not in keys:
            raise KeyError("no such key")
        return keys[kid]


def _load_jwks(path: Path) -> dict[str, jwt.PyJWK]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document["keys"]:
            key = jwt.PyJWK(entry)
            if key.algorithm_name not in STAFF_ALGORITHMS:
                raise ConfigError(f"{path}: key algorithms must be one of {STAFF_ALGORITHMS}")
            keys[str(entry.get("kid", ""))] = key
    except ConfigError:
        raise
    except (OSError, ValueError, KeyError, TypeError, jwt.PyJWKError) as err:
        raise ConfigError(f"{path}: not a usable JWKS ({type(err).__name__})") from None
    if not keys:
        raise ConfigError(f"{path}: the JWKS holds no keys")
    return keys


class DevIssuer:
    """The development issuer: an Ed25519 key on disk that signs for any staff id given."""

    def __init__(self, private_key: Ed25519PrivateKey, kid: str, issuer: str = DEV_ISSUER) -> None:
        self._key = private_key
        self.kid = kid
        self.issuer = issuer

    @classmethod
    def load(cls, key_path: Path, issuer: str = DEV_ISSUER) -> DevIssuer:
        try:
            pem = key_path.read_bytes()
            key = serialization.load_pem_private_key(pem, password=None)
        except (OSError, ValueError) as err:
            raise ConfigError(f"{key_path}: no usable development issuer key ({err})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{key_path}: the development issuer key must be Ed25519")
        return cls(key, _kid(key), issuer)

    @classmethod
    def ensure(cls, key_path: Path, jwks_path: Path, issuer: str = DEV_ISSUER) -> DevIssuer:
        """The development issuer, its key and public JWKS created on first use."""
        if not key_path.exists():
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _write_new(key_path, pem)
        dev = cls.load(key_path, issuer)
        if not jwks_path.exists():
            _write_new(jwks_path, json.dumps(dev.jwks(), indent=2).encode("utf-8"))
        return dev

    def jwks(self) -> dict[str, Any]:
        public = OKPAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [public | {"kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def sign(
        self,
        action: str,
        payload: BaseModel,
        inquiry_id: str,
        *,
        draft_version: int | None = None,
        now: datetime | None = None,
        lifetime: timedelta = DEV_LIFETIME,
    ) -> str:
        """An assertion for `payload`, in the name of the actor it names."""
        claims = claims_for(
            issuer=self.issuer,
            action=action,
            actor=actor_of(action, payload),
            inquiry_id=inquiry_id,
            payload=payload,
            now=now or datetime.now(UTC),
            jti=secrets.token_urlsafe(16),
            lifetime=lifetime,
            draft_version=draft_version,
        )
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})


def _kid(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "dev-" + hashlib.sha256(raw).hexdigest()[:16]


def _write_new(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only; a file another process made first is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    try:
        # A link appears whole or not at all, and fails if another process was first.
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def department_assertion(
    secret: str,
    payload: BaseModel,
    inquiry_id: str,
    *,
    now: datetime | None = None,
    lifetime: timedelta = DEV_LIFETIME,
) -> str:
    """A department result's assertion, signed HS256 with the department's token."""
    department = actor_of("department_result", payload)
    claims = claims_for(
        issuer=f"department:{department}",
        action="department_result",
        actor=department,
        inquiry_id=inquiry_id,
        payload=payload,
        now=now or datetime.now(UTC),
        jti=secrets.token_urlsafe(16),
        lifetime=lifetime,
    )
    return jwt.encode(claims, secret, algorithm="HS256")


def survey_secret(data_key_secret: bytes) -> bytes:
    """The key of an inquiry's survey references, derived from its data key: erasing the
    customer destroys it with everything else."""
    return hmac.new(data_key_secret, b"survey-reference", hashlib.sha256).digest()


def survey_reference(
    secret: bytes, *, inquiry_id: str, survey: str, now: datetime, expires: datetime
) -> str:
    """The signed survey reference a survey message carries (identity/assertions.py)."""
    claims = survey_claims(
        inquiry_id=inquiry_id, survey=survey, now=now, expires=expires,
        jti=secrets.token_urlsafe(16),
    )  # fmt: skip
    return jwt.encode(claims, secret, algorithm="HS256")
