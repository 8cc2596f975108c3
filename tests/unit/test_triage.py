"""Triage rules and timer policy, against the shipped config files and hand-written broken ones."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.config_files import ConfigError, load_policy
from activities.triage import TriageActivities, evaluate, load_rules
from models.activities import TriageInput
from models.contract import Department, InquiryIntake, Policy, Sector
from models.policy import (
    MinimumNecessary,
    ReleasePolicy,
    ResolvedPolicy,
    ResolvePolicyInput,
    ScoreThresholds,
)
from models.settings import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "config"
RULES = load_rules(CONFIG / "triage_rules.toml")


def make_intake(subject: str, body: str, sector: str = "ecommerce", **extra: Any) -> InquiryIntake:
    return InquiryIntake.model_validate(
        {
            "inquiry_id": "INQ-1",
            "sector": sector,
            "channel": "email",
            "received_at": "2025-03-01T09:00:00Z",
            "customer": {"customer_id": "C-1", "name": "Pat Doe", "email": "pat@example.org"},
            "subject": subject,
            "body": body,
            **extra,
        }
    )


def fired(intake: InquiryIntake) -> list[str]:
    return [hit.rule_id for hit in evaluate(RULES, intake).rules_fired]


def touch_later(path: Path) -> None:
    """Move the file's mtime forward, as a later edit would, without sleeping."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


# --- the shipped rules -----------------------------------------------------------------------


def test_billing_only_ecommerce_inquiry_is_tier_1_billing_without_flags() -> None:
    result = evaluate(RULES, make_intake("Order 1234", "I was charged twice, please refund me."))

    assert result.categories == ["billing"]
    assert result.compliance_flags == []
    assert result.tier == 1
    assert result.urgency == "normal"
    assert result.distress is False


def test_healthcare_lab_results_and_invoice_is_billing_and_clinical_hipaa_tier_2() -> None:
    intake = make_intake(
        "Question", "My lab results came with an invoice I don't understand.", "healthcare"
    )
    result = evaluate(RULES, intake)

    assert result.categories == ["billing", "clinical"]
    assert result.compliance_flags == ["HIPAA"]
    assert result.tier == 2
    assert {"category.billing", "category.clinical", "hipaa.personal-health"} <= set(fired(intake))


def test_attorney_client_privilege_is_legal_with_privilege_flag_at_tier_3() -> None:
    intake = make_intake("Re: matter", "This message is attorney-client privileged.", "legal")
    result = evaluate(RULES, intake)

    assert result.categories == ["legal"]
    assert "PRIVILEGE" in result.compliance_flags
    assert result.tier == 3
    assert "tier-privilege-litigation" in fired(intake)


def test_desperate_customer_is_marked_in_distress_at_tier_3() -> None:
    result = evaluate(RULES, make_intake("Help", "I feel desperate about this order."))

    assert result.distress is True
    assert result.tier == 3


def test_a_joke_mutes_fear_in_its_sentence_but_the_word_kids_does_not() -> None:
    scared = "I got a letter saying I must leave. I'm so scared, my kids are in school here."
    joking = "Where is my parcel. I'm so scared it got lost, only kidding, no rush."

    assert evaluate(RULES, make_intake("Visa", scared, "legal")).distress is True
    assert evaluate(RULES, make_intake("Order", joking)).distress is False


def test_self_harm_is_distress_at_critical_urgency_and_tier_3() -> None:
    body = "Where is my parcel. Honestly everyone would be better off if I wasn't here."
    result = evaluate(RULES, make_intake("Order", body))

    assert (result.distress, result.urgency, result.tier) == (True, "critical", 3)


def test_urgent_wording_raises_urgency_and_tier_2() -> None:
    result = evaluate(RULES, make_intake("Refund", "Please refund me immediately."))

    assert (result.urgency, result.tier) == ("high", 2)


def test_card_number_raises_pci() -> None:
    result = evaluate(RULES, make_intake("Payment", "My card 4111 1111 1111 1111 was declined."))

    assert "PCI" in result.compliance_flags


def test_sue_as_a_name_or_inside_issue_is_not_litigation() -> None:
    result = evaluate(RULES, make_intake("An issue", "My daughter Sue asked about a refund."))

    assert "LITIGATION" not in result.compliance_flags
    assert result.tier == 1


