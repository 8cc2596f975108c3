"""What a process spends, read from /proc (Linux), and how figures spread."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    cpu_s: float  # user + system, this process and the children it waited for
    rss_mib: float
    peak_rss_mib: float


def usage(pid: int) -> Usage:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return Usage(ticks * TICK_S, _mib(status["VmRSS"]), _mib(status["VmHWM"]))


def _mib(field: str) -> float:
    return int(field.split()[0]) / 1024  # kB


def file_bytes(path: Path) -> int:
    """A SQLite database's size with its write-ahead log."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value at least `share` of them do not exceed."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]
