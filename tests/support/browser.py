"""The system Chromium for Playwright tests (Playwright's own download cannot work here)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
#: Headless on a machine without outside network: no background traffic at all.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Skip a developer's run without Chromium; in CI (which installs it) fail instead."""
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI"):
            pytest.fail(f"no system Chromium at {CHROMIUM}: .ci/run installs it")
        pytest.skip(f"no system Chromium at {CHROMIUM}", allow_module_level=True)
