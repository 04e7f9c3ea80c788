"""``roomscope`` as scripts and people run it: a subprocess from the checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def roomscope(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m app ARGS`` in the checkout; stdout and stderr read as UTF-8."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=ROOT,
    )
