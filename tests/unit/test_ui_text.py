"""What the Temporal UI shows of an inquiry (workflows/views.py): the static summary and details
set at start, and the current details the workflow keeps up to date. No personal data."""

from __future__ import annotations

from activities.triage import evaluate, load_rules
from models.activities import TriageResult
from models.contract import Channel, ComplianceFlag, Department, InquiryIntake, Sector, Urgency
from models.settings import PROJECT_ROOT
from models.status import Review, RuleHit
from tests import support
from tests.unit.test_case import NOW, POLICY, at_checkpoint, make_case
from workflows import views
from workflows.case import Case
from workflows.visibility import search_attribute_updates, visible_urgency

INTAKE = InquiryIntake.model_validate(
    support.intake("INQ-7", received_at="2026-11-30T08:15:00+01:00")
)
PERSONAL = ("Jordan", "jordan@example.test", "CUST-1001", "Invoice question", "lab results")
TRIAGE = TriageResult(
    categories=[Department.BILLING, Department.CLINICAL],
    compliance_flags=[ComplianceFlag.HIPAA],
    urgency=Urgency.HIGH,
    tier=2,
    distress=True,
    rules_fired=[
        RuleHit(rule_id="billing-keywords", description="billing words", effect="category billing"),
        RuleHit(rule_id="clinical-hipaa", description="clinical records", effect="flag HIPAA"),
    ],
)


def test_the_summary_says_tier_departments_flags_sector_and_channel() -> None:
    line = views.summary_line(
        sector=Sector.HEALTHCARE,
        channel=Channel.PORTAL,
        tier=2,
        categories=[Department.BILLING, Department.CLINICAL],
        flags=[ComplianceFlag.HIPAA],
    )
    assert line == "Tier 2 · billing + clinical · HIPAA · healthcare/portal"


def test_an_untriaged_inquiry_with_no_flag_says_so() -> None:
    line = views.summary_line(
        sector=Sector.ECOMMERCE, channel=Channel.EMAIL, tier=None, categories=[], flags=[]
    )
    assert line == "Awaiting triage · ecommerce/email"


def test_start_metadata_names_the_triage_and_its_rules_without_personal_data() -> None:
    summary, details = views.start_metadata(INTAKE, TRIAGE)
    assert summary == "Tier 2 · billing + clinical · HIPAA · healthcare/portal"
    # received_at came with +01:00: the UI is told UTC
    assert "**Inquiry** INQ-7, received 2026-11-30 07:15 UTC by portal" in details
    assert "tier 2 · urgency high" in details
    assert "distress" not in details  # it says something about a person
    # Rule ids stay in `status`: some say how the customer feels (distress, bereavement).
    assert "billing-keywords" not in details and "clinical-hipaa" not in details
    assert len(summary.encode()) <= 200  # Temporal's limit for a static summary
    for personal in PERSONAL:
        assert personal not in summary + details


def test_without_readable_rules_the_summary_still_names_the_inquiry() -> None:
    assert views.start_metadata(INTAKE, None) == ("Inquiry INQ-7 · healthcare/portal", "")


def test_current_details_lead_with_the_summary_as_it_stands_after_escalation() -> None:
    case = make_case(tier=2, flags=["HIPAA"], categories=["clinical"])
    case.tier = 3
    shown = views.current_details(case, NOW)
    first, second = shown.split("\n\n")[:2]
    assert first == "**Tier 3 · clinical · HIPAA · healthcare/portal**"
    assert second == "**Stage** triaged · **Owner** owner.olga"
    for personal in PERSONAL:
        assert personal not in shown


def test_current_details_say_whom_the_checkpoint_waits_for() -> None:
    four_eyes = POLICY.model_copy(update={"approvals_required": {"1": 1, "2": 1, "3": 2}})
    privileged = at_checkpoint(
        make_case(tier=3, flags=["PRIVILEGE"], categories=["legal"], policy=four_eyes)
    )
    privileged.review(Review(reviewer_id="rev.lena", decision="approve", draft_version=1, at=NOW))
    routine = at_checkpoint(make_case(tier=2))
    breached = at_checkpoint(make_case(tier=2))
    breached.senior_review = True
    revised = at_checkpoint(make_case(tier=2))
    revised.add_draft("A new wording of the resolution.", "owner.olga", NOW)
    revised.assign("agent.al", None, "holiday cover", "agent.zoe", NOW)

    def review_line(case: Case) -> str:
        return next(
            line for line in views.current_details(case, NOW).split("\n\n") if "Review" in line
        )

    assert review_line(privileged) == (
        "**Review** draft v1: 1 of 2 approvals (rev.lena); "
        "waiting for 1 more, legal_reviewer, not owner.olga"
    )
    assert review_line(routine) == (
        "**Review** draft v1: 0 of 1 approvals; "
        "waiting for 1 more, compliance_reviewer or senior_reviewer, not owner.olga"
    )
    assert review_line(breached).endswith("waiting for 1 more, senior_reviewer, not owner.olga")
    # The former owner wrote the draft: neither they nor the new owner may approve it.
    assert review_line(revised).startswith("**Review** draft v2: 0 of 1 approvals;")
    assert review_line(revised).endswith("not agent.al or owner.olga")


def test_search_attributes_never_mark_a_customer_who_spoke_of_self_harm() -> None:
    """Search attributes are plaintext and filterable: `InquiryUrgency = "critical"` would list
    exactly the customers the self-harm rules fired for. They show `high`; `status` says more."""
    rules = load_rules(PROJECT_ROOT / "config" / "triage_rules.toml")
    intake = InquiryIntake.model_validate(
        support.intake("INQ-8", body="About my bill. Honestly I want to end it all.")
    )
    triage = evaluate(rules, intake)
    assert triage.urgency == Urgency.CRITICAL  # what the rules decide, kept in `status`
    case = make_case(tier=triage.tier)
    case.triage = triage

    shown = {u.key.name: u.value for u in search_attribute_updates(case)}
    assert shown["InquiryUrgency"] == "high"
    assert all(visible_urgency(u) != Urgency.CRITICAL for u in Urgency)
