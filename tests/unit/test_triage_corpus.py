"""The shipped rules against the labelled corpus (triage/corpus/): the targets a rules change must
keep, on the whole corpus and on its held-out part alone. `python -m triage.report` prints the
same figures with the cases behind them."""

from __future__ import annotations

import pytest

from triage import report

RESULTS = report.judge(
    report.load_rules(report.PROJECT_ROOT / "config/triage_rules.toml"),
    report.ReleasePolicy.model_validate(
        report.load_policy(
            report.PROJECT_ROOT / "config/policy.toml"
        ).release_by_policy.model_dump()
    ),
    report.load_corpus(sorted(report.CORPUS.glob("*.jsonl"))),
)
PARTS = {
    "all": RESULTS,
    "held-out": [v for v in RESULTS if v.case.split.startswith(report.HELDOUT)],
}


def test_the_corpus_is_large_enough_and_its_held_out_part_too() -> None:
    # The floor: 150 labelled inquiries, a third of them held out. The held-out files
    # alone are past that; tuning files grow as each blind round is read and tuned against.
    assert len(PARTS["all"]) >= 150
    assert len(PARTS["held-out"]) >= 150 // 3
    assert any(v.case.id == "seed-01" for v in RESULTS)
    assert {v.case.intake.sector.value for v in PARTS["held-out"]} == {
        "healthcare",
        "legal",
        "ecommerce",
    }


@pytest.mark.parametrize("part", PARTS)
def test_no_tier_3_case_is_under_triaged(part: str) -> None:
    under = [v.case.id for v in PARTS[part] if v.expected_tier == 3 and v.tier < 3]
    assert under == []


@pytest.mark.parametrize("part", PARTS)
def test_no_flagged_case_and_no_case_needing_review_is_released_by_policy(part: str) -> None:
    leaked = [v.case.id for v in PARTS[part] if v.released and v.case.expect["review_required"]]
    flagged = [v.case.id for v in PARTS[part] if v.released and v.case.expect.get("flags")]
    assert (leaked, flagged) == ([], [])


@pytest.mark.parametrize("part", PARTS)
def test_flag_recall_and_routine_over_triage_meet_their_targets(part: str) -> None:
    summary = report.summarise(PARTS[part])
    assert summary["flag_recall"] >= report.TARGET_FLAG_RECALL, summary["missed_flags"]
    over = summary["routine_over_triage_rate"]
    assert over <= report.TARGET_ROUTINE_OVER_TRIAGE, summary["routine_over_triaged"]


def test_the_seed_example_is_tier_3_privileged_and_held_for_review() -> None:
    [seed] = [v for v in RESULTS if v.case.id == "seed-01"]
    assert seed.tier == 3
    assert "PRIVILEGE" in seed.result.compliance_flags
    assert not seed.released


def test_the_report_command_prints_both_parts_and_exits_0_when_targets_hold(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert report.main([]) == 0
    out = capsys.readouterr().out
    assert "== all:" in out and "== held-out:" in out
    assert "tier confusion" in out and "flag recall" in out
    assert out.rstrip().endswith("all targets met")
