"""Verifying an assertion: the signature against the issuer's keys, then the claims' binding.

`Verifier.staff` checks a staff action's assertion against the staff issuer's public keys;
`Verifier.department` a department result's against that department's token. Both raise
AssertionRefused with a reason that names the rule, never a value sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import jwt

from identity.assertions import (
    AUDIENCE,
    DEPARTMENT_ALGORITHM,
    REQUIRED_CLAIMS,
    SURVEY_CLAIMS,
    SURVEY_ISSUER,
    AssertionRefused,
    Verified,
    check_claims,
    check_survey_claims,
)
from identity.keys import IssuerKeys

DEPARTMENT_ISSUER = "department:{}"


class Verifier:
    def __init__(
        self, issuer: str, keys: IssuerKeys, department_secret: Callable[[str], str | None]
    ) -> None:
        self._issuer = issuer
        self._keys = keys
        self._department_secret = department_secret

    def staff(
        self, token: str, *, action: str, actor: str, inquiry_id: str, digest: str, now: datetime
    ) -> Verified:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            raise AssertionRefused("assertion is not a well-formed JWT") from None
        try:
            key = self._keys.key(kid if isinstance(kid, str) else None)
        except KeyError:
            raise AssertionRefused(
                "assertion is signed with a key the issuer does not publish"
            ) from None
        claims = _decode(token, key, [key.algorithm_name], self._issuer)
        return check_claims(
            claims, action=action, actor=actor, inquiry_id=inquiry_id, digest=digest, now=now
        )

    def department(
        self, token: str, *, department: str, inquiry_id: str, digest: str, now: datetime
    ) -> Verified:
        secret = self._department_secret(department)
        if not secret:
            raise AssertionRefused("no credentials are configured for this department")
        issuer = DEPARTMENT_ISSUER.format(department)
        claims = _decode(token, secret, [DEPARTMENT_ALGORITHM], issuer)
        return check_claims(
            claims,
            action="department_result",
            actor=department,
            inquiry_id=inquiry_id,
            digest=digest,
            now=now,
        )


def survey(token: str, *, secret: bytes, inquiry_id: str, now: datetime) -> Verified:
    """A survey reference, signed with `secret` (identity.keys.survey_secret)."""
    claims = _decode(token, secret, [DEPARTMENT_ALGORITHM], SURVEY_ISSUER, SURVEY_CLAIMS)
    return check_survey_claims(claims, inquiry_id=inquiry_id, now=now)


def _decode(
    token: str,
    key: Any,
    algorithms: list[str],
    issuer: str,
    required: list[str] = REQUIRED_CLAIMS,
) -> dict[str, Any]:
    # Times are checked by check_claims against the workflow's clock, not this machine's.
    options: Any = {
        "verify_exp": False,
        "verify_iat": False,
        "verify_nbf": False,
        "require": required,
    }
    try:
        return jwt.decode(
            token, key, algorithms=algorithms, audience=AUDIENCE, issuer=issuer, options=options
        )
    except jwt.InvalidSignatureError:
        raise AssertionRefused("assertion's signature does not verify") from None
    except jwt.InvalidAlgorithmError:
        raise AssertionRefused("assertion is signed with an algorithm not accepted") from None
    except jwt.InvalidIssuerError:
        raise AssertionRefused("assertion is from an issuer this service does not trust") from None
    except jwt.InvalidAudienceError:
        raise AssertionRefused("assertion is for another audience") from None
    except jwt.MissingRequiredClaimError as err:
        raise AssertionRefused(f"assertion lacks the {err.claim} claim") from None
    except jwt.InvalidTokenError:
        raise AssertionRefused("assertion is not a well-formed JWT") from None
