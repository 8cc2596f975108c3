"""Release by policy (workflows/release.py): only on positive evidence, every condition named when
it does not hold; and, with the shipped rules and policy, which inquiries of each sector release."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.activities import TriageResult
from models.contract import Department, InquiryIntake, Sector, Urgency
from models.policy import ReleasePolicy
from models.settings import PROJECT_ROOT
from models.status import DepartmentState, Draft, RuleHit
from triage.engine import evaluate
from triage.report import release_policy
from triage.rules import load_rules
from workflows import release
from workflows.policies import SYSTEM

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
RULES = load_rules(PROJECT_ROOT / "config/triage_rules.toml")
SHIPPED = release_policy(PROJECT_ROOT / "config/policy.toml")
ROUTINE = RuleHit(rule_id="routine.commerce", description="-", effect="-", kind="routine")
SIGNAL = RuleHit(rule_id="feeling.anger", description="-", effect="-", kind="signal")
OPEN = ReleasePolicy(enabled=True, sectors=[Sector.ECOMMERCE], categories=[Department.BILLING])


def triage(*hits: RuleHit, categories: tuple[str, ...] = ("billing",)) -> TriageResult:
    return TriageResult(
        categories=[Department(c) for c in categories],
        compliance_flags=[],
        urgency=Urgency.NORMAL,
        tier=1,
        distress=False,
        rules_fired=list(hits),
    )


def draft(author: str = SYSTEM, checks_passed: bool = True) -> Draft:
    return Draft(version=1, author_id=author, text="-", created_at=NOW, checks_passed=checks_passed)


def test_a_routine_ecommerce_billing_draft_with_no_signal_is_released_and_says_why() -> None:
    decision = release.decide(OPEN, Sector.ECOMMERCE, triage(ROUTINE), 1, draft())

    assert decision.released
    assert decision.reasons[0] == "routine: routine.commerce"


@pytest.mark.parametrize(
    ("policy", "sector", "result", "tier", "the_draft", "reason"),
    [
        (
            OPEN.model_copy(update={"enabled": False}),
            Sector.ECOMMERCE,
            triage(ROUTINE),
            1,
            draft(),
            "release by policy is turned off",
        ),
        (
            OPEN,
            Sector.HEALTHCARE,
            triage(ROUTINE),
            1,
            draft(),
            "sector healthcare is not on the release allow-list",
        ),
        (
            OPEN,
            Sector.ECOMMERCE,
            triage(ROUTINE, categories=("billing", "legal")),
            1,
            draft(),
            "categories not on the release allow-list: legal",
        ),
        (
            OPEN,
            Sector.ECOMMERCE,
            triage(),
            1,
            draft(),
            "no rule recognised a routine matter",
        ),
        (
            OPEN,
            Sector.ECOMMERCE,
            triage(ROUTINE, SIGNAL),
            1,
            draft(),
            "sensitivity signals: feeling.anger",
        ),
        (
            OPEN,
            Sector.ECOMMERCE,
            triage(ROUTINE),
            2,
            draft(),
            "tier 2: only tier 1 is released by policy",
        ),
        (
            OPEN,
            Sector.ECOMMERCE,
            triage(ROUTINE),
            1,
            draft(author="agent.ana"),
            "a draft written by a person is always reviewed",
        ),
        (
            OPEN,
            Sector.ECOMMERCE,
            triage(ROUTINE),
            1,
            draft(checks_passed=False),
            "the draft failed automated checks",
        ),
    ],
)
def test_each_missing_condition_holds_the_draft_and_is_named(
    policy: ReleasePolicy,
    sector: Sector,
    result: TriageResult,
    tier: int,
    the_draft: Draft,
    reason: str,
) -> None:
    decision = release.decide(policy, sector, result, tier, the_draft)

    assert not decision.released
    assert decision.reasons == [reason]


def test_a_policy_with_no_release_section_releases_nothing() -> None:
    decision = release.decide(ReleasePolicy(), Sector.ECOMMERCE, triage(ROUTINE), 1, draft())

    assert not decision.released
    assert "release by policy is turned off" in decision.reasons


# --- the shipped rules and policy, sector by sector ------------------------------------------


def released(sector: str, subject: str, body: str, policy: ReleasePolicy = SHIPPED) -> bool:
    intake = InquiryIntake.model_validate(
        {
            "inquiry_id": "REL-1",
            "sector": sector,
            "channel": "email",
            "received_at": NOW.isoformat(),
            "customer": {"customer_id": "C-1"},
            "subject": subject,
            "body": body,
        }
    )
    result = evaluate(RULES, intake)
    return release.decide(policy, intake.sector, result, result.tier, draft()).released


ECOMMERCE = [
    ("Where is my order?", "Hi, order 55120 was due Tuesday. Can you check the tracking?", True),
    ("Return", "I'd like to return the blue jacket from order 8812, it's too small.", True),
    ("Charged twice", "I was charged twice for order 4410, please refund one.", True),
    ("my data", "what info do you keep on me? can i get a copy", False),
    ("Account", "Someone logged into my account and ordered stuff on my card.", False),
    (
        "Late parcel",
        "This is the third time I've chased this. Absolutely disgusting service.",
        False,
    ),
    ("Order", "Where is my order. Honestly I don't see the point of anything anymore.", False),
    ("Order", "Please change the delivery address; I am going to sue you otherwise.", False),
    # Health named in a shop's inquiry: special category data, for a person to read.
    ("Invoice", "Please send the invoice for order 12345 for my antidepressants.", False),
    ("Refund", "Refund order 3310 please, I can't wear the wig after chemotherapy.", False),
    ("Delivery", "Could the parcel go to my son? I'm home from a stroke and can't get up.", False),
    ("Return", "I was diagnosed with diabetes, so please take back the sweets in order 90.", False),
    (
        "Exchange",
        "I'm pregnant and the dress from order 7781 no longer fits, exchange please",
        False,
    ),
    # The fourth outside tester's refunds released by policy: health, criminal record, gender
    # identity, sexual orientation, religion (special category data, GDPR arts. 9 and 10).
    ("Refund", "Refund the naloxone kit from order 51 please, the pharmacy gave me one.", False),
    ("Return", "Returning the ostomy bags from order 77, wrong size. Refund please.", False),
    ("Refund", "Refund the breathalyser my probation officer required, order 61.", False),
    ("Refund", "I'm trans, please refund order 12 and don't post anything to my home.", False),
    ("Refund", "I'm gay, please refund order 80 and use plain packaging next time.", False),
    ("Refund", "I converted to Islam, please refund the wine in order 33.", False),
]
HEALTHCARE = [
    ("Parking", "Is the multi-storey car park free after 6pm?", False),
    ("My bill", "I was charged twice for my blood test, please refund one.", False),
]
LEGAL = [
    ("Office hours", "What time does your office open on Saturdays?", False),
    ("My case", "What did the attorney mean in her advice about settling?", False),
]


@pytest.mark.parametrize(("subject", "body", "expected"), ECOMMERCE)
def test_ecommerce_releases_only_routine_matters_with_no_sensitive_signal(
    subject: str, body: str, expected: bool
) -> None:
    assert released("ecommerce", subject, body) is expected


@pytest.mark.parametrize(("subject", "body", "expected"), HEALTHCARE)
def test_healthcare_never_releases_by_policy_with_the_default_configuration(
    subject: str, body: str, expected: bool
) -> None:
    assert released("healthcare", subject, body) is expected


@pytest.mark.parametrize(("subject", "body", "expected"), LEGAL)
def test_legal_never_releases_by_policy_with_the_default_configuration(
    subject: str, body: str, expected: bool
) -> None:
    assert released("legal", subject, body) is expected


def test_a_sentiment_noted_by_staff_keeps_the_draft_for_a_reviewer() -> None:
    """An agent who wrote down how the customer feels has told us more than triage read."""
    decision = release.decide(
        OPEN, Sector.ECOMMERCE, triage(ROUTINE), 1, draft(), sentiment_notes=1
    )

    assert not decision.released
    assert decision.reasons == ["staff noted the customer's sentiment"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('<a href="http://evil.example/refund">Claim your refund</a>', "a link, markup"),
        ("Visit www.refund-now.example to get your money", "a link"),
        ("Go to refunds-desk.shop/claim", "a link"),
        ("Claim it at ex\u0430mple.com", "a link"),  # a Cyrillic a
        ("Claim it at evil\uff0ecom", "a link"),  # a full-width dot
        ("Refunded. <script>alert(1)</script>", "markup"),
        ("[Claim here](refund)", "markup"),
        ("Write to refunds at help@shop-help for the rest", "markup or an address"),
        ("Please reply with your full card number and CVV", "a mention of card, bank or login"),
        ("Confirm your pass\u200bword to receive it", "a mention of card, bank or login"),
        ("Send us your sort code and account number", "a mention of card, bank or login"),
        ("Re-enter your payment information to be refunded", "a mention of card, bank or login"),
    ],
)
def test_a_draft_with_links_markup_addresses_or_credential_talk_is_read_by_a_person(
    text: str, found: str
) -> None:
    """Department text is not trusted to speak to the customer alone (an outside tester's
    billing stub got a phishing link and a request for the card's CVV released by policy)."""
    the_draft = Draft(version=1, author_id=SYSTEM, text=text, created_at=NOW, checks_passed=True)

    decision = release.decide(OPEN, Sector.ECOMMERCE, triage(ROUTINE), 1, the_draft)

    assert not decision.released
    [reason] = decision.reasons
    assert reason.startswith(f"the draft holds {found}")
    assert "evil" not in reason and "refund" not in reason.lower()


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (
            DepartmentState(status="completed", unverified=True),
            "results taken unsigned from: billing",
        ),
        (DepartmentState(status="failed"), "no completed result from: billing"),
        (DepartmentState(status="overdue"), "no completed result from: billing"),
        (DepartmentState(status="needs_info"), "no completed result from: billing"),
    ],
)
def test_a_draft_on_an_unsigned_or_missing_result_is_read_by_a_person(
    state: DepartmentState, reason: str
) -> None:
    """An unsigned department_result (dev mode) may be anyone's; a department that refused the
    case leaves a draft saying its team 'is still working' on it: neither is an answer."""
    decision = release.decide(
        OPEN, Sector.ECOMMERCE, triage(ROUTINE), 1, draft(), departments={Department.BILLING: state}
    )

    assert not decision.released and decision.reasons == [reason]


