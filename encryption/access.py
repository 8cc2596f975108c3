"""Who may use the codec server: operators from the roster, each proving it with a token.

The tokens file (`INQUIRY_CODEC_TOKENS_FILE`) holds only SHA-256 digests of tokens, per operator:

    {"operator.oona": ["<sha256 hex>", ...]}

so a copy of it opens nothing. Several tokens per operator let one be replaced without a gap.
`python -m encryption add-token OPERATOR_ID` prints a new token and stores its digest.

A signed-in browser (the Temporal UI) carries a session cookie instead: an operator id and an
expiry, signed with a secret the server draws at start, so a restart signs everyone out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

from encryption.master import KeyConfigError

SESSION_SECONDS = 8 * 3600


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class OperatorTokens:
    def __init__(self, digests: dict[str, list[str]]) -> None:
        self._digests = digests

    @classmethod
    def load(cls, path: Path) -> OperatorTokens:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeyConfigError(
                f"{path}: no codec tokens file (python -m encryption add-token OPERATOR_ID)"
            ) from None
        except (OSError, ValueError):
            raise KeyConfigError(f"{path}: not a JSON object of operator id to digests") from None
        if not isinstance(raw, dict) or not all(
            isinstance(v, list) and all(isinstance(d, str) for d in v) for v in raw.values()
        ):
            raise KeyConfigError(f"{path}: not a JSON object of operator id to digests")
        return cls({str(k): list(v) for k, v in raw.items()})

    def who(self, token: str) -> str | None:
        """The operator this token belongs to; compared in constant time."""
        offered = digest(token)
        found = None
        for operator, digests in self._digests.items():
            for known in digests:
                if hmac.compare_digest(offered, known):
                    found = operator
        return found


def add_token(path: Path, operator_id: str) -> str:
    """A new token for `operator_id`; its digest is added to the file (created mode 0600)."""
    try:
        raw: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raw = {}
    token = secrets.token_urlsafe(32)
    raw.setdefault(operator_id, []).append(digest(token))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(raw, out, indent=2)
        out.write("\n")
    os.replace(partial, path)
    return token


class Sessions:
    """Signed, expiring session cookies; the server keeps only those signed out before expiry."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._revoked: dict[str, int] = {}  # signature -> expiry

    def revoke(self, cookie: str, now: float | None = None) -> None:
        """Sign a session out: its cookie stops working at once, even if someone kept a copy."""
        now = now or time.time()
        self._revoked = {s: e for s, e in self._revoked.items() if e >= now}
        if self.verify(cookie, now) is not None:
            body, _, signature = cookie.partition(".")
            self._revoked[signature] = int(base64.urlsafe_b64decode(body).decode().rsplit("|")[-1])

    def issue(self, operator_id: str, now: float | None = None) -> str:
        expires = int((now or time.time()) + SESSION_SECONDS)
        body = base64.urlsafe_b64encode(f"{operator_id}|{expires}".encode()).decode()
        return f"{body}.{self._sign(body)}"

    def verify(self, cookie: str, now: float | None = None) -> str | None:
        body, _, signature = cookie.partition(".")
        if not hmac.compare_digest(signature, self._sign(body)) or signature in self._revoked:
            return None
        try:
            operator_id, expires = base64.urlsafe_b64decode(body).decode().rsplit("|", 1)
            if int(expires) < (now or time.time()):
                return None
        except ValueError:
            return None
        return operator_id

    def _sign(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
