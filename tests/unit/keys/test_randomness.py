"""Identifiers from the buffered CSPRNG: the right size, never repeated, not shared
with a forked child."""

from __future__ import annotations

import os
import re

from keys.randomness import random_bytes, random_hex


def test_sizes_and_format() -> None:
    assert len(random_bytes(1)) == 1
    assert len(random_bytes(16)) == 16
    assert len(random_bytes(10_000)) == 10_000  # larger than the buffer: straight from the OS
    assert re.fullmatch(r"[0-9a-f]{32}", random_hex())
    assert re.fullmatch(r"[0-9a-f]{16}", random_hex(8))


def test_never_repeats_across_many_buffers() -> None:
    drawn = [random_hex(16) for _ in range(5_000)]  # ~20 refills of the 4 KiB buffer
    assert len(set(drawn)) == len(drawn)


def test_a_forked_child_does_not_hand_out_the_parents_next_bytes() -> None:
    random_bytes(1)  # the buffer now holds bytes the parent has not handed out yet
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        os.write(write_end, random_bytes(32))
        os._exit(0)
    os.close(write_end)
    child = os.read(read_end, 64)
    os.close(read_end)
    os.waitpid(pid, 0)
    parent = random_bytes(32)
    assert len(child) == 32
    assert child != parent
