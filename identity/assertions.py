"""Signed assertions: who sends a staff action or a department result, bound to what it does.

An assertion is a JWT (RFC 7519) carried in the action's `assertion` field. Staff actions are
signed by the organisation's identity issuer with an asymmetric key (EdDSA, ES256 or RS256);
the service holds only the issuer's public keys (a JWKS file), never a signing secret. A
department result is signed HS256 with that department's token, the credential it shares with
us. The claims:

    iss           the issuer (staff: INQUIRY_ISSUER; a department: "department:<name>")
    sub           who acts: the staff id the payload names, or the department's name
    aud           "regulated-inquiries"
    iat, exp      issued and expiry times; at most MAX_LIFETIME apart, checked against the
                  workflow's clock when the action arrives
    jti           a unique id; an inquiry accepts each assertion once
    inquiry_id    the inquiry it is for
    action        the action's name (compliance_decision, reassign_owner, ...)
    content       `content_digest` of the payload: SHA-256 over its JSON without `assertion`
    draft_version for compliance_decision: the draft version decided on

So an assertion cannot be replayed onto another inquiry, another action, other content or (for
a decision) a revised draft.

A survey answer is the customer's: the survey message carries a signed survey reference (HS256
with a key derived from the inquiry's own data key, so erasing the customer voids it too) with
`iss` "regulated-inquiries", `sub` "customer", `action` "survey_response", `inquiry_id`, `survey`
(which survey of the inquiry: a reopened inquiry sends a new one), `iat`, `exp` (the survey
window's end) and `jti`; the answer quotes it as `survey_ref`.

Everything here is pure and deterministic except the verifier's key lookup, which the activity
does; reasons name the rule that failed, never a value sent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

AUDIENCE = "regulated-inquiries"
STAFF_ALGORITHMS = ["EdDSA", "ES256", "RS256"]
DEPARTMENT_ALGORITHM = "HS256"
MAX_LIFETIME = timedelta(hours=1)
CLOCK_SKEW = timedelta(seconds=60)
REQUIRED_CLAIMS = ["iss", "sub", "aud", "iat", "exp", "jti", "inquiry_id", "action", "content"]

# Who a payload says is acting, per action; the assertion's `sub` must be the same.
ACTOR_FIELD = {
    "compliance_decision": "reviewer_id",
    "revise_response": "author_id",
    "reassign_owner": "by",
    "escalate": "by",
    "withdraw": "by",
    "reopen": "by",
    "close_recovery": "by",
    "add_note": "author_id",
    "department_result": "department",
}
STAFF_ACTIONS = frozenset(ACTOR_FIELD) - {"department_result"}
SURVEY_ACTION = "survey_response"
SURVEY_ISSUER = "regulated-inquiries"
CUSTOMER = "customer"
SURVEY_CLAIMS = ["iss", "sub", "aud", "iat", "exp", "jti", "inquiry_id", "action", "survey"]
# Who may act at all: staff and departments by assertion, the customer by survey reference.
AUTHENTICATED_ACTIONS = frozenset(ACTOR_FIELD) | {SURVEY_ACTION}


class AssertionRefused(ValueError):
    """The assertion does not prove what the action claims; the message is the reason."""


@dataclass(frozen=True)
class Verified:
    subject: str
    jti: str
    draft_version: int | None
    survey: str | None = None


def content_digest(payload: BaseModel) -> str:
    """SHA-256 (hex) of the payload as validated: JSON without `assertion` and without null
    fields, keys sorted, no spaces, UTF-8. Signer and verifier compute it the same way."""
    body = payload.model_dump(mode="json", exclude={"assertion"}, exclude_none=True)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def actor_of(action: str, payload: BaseModel) -> str:
    if action == SURVEY_ACTION:
        return CUSTOMER
    value = getattr(payload, ACTOR_FIELD[action])
    return str(getattr(value, "value", value))


def assertion_of(action: str, payload: BaseModel) -> str | None:
    """The proof an action carries: its `assertion`, or a survey answer's `survey_ref`."""
    value = getattr(payload, "survey_ref" if action == SURVEY_ACTION else "assertion", None)
    return value if isinstance(value, str) else None


def check_survey_claims(claims: dict[str, Any], *, inquiry_id: str, now: datetime) -> Verified:
    issued, expires = _instant(claims, "iat"), _instant(claims, "exp")
    if issued > now + CLOCK_SKEW:
        raise AssertionRefused("survey reference is issued in the future")
    if expires <= now:
        raise AssertionRefused("survey reference has expired")
    if claims["sub"] != CUSTOMER or claims["action"] != SURVEY_ACTION:
        raise AssertionRefused("survey reference is not one")
    if claims["inquiry_id"] != inquiry_id:
        raise AssertionRefused("survey reference is for another inquiry")
    return Verified(
        subject=CUSTOMER, jti=str(claims["jti"]), draft_version=None, survey=str(claims["survey"])
    )


def survey_claims(
    *, inquiry_id: str, survey: str, now: datetime, expires: datetime, jti: str
) -> dict[str, Any]:
    return {
        "iss": SURVEY_ISSUER,
        "sub": CUSTOMER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": jti,
        "inquiry_id": inquiry_id,
        "action": SURVEY_ACTION,
        "survey": survey,
    }


def check_claims(
    claims: dict[str, Any],
    *,
    action: str,
    actor: str,
    inquiry_id: str,
    digest: str,
    now: datetime,
) -> Verified:
    """The binding and time rules, on claims whose signature, issuer and audience are verified."""
    issued, expires = _instant(claims, "iat"), _instant(claims, "exp")
    if expires - issued > MAX_LIFETIME:
        raise AssertionRefused(f"assertion lives longer than {_hours(MAX_LIFETIME)}")
    if issued > now + CLOCK_SKEW:
        raise AssertionRefused("assertion is issued in the future")
    if expires <= now:
        raise AssertionRefused("assertion has expired")
    if claims["sub"] != actor:
        raise AssertionRefused("assertion names someone else than the payload's actor")
    if claims["inquiry_id"] != inquiry_id:
        raise AssertionRefused("assertion is for another inquiry")
    if claims["action"] != action:
        raise AssertionRefused("assertion is for another action")
    if claims["content"] != digest:
        raise AssertionRefused("assertion is for other content than this payload")
    version = claims.get("draft_version")
    if action == "compliance_decision" and not isinstance(version, int):
        raise AssertionRefused("a decision's assertion must name the draft_version decided on")
    if not isinstance(claims["jti"], str) or not claims["jti"]:
        raise AssertionRefused("assertion has no jti")
    return Verified(subject=actor, jti=claims["jti"], draft_version=version)


def claims_for(
    *,
    issuer: str,
    action: str,
    actor: str,
    inquiry_id: str,
    payload: BaseModel,
    now: datetime,
    jti: str,
    lifetime: timedelta,
    draft_version: int | None = None,
) -> dict[str, Any]:
    """The claims a signer puts in an assertion for `payload` (see the module's docstring)."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": actor,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": jti,
        "inquiry_id": inquiry_id,
        "action": action,
        "content": content_digest(payload),
    }
    if draft_version is not None:
        claims["draft_version"] = draft_version
    return claims


def _instant(claims: dict[str, Any], name: str) -> datetime:
    value = claims[name]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise AssertionRefused(f"assertion's {name} is not a time")
    return datetime.fromtimestamp(value, UTC)


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hour" + ("" if hours == 1 else "s")
