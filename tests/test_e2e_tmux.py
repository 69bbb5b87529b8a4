"""End to end in a real terminal: the live view follows a growing log, then quits cleanly."""

from __future__ import annotations

import json
import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from tmux import Pane, detr_watch_argv

from detr_watch.demo import epoch_record


def _append_epochs(path: Path, epochs: range) -> None:
    rng = random.Random(1)
    with open(path, "a", encoding="utf-8") as f:
        for e in epochs:
            f.write(json.dumps(epoch_record(e, rng)) + "\n")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.txt"
    _append_epochs(path, range(0, 3))
    return path


@pytest.fixture
def pane_factory(tmp_path: Path) -> Iterator[list[Pane]]:
    panes: list[Pane] = []
    yield panes
    for p in panes:
        p.kill()


def test_live_view_shows_new_epoch_and_quits_on_q(
    log: Path, tmp_path: Path, pane_factory: list[Pane]
) -> None:
    pane = Pane(detr_watch_argv(str(log)), width=120, height=40, cwd=tmp_path)
    pane_factory.append(pane)
    pane.wait_for(lambda s: "epoch 2" in s, what="the first frame with epoch 2")
    assert pane.info("#{alternate_on}") == "1"
    _append_epochs(log, range(3, 4))
    screen = pane.wait_for(lambda s: "epoch 3" in s, what="epoch 3 after appending a line")
    assert "4 records" in screen
    pane.keys("q")
    assert pane.wait_exit() == 0


def test_sigterm_restores_the_terminal_and_exits_143(
    log: Path, tmp_path: Path, pane_factory: list[Pane]
) -> None:
    pane = Pane(detr_watch_argv(str(log)), width=100, height=30, cwd=tmp_path)
    pane_factory.append(pane)
    pane.wait_for(lambda s: "epoch 2" in s, what="the first frame")
    os.kill(pane.program_pid(), signal.SIGTERM)
    assert pane.wait_exit() == 128 + signal.SIGTERM


def test_ctrl_c_exits_zero(log: Path, tmp_path: Path, pane_factory: list[Pane]) -> None:
    pane = Pane(detr_watch_argv(str(log)), width=100, height=30, cwd=tmp_path)
    pane_factory.append(pane)
    pane.wait_for(lambda s: "epoch 2" in s, what="the first frame")
    pane.keys("C-c")
    assert pane.wait_exit() == 0


def test_small_terminal_gets_a_clear_message_then_adapts(
    log: Path, tmp_path: Path, pane_factory: list[Pane]
) -> None:
    pane = Pane(detr_watch_argv(str(log)), width=40, height=10, cwd=tmp_path)
    pane_factory.append(pane)
    pane.wait_for(lambda s: "too small" in s, what="the too-small message")
    pane.resize(120, 40)
    pane.wait_for(lambda s: "epoch 2" in s, what="the dashboard after the resize")
    pane.keys("q")
    assert pane.wait_exit() == 0


def test_missing_file_is_waited_for(tmp_path: Path, pane_factory: list[Pane]) -> None:
    path = tmp_path / "later.txt"
    pane = Pane(detr_watch_argv(str(path)), width=120, height=40, cwd=tmp_path)
    pane_factory.append(pane)
    pane.wait_for(lambda s: "waiting" in s.lower(), what="a waiting message")
    _append_epochs(path, range(0, 2))
    pane.wait_for(lambda s: "epoch 1" in s, what="the dashboard once the file exists")
    pane.keys("q")
    assert pane.wait_exit() == 0