def test_a_draft_after_a_reopen_is_read_by_a_person() -> None:
    completed = {Department.BILLING: DepartmentState(status="completed")}
    first = release.decide(
        OPEN, Sector.ECOMMERCE, triage(ROUTINE), 1, draft(), departments=completed
    )
    reopened = release.decide(OPEN, Sector.ECOMMERCE, triage(ROUTINE), 1, draft(), reopened=True)

    assert first.released
    assert not reopened.released and reopened.reasons == [
        "the inquiry was reopened: a person reads the new answer"
    ]


def test_the_simulators_answers_need_no_reader() -> None:
    """What a department normally writes (the simulator's voice) is released as before."""
    from simulator import summaries

    for department in Department:
        text = summaries.summary(department, "completed", "BIL-000001")
        assert release.needs_a_reader(text) == [], department


def test_an_operator_can_turn_release_by_policy_off_entirely() -> None:
    off = SHIPPED.model_copy(update={"enabled": False})

    for sector, cases in (("ecommerce", ECOMMERCE), ("healthcare", HEALTHCARE), ("legal", LEGAL)):
        for subject, body, _ in cases:
            assert not released(sector, subject, body, off)


def test_the_shipped_policy_allows_only_ecommerce_billing() -> None:
    assert SHIPPED.enabled
    assert SHIPPED.sectors == [Sector.ECOMMERCE]
    assert SHIPPED.categories == [Department.BILLING]
