"""The soak test, short: 30 s of 1,000 records a second into the live view (tmux) and `stream --follow`.

scripts/soak.py does the work and the checks (its docstring lists them); the default there is ten
minutes. Deselect with `pytest -m "not soak"`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "soak.py"


@pytest.mark.soak
@pytest.mark.timeout(300)
def test_soak_30_seconds_at_1000_records_a_second() -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for the soak test (.ci/run installs it)")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--duration", "30", "--rate", "1000", "--json"],
        capture_output=True,
        text=True,
        timeout=280,
    )
    print(proc.stderr)
    report = json.loads(proc.stdout)
    samples = report.pop("samples")
    print(json.dumps(report, indent=1))
    print(*(json.dumps(s) for s in samples), sep="\n")
    assert report["failures"] == []
    assert proc.returncode == 0
    assert report["written"] >= 29_000 and report["streamed"] == report["written"]
    assert len(samples) >= 29
