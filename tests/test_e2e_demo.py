"""The Quick start's first command, in a real terminal: the demo run shows curves and keeps growing."""

from __future__ import annotations

import re
from pathlib import Path

from tmux import Pane, detr_watch_argv


def _epoch(screen: str) -> int:
    match = re.search(r"epoch (\d+)", screen)
    assert match, screen
    return int(match.group(1))


def test_demo_runs_live_and_quits(tmp_path: Path) -> None:
    pane = Pane(detr_watch_argv("--demo"), width=120, height=40, cwd=tmp_path)
    try:
        first = pane.wait_for(lambda s: "epoch 7" in s, what="the demo's first frame (8 epochs written)")
        assert "Total loss" in first and "AP" in first
        pane.wait_for(
            lambda s: "epoch" in s and _epoch(s) >= 8, timeout=30, what="a new epoch from the simulated run"
        )
        pane.keys("q")
        assert pane.wait_exit() == 0
    finally:
        pane.kill()