def test_threat_to_sue_is_litigation_at_tier_3() -> None:
    result = evaluate(RULES, make_intake("Refund", "Refund me or I will sue you."))

    assert "LITIGATION" in result.compliance_flags
    assert result.categories == ["billing", "legal"]
    assert result.tier == 3


def test_topic_hints_add_categories_each_recorded_as_its_own_hit() -> None:
    intake = make_intake("Hello", "Please call me back.", "healthcare", topics=["billing", "legal"])
    result = evaluate(RULES, intake)

    assert result.categories == ["billing", "legal"]
    assert {"topic-hint-billing", "topic-hint-legal"} <= set(fired(intake))
    assert "topic-hint-clinical" not in fired(intake)


def test_inquiry_matching_nothing_gets_its_sector_fallback_recorded_as_a_hit() -> None:
    intake = make_intake("Hello", "Please call me back.", "healthcare")
    result = evaluate(RULES, intake)

    assert result.categories == ["clinical"]
    assert fired(intake)[0] == "fallback.healthcare"


@pytest.mark.parametrize(
    ("subject", "body", "sector"),
    [
        ("Order", "Where is my invoice?", "ecommerce"),
        ("Hello", "Please call me back.", "legal"),
        ("Records", "I need my medical records urgently.", "healthcare"),
    ],
)
def test_every_result_lists_the_rules_that_fired_with_their_effects(
    subject: str, body: str, sector: str
) -> None:
    result = evaluate(RULES, make_intake(subject, body, sector))

    assert result.rules_fired
    assert all(hit.rule_id and hit.description and hit.effect for hit in result.rules_fired)
    assert any(result.categories[0] in hit.effect for hit in result.rules_fired)


def test_hits_name_rules_and_the_rules_own_terms_never_other_text() -> None:
    subject = "Zebracorn invoice dispute"
    body = "Card 4111-1111-1111-1111, a lawsuit, and I feel desperate. Delete my data. Zebracorn!"
    result = evaluate(RULES, make_intake(subject, body))

    assert len(result.rules_fired) >= 5
    hit_text = " ".join(
        f"{h.rule_id} {h.description} {h.effect} {' '.join(h.terms)}" for h in result.rules_fired
    )
    for quoted in ("zebracorn", "4111", "1111"):
        assert quoted not in hit_text.lower()
    # What matched is named by the rules file's own term ids, e.g. "litigation:lawsuit".
    terms = {t for h in result.rules_fired for t in h.terms}
    assert {"litigation:lawsuit", "fear:desperate", "pattern:1"} <= terms
    listed = {f"{name}:{w}" for name, tl in RULES.terms.items() for w in tl.words}
    assert all(t in listed or t.startswith(("pattern:", "sentence:")) for t in terms)


# --- the rules file ----------------------------------------------------------------------------


def test_malformed_rules_file_names_the_rule_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        """
        fallback = { healthcare = "clinical", legal = "legal", ecommerce = "billing" }
        [terms.money]
        words = ["refund"]
        [[rules]]
        id = "fine"
        description = "ok"
        match.terms = ["money"]
        effect.add_categories = ["billing"]
        [[rules]]
        id = "broken-regex"
        description = "bad"
        match.patterns = ['(unclosed']
        effect.add_flag = ["PCI"]
        """
    )

    with pytest.raises(ConfigError) as caught:
        load_rules(path)

    message = str(caught.value)
    assert "rule 'broken-regex'" in message
    assert "match.patterns" in message
    assert "effect.add_flag" in message
    assert "rule 'fine'" not in message


def test_a_rules_file_that_is_not_utf8_is_a_named_config_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_bytes('description = "caf\u00e9"\n'.encode("latin-1"))

    with pytest.raises(ConfigError, match=r"rules.toml: not UTF-8 text \(byte 18\)"):
        load_rules(path)


def test_shipped_config_files_load_and_validate() -> None:
    assert load_rules(CONFIG / "triage_rules.toml").rules
    assert load_policy(CONFIG / "policy.toml").release_by_policy.enabled is True
    TriageActivities(CONFIG / "triage_rules.toml", CONFIG / "policy.toml")


