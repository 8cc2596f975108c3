"""The triage evaluation report: the rules against the labelled corpus (triage/corpus/).

    python -m triage.report [--rules PATH] [--policy PATH] [--corpus FILE ...] [--json]

For the whole corpus and for the held-out part on its own: the tier confusion matrix, the
under-triaged cases (tier below the label), over-triage of routine cases, flag recall per flag,
and the cases policy would release although the label says a reviewer is required. Exit status
1 when a hard target fails (a tier 3 case under-triaged, or a flagged case released by policy),
so the command can gate a rules change.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from activities.config_files import load_policy
from models.activities import TriageResult
from models.contract import ComplianceFlag, InquiryIntake
from models.policy import ReleasePolicy
from models.settings import PROJECT_ROOT
from models.status import Draft
from triage.engine import evaluate
from triage.rules import TriageRules, load_rules
from workflows import release
from workflows.policies import SYSTEM

CORPUS = PROJECT_ROOT / "triage" / "corpus"
HELDOUT = "heldout"  # every file whose name starts so: written blind, never tuned against
TARGET_FLAG_RECALL = 0.95
TARGET_ROUTINE_OVER_TRIAGE = 0.20


@dataclass(frozen=True)
class Case:
    id: str
    split: str
    intake: InquiryIntake
    expect: dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    case: Case
    result: TriageResult
    released: bool

    @property
    def tier(self) -> int:
        return self.result.tier

    @property
    def expected_tier(self) -> int:
        return int(self.case.expect["tier"])

    @property
    def missing_flags(self) -> list[str]:
        got = {f.value for f in self.result.compliance_flags}
        return [f for f in self.case.expect.get("flags", []) if f not in got]


def load_corpus(paths: Iterable[Path]) -> list[Case]:
    cases = []
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                intake = InquiryIntake.model_validate(
                    {
                        "inquiry_id": raw["id"],
                        "sector": raw["sector"],
                        "channel": raw["channel"],
                        "received_at": datetime(2026, 1, 5, 9, tzinfo=UTC),
                        "customer": {"customer_id": "C-CORPUS"},
                        "subject": raw["subject"],
                        "body": raw["body"],
                        "topics": raw.get("topics"),
                    }
                )
                cases.append(Case(raw["id"], path.stem, intake, raw["expect"]))
            except (ValueError, KeyError) as exc:
                raise SystemExit(f"{path}:{n}: not a corpus case ({exc})") from None
    return cases


def release_policy(path: Path) -> ReleasePolicy:
    """The policy file's [release_by_policy], as the workflow receives it."""
    return ReleasePolicy.model_validate(load_policy(path).release_by_policy.model_dump())


def judge(rules: TriageRules, policy: ReleasePolicy, cases: Sequence[Case]) -> list[Verdict]:
    verdicts = []
    for case in cases:
        result = evaluate(rules, case.intake)
        # The system's own first draft, checks passed: the most a routine inquiry can be.
        draft = Draft(
            version=1,
            author_id=SYSTEM,
            text="",
            created_at=case.intake.received_at,
            checks_passed=True,
        )
        decision = release.decide(policy, case.intake.sector, result, result.tier, draft)
        verdicts.append(Verdict(case, result, decision.released))
    return verdicts


