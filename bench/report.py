"""The benchmark's table: the real inquiry beside the ceiling run before and after it."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

Figures = dict[str, Any]

# (label, how to read it from a phase's figures, format)
ROWS: list[tuple[str, Callable[[Figures], float], str]] = [
    ("inquiries/s, intake to closed", lambda f: f["inquiries_per_s"], "{:.2f}"),
    ("intake → awaiting approval, p50", lambda f: f["to_awaiting_s"]["p50"], "{:.3f} s"),
    ("intake → awaiting approval, p95", lambda f: f["to_awaiting_s"]["p95"], "{:.3f} s"),
    ("intake → awaiting approval, p99", lambda f: f["to_awaiting_s"]["p99"], "{:.3f} s"),
    ("approval → resolution sent, p50", lambda f: f["approval_to_sent_s"]["p50"], "{:.3f} s"),
    ("approval → resolution sent, p95", lambda f: f["approval_to_sent_s"]["p95"], "{:.3f} s"),
    ("approval → resolution sent, p99", lambda f: f["approval_to_sent_s"]["p99"], "{:.3f} s"),
    ("history events per inquiry", lambda f: f["events_per_inquiry"], "{:.1f}"),
    ("history KiB per inquiry", lambda f: f["history_kib_per_inquiry"], "{:.1f}"),
    ("billable actions per inquiry", lambda f: f["actions_per_inquiry"], "{:.1f}"),
    ("worker CPU per inquiry", lambda f: f["worker_cpu_ms_per_inquiry"], "{:.0f} ms"),
    ("server CPU per inquiry", lambda f: f["server_cpu_ms_per_inquiry"], "{:.0f} ms"),
    ("SQLite bytes per inquiry", lambda f: f["sqlite_bytes_per_inquiry"] / 1024, "{:.1f} KiB"),
    ("worker RSS after the run", lambda f: f["worker_rss_mib"], "{:.0f} MiB"),
]


def ratios(first: Figures, project: Figures, last: Figures) -> dict[str, float | None]:
    """The project's figure over the mean of the two ceiling runs, per row."""
    out: dict[str, float | None] = {}
    for label, read, _ in ROWS:
        ceiling = statistics.mean((read(first), read(last)))
        out[label] = read(project) / ceiling if ceiling else None
    return out


def table(first: Figures, project: Figures, last: Figures) -> str:
    ratio = ratios(first, project, last)
    lines = [
        "| figure | ceiling (first) | inquiry | ceiling (last) | inquiry ÷ ceiling |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, read, fmt in ROWS:
        cells = [fmt.format(read(f)) for f in (first, project, last)]
        r = ratio[label]
        lines.append(f"| {label} | {' | '.join(cells)} | {'-' if r is None else f'{r:.2f}x'} |")
    return "\n".join(lines)


def spending(figures: Figures) -> str:
    kinds = ", ".join(f"{k} {v:.1f}" for k, v in figures["actions_by_kind"].items())
    ran = ", ".join(f"{k} {v:.1f}" for k, v in figures["activities_by_type"].items())
    return (
        f"{figures['kind']}: {figures['actions_per_inquiry']:.1f} actions ({kinds})\n"
        f"  activities scheduled: {ran}"
    )