async def test_rules_edited_on_disk_apply_to_the_next_inquiry_without_restart(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules.toml"
    shutil.copy(CONFIG / "triage_rules.toml", rules)
    activities = TriageActivities(rules, CONFIG / "policy.toml")
    intake = make_intake("Gift", "A question about a voucher.")
    env = ActivityEnvironment()
    before = await env.run(activities.triage_inquiry, TriageInput(intake=intake))
    assert before.urgency == "normal"

    rules.write_text(rules.read_text().replace('"urgent", "urgently"', '"voucher", "urgent"'))
    touch_later(rules)
    after = await env.run(activities.triage_inquiry, TriageInput(intake=intake))

    assert after.urgency == "high"
    assert "urgency.stated" in [h.rule_id for h in after.rules_fired]


async def test_broken_edit_keeps_the_previous_rules_in_force(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    shutil.copy(CONFIG / "triage_rules.toml", rules)
    activities = TriageActivities(rules, CONFIG / "policy.toml")

    rules.write_text("[[rules]\nthis is not toml")
    touch_later(rules)
    result = await ActivityEnvironment().run(
        activities.triage_inquiry, TriageInput(intake=make_intake("Bill", "Refund my invoice."))
    )

    assert result.categories == ["billing"]


# --- timer policy ------------------------------------------------------------------------------


async def resolve(overrides: Policy | None) -> ResolvedPolicy:
    activities = TriageActivities(CONFIG / "triage_rules.toml", CONFIG / "policy.toml")
    return await ActivityEnvironment().run(
        activities.resolve_policy, ResolvePolicyInput(overrides=overrides)
    )


BILLING_WORDS = [
    "bill", "invoic", "charg", "pay", "paid", "refund", "insur", "claim", "copay", "co-pay",
    "deductible", "balance", "statement", "cost", "price", "fee", "receipt", "owe", "debt",
    "collection", "card", "bank", "account", "credit", "amount", "£", "$", "€",
]  # fmt: skip


async def test_policy_defaults_equal_the_contract_table() -> None:
    h, d = timedelta(hours=1), timedelta(days=1)

    assert await resolve(None) == ResolvedPolicy(
        survey_delay=24 * h,
        survey_reminder=72 * h,
        survey_window=7 * d,
        compliance_sla={"1": 8 * h, "2": 4 * h, "3": 1 * h},
        department_sla=2 * d,
        resolution_sla={"1": 5 * d, "2": 3 * d, "3": 1 * d},
        release_by_policy=ReleasePolicy(
            enabled=True, sectors=[Sector.ECOMMERCE], categories=[Department.BILLING]
        ),
        minimum_necessary=MinimumNecessary(
            privileged_to_legal_only=True,
            sentences_about={Department.BILLING: BILLING_WORDS},
        ),
        approvals_required={"1": 1, "2": 1, "3": 2},
        warning_thresholds=[0.5, 0.75, 0.9],
        progress_update_at=0.75,
        business_clocks=[],
        business_windows=[],
        recovery_deadline=2 * d,
        score_alerts=ScoreThresholds(csat_at_most=2, nps_at_most=6, ces_at_least=5),
    )


async def test_intake_overrides_merge_per_key_and_per_tier() -> None:
    overrides = Policy.model_validate(
        {"survey_delay": "PT1H", "compliance_sla": {"3": "PT30M"}, "resolution_sla": "PT12H"}
    )
    policy = await resolve(overrides)

    assert policy.survey_delay == timedelta(hours=1)
    assert policy.survey_window == timedelta(days=7)
    assert policy.compliance_sla == {
        "1": timedelta(hours=8),
        "2": timedelta(hours=4),
        "3": timedelta(minutes=30),
    }
    assert policy.resolution_sla == dict.fromkeys(("1", "2", "3"), timedelta(hours=12))


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ('survey_window = "P1M"', "survey_window"),
        ("department_sla = 3600", "department_sla"),
        ('compliance_sla = { 1 = "PT8H" }', "compliance_sla"),
    ],
)
def test_policy_file_refuses_ambiguous_or_partial_durations_naming_the_key(
    tmp_path: Path, line: str, named: str
) -> None:
    key = line.split(" ", 1)[0]
    shipped = (CONFIG / "policy.toml").read_text().splitlines()
    path = tmp_path / "policy.toml"
    path.write_text("\n".join(line if s.startswith(f"{key} =") else s for s in shipped))

    with pytest.raises(ConfigError, match=named):
        load_policy(path)
