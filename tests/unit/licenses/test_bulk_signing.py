"""How many signing processes a long import starts by default."""

from __future__ import annotations

import os

import pytest

from licenses.bulk_signing import default_processes


@pytest.mark.parametrize(("cores", "expected"), [(1, 0), (2, 2), (3, 3), (4, 4), (64, 4)])
def test_one_signing_process_per_usable_core_up_to_four_and_none_on_one_core(
    monkeypatch: pytest.MonkeyPatch, cores: int, expected: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)))
    assert default_processes() == expected


def test_the_cores_this_process_may_use_not_the_machines(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container pinned to 2 of 64 cores signs with 2 processes, not 4."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {5, 9})
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert default_processes() == 2