def summarise(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    matrix = Counter((v.expected_tier, v.tier) for v in verdicts)
    under = [v for v in verdicts if v.tier < v.expected_tier]
    routine = [v for v in verdicts if v.expected_tier == 1]
    over_routine = [v for v in routine if v.tier > 1]
    expected_flags = Counter(f for v in verdicts for f in v.case.expect.get("flags", []))
    missed_flags = Counter(f for v in verdicts for f in v.missing_flags)
    extra_flags = [
        v
        for v in verdicts
        if {f.value for f in v.result.compliance_flags} - set(v.case.expect.get("flags", []))
    ]
    wrongly_released = [v for v in verdicts if v.released and v.case.expect["review_required"]]
    flagged_released = [v for v in verdicts if v.released and v.case.expect.get("flags")]
    needless_review = [
        v for v in verdicts if not v.released and not v.case.expect["review_required"]
    ]
    total_flags = sum(expected_flags.values())
    recall = 1 - sum(missed_flags.values()) / total_flags if total_flags else 1.0
    return {
        "cases": len(verdicts),
        "matrix": {f"{e}->{p}": n for (e, p), n in sorted(matrix.items())},
        "tier_accuracy": sum(v.tier == v.expected_tier for v in verdicts) / max(len(verdicts), 1),
        "under_triaged": [_row(v) for v in under],
        "under_triaged_tier3": [v.case.id for v in under if v.expected_tier == 3],
        "routine_cases": len(routine),
        "routine_over_triaged": [_row(v) for v in over_routine],
        "routine_over_triage_rate": len(over_routine) / len(routine) if routine else 0.0,
        "flag_recall": recall,
        "flag_recall_by_flag": {
            f.value: 1 - missed_flags[f.value] / expected_flags[f.value]
            for f in ComplianceFlag
            if expected_flags[f.value]
        },
        "missed_flags": [
            {"id": v.case.id, "missing": v.missing_flags} for v in verdicts if v.missing_flags
        ],
        "extra_flags": [_row(v) for v in extra_flags],
        "released_but_review_required": [v.case.id for v in wrongly_released],
        "flagged_released": [v.case.id for v in flagged_released],
        "reviewed_but_releasable": [v.case.id for v in needless_review],
    }


def _row(v: Verdict) -> dict[str, Any]:
    return {
        "id": v.case.id,
        "kind": v.case.expect.get("kind"),
        "expected": {"tier": v.expected_tier, "flags": v.case.expect.get("flags", [])},
        "got": {"tier": v.tier, "flags": [f.value for f in v.result.compliance_flags]},
        "rules": [h.rule_id for h in v.result.rules_fired],
    }


def failures(summary: dict[str, Any]) -> list[str]:
    """The targets a rules change must not break."""
    out = []
    if summary["under_triaged_tier3"]:
        out.append(f"tier 3 cases under-triaged: {', '.join(summary['under_triaged_tier3'])}")
    if summary["flagged_released"]:
        out.append(f"flagged cases released by policy: {', '.join(summary['flagged_released'])}")
    if summary["released_but_review_required"]:
        ids = ", ".join(summary["released_but_review_required"])
        out.append(f"cases needing review released by policy: {ids}")
    if summary["flag_recall"] < TARGET_FLAG_RECALL:
        out.append(f"flag recall {summary['flag_recall']:.1%} < {TARGET_FLAG_RECALL:.0%}")
    if summary["routine_over_triage_rate"] > TARGET_ROUTINE_OVER_TRIAGE:
        rate = summary["routine_over_triage_rate"]
        out.append(f"routine over-triage {rate:.1%} > {TARGET_ROUTINE_OVER_TRIAGE:.0%}")
    return out


def render(title: str, s: dict[str, Any]) -> str:
    lines = [f"== {title}: {s['cases']} cases ==", "", "tier confusion (rows: label, cols: got)"]
    lines.append("        got 1  got 2  got 3")
    for e in (1, 2, 3):
        row = [s["matrix"].get(f"{e}->{p}", 0) for p in (1, 2, 3)]
        lines.append(f"  tier {e} " + "".join(f"{n:>7}" for n in row))
    lines += [
        "",
        f"tier accuracy          {s['tier_accuracy']:.1%}",
        f"flag recall            {s['flag_recall']:.1%}  "
        + "  ".join(f"{f} {r:.0%}" for f, r in s["flag_recall_by_flag"].items()),
        f"routine over-triage    {s['routine_over_triage_rate']:.1%} "
        f"({len(s['routine_over_triaged'])} of {s['routine_cases']})",
        f"under-triaged          {len(s['under_triaged'])} "
        f"(tier 3: {len(s['under_triaged_tier3'])})",
        f"flagged, released      {len(s['flagged_released'])}",
        f"review needed, released {len(s['released_but_review_required'])}",
        f"routine, but reviewed  {len(s['reviewed_but_releasable'])}",
    ]
    for name, rows in (
        ("under-triaged", s["under_triaged"]),
        ("routine over-triaged", s["routine_over_triaged"]),
    ):
        if rows:
            lines += ["", f"{name}:"]
            lines += [
                f"  {r['id']:<10} {r['kind'] or '':<18} label tier {r['expected']['tier']} "
                f"{'+'.join(r['expected']['flags']) or '-':<18} got tier {r['got']['tier']} "
                f"{'+'.join(r['got']['flags']) or '-':<18} {', '.join(r['rules'])}"
                for r in rows
            ]
    if s["missed_flags"]:
        lines += ["", "missed flags:"]
        lines += [f"  {m['id']:<10} {', '.join(m['missing'])}" for m in s["missed_flags"]]
    for name in ("released_but_review_required", "reviewed_but_releasable"):
        if s[name]:
            lines += ["", f"{name.replace('_', ' ')}: {', '.join(s[name])}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m triage.report", description=__doc__)
    parser.add_argument("--rules", type=Path, default=PROJECT_ROOT / "config/triage_rules.toml")
    parser.add_argument("--policy", type=Path, default=PROJECT_ROOT / "config/policy.toml")
    parser.add_argument("--corpus", type=Path, nargs="+", default=sorted(CORPUS.glob("*.jsonl")))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    rules = load_rules(args.rules)
    policy = ReleasePolicy.model_validate(load_policy(args.policy).release_by_policy.model_dump())
    verdicts = judge(rules, policy, load_corpus(args.corpus))
    parts = {"all": verdicts, "held-out": [v for v in verdicts if v.case.split.startswith(HELDOUT)]}
    summaries = {name: summarise(vs) for name, vs in parts.items() if vs}
    failed = [f"{name}: {f}" for name, s in summaries.items() for f in failures(s)]
    if args.json:
        print(json.dumps({"summaries": summaries, "failed": failed}, indent=2))
    else:
        print("\n\n".join(render(name, s) for name, s in summaries.items()))
        print("\n" + ("\n".join(f"FAILED {f}" for f in failed) or "all targets met"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
