"""Signed assertions (identity/): what a valid one proves, and every way a wrong one is refused,
with the reason naming the rule and never a value sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from identity.assertions import AssertionRefused, content_digest
from identity.keys import DevIssuer, IssuerKeys, department_assertion
from identity.verifier import Verifier
from models.contract import AddNote, ComplianceDecision, DepartmentResult

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SECRET = "b" * 43
DECISION = ComplianceDecision(reviewer_id="reviewer.rita", decision="approve")


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer.ensure(tmp_path / "key.pem", tmp_path / "jwks.json")


@pytest.fixture
def verifier(issuer: DevIssuer, tmp_path: Path) -> Verifier:
    secrets = {"billing": SECRET}
    return Verifier(issuer.issuer, IssuerKeys(tmp_path / "jwks.json"), secrets.get)


def check(verifier: Verifier, token: str, payload: object = DECISION, **where: object) -> str:
    bound = {"action": "compliance_decision", "actor": "reviewer.rita", "inquiry_id": "INQ-1"}
    bound |= where  # type: ignore[arg-type]
    return verifier.staff(
        token,
        digest=content_digest(payload),
        now=NOW,
        **bound,  # type: ignore[arg-type]
    ).jti


def test_a_valid_assertion_names_its_jti(issuer: DevIssuer, verifier: Verifier) -> None:
    token = issuer.sign("compliance_decision", DECISION, "INQ-1", draft_version=1, now=NOW)

    assert check(verifier, token)


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ({"inquiry_id": "INQ-2"}, "assertion is for another inquiry"),
        ({"action": "escalate"}, "assertion is for another action"),
        ({"actor": "reviewer.sam"}, "assertion names someone else than the payload's actor"),
    ],
)
def test_an_assertion_is_bound_to_inquiry_action_and_actor(
    issuer: DevIssuer, verifier: Verifier, where: dict[str, str], reason: str
) -> None:
    token = issuer.sign("compliance_decision", DECISION, "INQ-1", draft_version=1, now=NOW)

    with pytest.raises(AssertionRefused, match=reason):
        check(verifier, token, **where)


def test_other_content_or_an_expired_assertion_is_refused(
    issuer: DevIssuer, verifier: Verifier
) -> None:
    token = issuer.sign("compliance_decision", DECISION, "INQ-1", draft_version=1, now=NOW)
    rejected = ComplianceDecision(reviewer_id="reviewer.rita", decision="reject", note="no")
    old = issuer.sign(
        "compliance_decision", DECISION, "INQ-1", draft_version=1, now=NOW - timedelta(hours=1)
    )
    long = issuer.sign(
        "compliance_decision", DECISION, "INQ-1", draft_version=1, now=NOW,
        lifetime=timedelta(days=1),
    )  # fmt: skip
    undated = issuer.sign("compliance_decision", DECISION, "INQ-1", now=NOW)

    with pytest.raises(AssertionRefused, match="for other content"):
        check(verifier, token, rejected)
    with pytest.raises(AssertionRefused, match="has expired"):
        check(verifier, old)
    with pytest.raises(AssertionRefused, match="lives longer than 1 hour"):
        check(verifier, long)
    with pytest.raises(AssertionRefused, match="must name the draft_version"):
        check(verifier, undated)


def test_a_forged_or_confused_signature_is_refused(
    issuer: DevIssuer, verifier: Verifier, tmp_path: Path
) -> None:
    good = issuer.sign("compliance_decision", DECISION, "INQ-1", draft_version=1, now=NOW)
    claims = jwt.decode(good, options={"verify_signature": False})
    same_kid = jwt.encode(
        claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": issuer.kid}
    )
    other_kid = DevIssuer(Ed25519PrivateKey.generate(), "mallory").sign(
        "compliance_decision", DECISION, "INQ-1", draft_version=1, now=NOW
    )
    # The classic confusion: HS256 keyed with the issuer's public key material.
    public = json.loads((tmp_path / "jwks.json").read_text())["keys"][0]["x"]
    confused = jwt.encode(claims, public + "=" * 20, algorithm="HS256", headers={"kid": issuer.kid})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": issuer.kid})

    with pytest.raises(AssertionRefused, match="signature does not verify"):
        check(verifier, same_kid)
    with pytest.raises(AssertionRefused, match="key the issuer does not publish"):
        check(verifier, other_kid)
    for token in (confused, unsigned):
        with pytest.raises(AssertionRefused, match="algorithm not accepted"):
            check(verifier, token)
    with pytest.raises(AssertionRefused, match="not a well-formed JWT"):
        check(verifier, "not-a-token")


def test_a_department_signs_with_its_token(verifier: Verifier) -> None:
    result = DepartmentResult(
        department="billing", case_ref="B-1", status="completed", summary="ok"
    )
    token = department_assertion(SECRET, result, "INQ-1", now=NOW)
    guessed = department_assertion("g" * 43, result, "INQ-1", now=NOW)
    digest = content_digest(result)

    assert verifier.department(
        token, department="billing", inquiry_id="INQ-1", digest=digest, now=NOW
    )
    with pytest.raises(AssertionRefused, match="signature does not verify"):
        verifier.department(guessed, department="billing", inquiry_id="INQ-1", digest=digest,
                            now=NOW)  # fmt: skip
    with pytest.raises(AssertionRefused, match="no credentials are configured"):
        verifier.department(token, department="legal", inquiry_id="INQ-1", digest=digest, now=NOW)


def test_the_digest_ignores_key_order_and_the_assertion_itself() -> None:
    a = AddNote.model_validate({"text": "rang", "author_id": "agent.ana"})
    b = AddNote.model_validate({"author_id": "agent.ana", "text": " rang ", "assertion": "x.y.z"})

    assert content_digest(a) == content_digest(b)
    assert content_digest(a) != content_digest(AddNote(author_id="agent.ana", text="rang!"))
