"""End to end in a real terminal: the live view follows a growing log, then quits cleanly."""

from __future__ import annotations

import json
import os
import random
import signal
from collections.abc import Callable, Iterator
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


def _restarted_log(path: Path) -> Path:
    _append_epochs(path, range(0, 6))
    _append_epochs(path, range(3, 5))  # a restart from epoch 3, appended to the same file
    return path


def test_every_key_end_to_end(tmp_path: Path, pane_factory: list[Pane]) -> None:
    log = _restarted_log(tmp_path / "log.txt")
    pane = Pane(detr_watch_argv(str(log)), width=120, height=40, cwd=tmp_path)
    pane_factory.append(pane)
    pane.wait_for(
        lambda s: "epoch 4" in s and "run 2 of 2" in s and "train (run 2)" in s, what="the first frame"
    )

    def press(key: str, shows: Callable[[str], bool], what: str) -> str:
        pane.keys(key)
        return pane.wait_for(shows, what=what)

    press("?", lambda s: "any key closes this help" in s, "the help box")
    press(
        "x",
        lambda s: "any key closes this help" not in s and "x epoch" not in s,
        "the help closed, x not acted on",
    )
    press("s", lambda s: "smooth 0.8" in s, "stronger smoothing")
    press("S", lambda s: "smooth 0.6" in s, "weaker smoothing")
    press("0", lambda s: "no smoothing" in s, "smoothing off")
    press("0", lambda s: "smooth 0.6" in s, "smoothing back on")
    press("e", lambda s: "smooth 0.6+epochs" in s, "per-epoch smoothing")
    press("r", lambda s: "no raw" in s, "raw curves hidden")
    press("l", lambda s: "log y" in s and "x: epoch · log" in s, "log-scale y")
    press("o", lambda s: "y 5-95%" in s and "5-95% · log" in s, "outliers ignored")
    press("x", lambda s: "x epoch" in s, "x as epoch")
    press("x", lambda s: "x time" in s, "x as time")
    press("x", lambda s: "x time" not in s and "x epoch" not in s, "x as step again")
    press("+", lambda s: "zoom 1/2" in s and "last 2" in s, "zoomed in")
    press("+", lambda s: "zoom 1/4" in s and "last 1" in s, "zoomed in more")
    press("-", lambda s: "zoom 1/2" in s, "zoomed out")
    press("a", lambda s: "zoom" not in s, "the whole run")
    press("t", lambda s: "runs stitched" in s and "(run 2)" not in s, "runs stitched")
    press("t", lambda s: "train (run 2)" in s, "runs apart again")
    first = pane.screen().split("\n")[2]
    press("n", lambda s: "page 2/" in s, "the next page")
    press("N", lambda s: "page 1/" in s and s.split("\n")[2] == first, "back to the first page")
    press("N", lambda s: "page 1/" not in s and "page " in s, "round to the last page")
    press("]", lambda s: "page 1/" in s, "round to the first page")
    press("/", lambda s: "filter: " in s and "Enter applies" in s, "the filter prompt")
    pane.keys("l", "o", "s", "s", "_", "c", "e", "*")
    press(
        "Enter",
        lambda s: "filter loss_ce*" in s and "Classification loss" in s and "Box AP" not in s,
        "filter",
    )
    press("/", lambda s: "filter: loss_ce*" in s, "the prompt holds the filter")
    press("C-u", lambda s: "filter: " in s and "loss_ce*" not in s.split("\n")[1], "the prompt cleared")
    press("Enter", lambda s: "filter" not in s and "Box AP" in s, "no filter")
    press("2", lambda s: "loss composition" in s and "share of the total" in s, "the loss composition panel")
    press("3", lambda s: "decoder layers" in s and "layer 6 (final)" in s, "the decoder layers panel")
    press("4", lambda s: "COCO AP" in s and "AR100" in s, "the COCO panel")
    press("Tab", lambda s: "Total loss" in s and "COCO AP" not in s, "Tab back to the charts")
    press("p", lambda s: "PAUSED" in s, "paused")
    _append_epochs(log, range(5, 6))
    pane.keys("p")
    pane.wait_for(
        lambda s: "PAUSED" not in s and "epoch 5" in s and "9 records" in s, what="unpaused, new data"
    )
    pane.keys("q")
    assert pane.wait_exit() == 0


