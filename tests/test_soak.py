"""The soak test, short: 30 s of 1,000 records a second into the live view (tmux) and `stream --follow`.

scripts/soak.py does the work and the checks (its docstring lists them); its default is ten minutes.
One run feeds every test here. Deselect with `pytest -m "not soak"`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "soak.py"
pytestmark = pytest.mark.soak


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for the soak test (.ci/run installs it)")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--duration", "30", "--rate", "1000", "--json"],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.stdout, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    result["exit"] = proc.returncode
    return result


def show(report: dict[str, Any]) -> None:
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=1))
    print(*(json.dumps(s) for s in report["samples"]), sep="\n")


@pytest.mark.timeout(300)
def test_soak_every_record_arrives_the_screen_keeps_updating_cpu_stays_modest(report: dict[str, Any]) -> None:
    show(report)
    assert report["written"] >= 29_000 and report["streamed"] == report["written"]
    assert len(report["samples"]) >= 29
    assert {k: v for k, v in report["failures"].items() if k != "memory"} == {}


@pytest.mark.timeout(300)
def test_soak_memory_grows_only_with_the_data(report: dict[str, Any]) -> None:
    show(report)
    assert "memory" not in report["failures"]
    assert report["exit"] == 0
