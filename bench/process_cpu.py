"""CPU time of a server's whole process tree, from ``/proc`` (Linux).

Throughput at one connection is mostly the round trip between two processes
(bench/README.md, "Floors"); the CPU a server spends per request is what it costs
whatever the concurrency. Both systems run as a supervisor with worker processes
(govwallet's ``serve --workers``, the peer's ``node:cluster``), so the tree is summed.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in (PROC / str(pid) / "task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _own_cpu_seconds(pid: int) -> float:
    """User and system time of ``pid``'s own threads (``/proc/PID/stat`` fields 14, 15)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0.0  # exited
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and every live descendant of it."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        total += _own_cpu_seconds(current)
        pending += _children(current)
    return total


def available() -> bool:
    return (PROC / "self" / "task").is_dir() and (
        PROC / "self" / "task" / str(os.getpid()) / "children"
    ).exists()