def test_q_quits_from_the_help_and_the_prompt(log: Path, tmp_path: Path, pane_factory: list[Pane]) -> None:
    for keys in (["?"], ["/", "a", "b"]):
        pane = Pane(detr_watch_argv(str(log)), width=100, height=30, cwd=tmp_path)
        pane_factory.append(pane)
        pane.wait_for(lambda s: "epoch 2" in s, what="the first frame")
        pane.keys(*keys)
        pane.wait_for(lambda s: "keys" in s or "filter:" in s, what="the help or the prompt")
        pane.keys("q")
        assert pane.wait_exit() == 0


def test_several_logs_and_a_folder(tmp_path: Path, pane_factory: list[Pane]) -> None:
    runs = tmp_path / "runs"
    for name in ("r50", "swin"):
        (runs / name).mkdir(parents=True)
        _append_epochs(runs / name / "log.txt", range(0, 3))
    (runs / "notes.txt").write_text("not a log\n")
    pane = Pane(detr_watch_argv(str(runs), "--metrics", "loss"), width=120, height=40, cwd=tmp_path)
    pane_factory.append(pane)
    screen = pane.wait_for(
        lambda s: "2 logs" in s and "r50: epoch 2" in s and "swin: epoch 2" in s, what="both logs"
    )
    assert "Total loss (train)" in screen and "Total loss (test)" in screen
    header = next(line for line in screen.split("\n") if line.startswith("series"))
    assert header.split() == ["series", "r50", "swin", "best"]
    _append_epochs(runs / "swin" / "log.txt", range(3, 4))
    pane.wait_for(lambda s: "swin: epoch 3" in s, what="the second log growing")
    pane.keys("q")
    assert pane.wait_exit() == 0


def test_no_color_and_ascii(log: Path, tmp_path: Path, pane_factory: list[Pane]) -> None:
    coloured = Pane(detr_watch_argv(str(log)), width=100, height=30, cwd=tmp_path)
    plain = Pane(
        detr_watch_argv(str(log), "--ascii"), width=100, height=30, cwd=tmp_path, env={"NO_COLOR": "1"}
    )
    pane_factory.extend([coloured, plain])
    for pane in (coloured, plain):
        pane.wait_for(lambda s: "epoch 2" in s, what="the first frame")
    assert "38;5;" in coloured.styled_screen()
    styled = plain.styled_screen()
    assert "38;5;" not in styled and "[3" not in styled.replace("[39m", "")
    assert plain.screen().isascii()
    for pane in (coloured, plain):
        pane.keys("q")
        assert pane.wait_exit() == 0


def test_log_scale_of_one_chart_with_the_cursor(tmp_path: Path, pane_factory: list[Pane]) -> None:
    log = _restarted_log(tmp_path / "log.txt")
    pane = Pane(detr_watch_argv(str(log)), width=120, height=40, cwd=tmp_path)
    pane_factory.append(pane)
    pane.wait_for(lambda s: "epoch 4" in s, what="the first frame")
    pane.keys("j", "j", "l")
    screen = pane.wait_for(lambda s: "log y on 1" in s, what="log-scale y on the chart under the cursor")
    assert screen.count("epoch · log") == 1 and "Box AP@[.5:.95]" in screen.split("\n")[2]
    assert "x: epoch · log" in screen.split("\n")[2].split("Box AP")[1]  # the second chart, not the first
    pane.keys("Escape", "L")
    screen = pane.wait_for(lambda s: "log y" in s and "log y on" not in s, what="log-scale y on every chart")
    assert screen.count("epoch · log") >= 4
    pane.keys("q")
    assert pane.wait_exit() == 0
