"""What each key does to the View (pure transitions); the real terminal is in test_e2e_tmux.py."""

from __future__ import annotations

from functools import reduce

import pytest

from detr_watch.keys import HELP, QUIT, apply_key, split_keys
from detr_watch.view import DEFAULT_SMOOTHING, SMOOTHING_LEVELS, View, matches, parse_patterns


def press(view: View, *keys: str) -> View:
    def step(v: View, k: str) -> View:
        new, action = apply_key(v, k)
        assert action == ""
        return new

    return reduce(step, keys, view)


@pytest.mark.parametrize("view", [View(), View(help=True), View(paused=True), View(prompt="los")])
def test_q_always_quits(view: View) -> None:
    assert apply_key(view, "q")[1] == QUIT
    assert apply_key(view, "Q")[1] == QUIT


def test_smoothing_steps_through_the_levels_and_is_capped() -> None:
    v = View()
    assert v.smoothing == DEFAULT_SMOOTHING == 0.6
    assert press(v, "s").smoothing == 0.8
    assert press(v, *"s" * 20).smoothing == SMOOTHING_LEVELS[-1] == 0.999
    assert press(v, "S").smoothing == 0.3
    assert press(v, *"S" * 5).smoothing == 0.0
    assert press(v, "0").smoothing == 0.0
    assert press(v, "0", "0").smoothing == DEFAULT_SMOOTHING
    assert press(v, "e").smooth_epochs and press(v, "r").raw is False


def test_scale_axis_zoom_and_runs() -> None:
    v = View()
    assert press(v, "l").log_y and not press(v, "l", "l").log_y
    assert press(v, "o").robust_y
    assert [press(v, *"x" * k).x for k in range(4)] == ["step", "epoch", "time", "step"]
    assert press(v, "+", "+", "=").zoom == 3
    assert press(v, "+", "+", "-").zoom == 1
    assert press(v, "-").zoom == 0
    assert press(v, "+", "+", "a").zoom == 0
    assert press(v, *"+" * 40).zoom == 12
    assert press(v, "t").stitched


def test_pages_and_panels() -> None:
    v = View()
    assert press(v, "n", "n", "]", "\x1b[6~", "\x1b[C").page == 5
    assert press(v, "N").page == -1  # the last page (taken modulo the number of pages)
    assert press(v, "n", "[", "\x1b[5~", "\x1b[D").page == -2
    assert [press(v, k).panel for k in "1234"] == ["charts", "losses", "layers", "coco"]
    assert press(v, "n", "3").page == 0
    assert press(v, "\t", "\t").panel == "layers"
    assert press(v, "4", "\t").panel == "charts"


def test_help_opens_and_any_key_closes_it_without_acting() -> None:
    v = press(View(), "?")
    assert v.help and press(View(), "h").help
    closed = press(v, "l")
    assert not closed.help and not closed.log_y


def test_filter_prompt() -> None:
    v = press(View(), "/", *"loss*, *AP")
    assert v.prompt == "loss*, *AP" and v.metrics == ()
    typed_q = apply_key(v, "q")
    assert typed_q[1] == QUIT  # q quits even here
    applied = press(v, "\r")
    assert applied.prompt is None and applied.metrics == ("loss*", "*AP") and applied.page == 0
    assert press(applied, "/").prompt == "loss* *AP"  # editing starts from the current filter
    assert press(applied, "/", "\x15", "\n").metrics == ()  # Ctrl-U then Enter: no filter
    assert press(v, "\x7f", "\x7f").prompt == "loss*, *"
    assert press(v, "\x1b").prompt is None and press(v, "\x1b").metrics == ()  # Esc cancels
    assert press(View(), "/", "\x1b[A").prompt == ""  # arrows are not text


def test_a_cursor_picks_the_chart_l_switches() -> None:
    v = View()
    assert press(v, "j").focus == 0 and press(v, "j", "j", "\x1b[B").focus == 2
    assert press(v, "k").focus == -1 and press(v, "j", "\x1b[A").focus == -1
    assert press(v, "j", "\x1b").focus is None  # Esc: no cursor
    # without a cursor, l switches every chart; with one, only the chart under it
    assert press(v, "l").log_y
    one, _ = apply_key(press(v, "j"), "l", focused="Total loss")
    assert not one.log_y and one.log_charts == frozenset({"Total loss"})
    assert one.log_scale("Total loss") and not one.log_scale("Box AP50")
    two, _ = apply_key(one, "l", focused="Total loss")
    assert two.log_charts == frozenset()
    # L: every chart, forgetting the per-chart choices; a chart switched on top of all is linear again
    every = press(one, "L")
    assert every.log_y and every.log_charts == frozenset()
    mixed, _ = apply_key(press(every, "j"), "l", focused="Learning rate")
    assert mixed.log_scale("Total loss") and not mixed.log_scale("Learning rate")


def test_pause() -> None:
    assert press(View(), "p").paused and not press(View(), "p", "p").paused


def test_unknown_keys_change_nothing() -> None:
    v = View()
    for key in ("z", "\x1b[F", "\x1b", "9", "~"):
        assert apply_key(v, key) == (v, "")


def test_split_keys_keeps_escape_sequences_whole() -> None:
    assert split_keys("ab\x1b[C\x1b[6~q\x1b") == ["a", "b", "\x1b[C", "\x1b[6~", "q", "\x1b"]


def test_patterns() -> None:
    assert parse_patterns("loss*, *AP  lr") == ("loss*", "*AP", "lr")
    assert matches("train_loss_ce", ("loss*",))  # the split may be left out
    assert matches("test_coco_eval_bbox/AP", ("*ap",))  # case-insensitive
    assert not matches("test_coco_eval_bbox/AP50", ("*AP",))
    assert matches("anything", ())


def test_every_key_in_the_help_does_something() -> None:
    special = {"Ctrl-C", "PgDn", "PgUp", "→", "←", "↑", "↓", "Tab"}
    names = {
        "PgDn": "\x1b[6~",
        "PgUp": "\x1b[5~",
        "→": "\x1b[C",
        "←": "\x1b[D",
        "↑": "\x1b[A",
        "↓": "\x1b[B",
        "Tab": "\t",
    }
    for keys, _ in HELP:
        for key in keys.split():
            if key in special and key not in names:
                continue
            k = names.get(key, key)
            start = View(panel="coco", zoom=1) if k in ("1", "-", "a") else View()
            new, action = apply_key(start, k)
            assert new != start or action == QUIT, key
