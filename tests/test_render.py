"""Golden screens of the dashboard, and what it must survive: no data, one point, NaN, hostile names.

`DETR_WATCH_UPDATE_GOLDEN=1 pytest tests/test_render.py` rewrites tests/golden/*.txt.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA
from rich.console import Console, RenderableType

from detr_watch import memo
from detr_watch.formats import detr_json
from detr_watch.logs import Log
from detr_watch.records import ITER, Record
from detr_watch.render import fmt, plot
from detr_watch.render.chart import Chart, ChartDef, ChartLine
from detr_watch.render.dashboard import Dashboard
from detr_watch.render.status import StatusLine
from detr_watch.render.table import MetricsTable, shorten
from detr_watch.store import SeriesStore, Snapshot
from detr_watch.view import View

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DETR_WATCH_UPDATE_GOLDEN") == "1"
LOG = "detr_logtxt_Moqixis_object_detection_detr.txt"
ARRIVED = 1_700_000_000.0
NOW = ARRIVED + 12.0


def render(renderable: RenderableType, width: int, height: int, color: bool = False) -> str:
    console = Console(
        file=io.StringIO(),
        width=width,
        height=height,
        color_system="truecolor" if color else None,
        legacy_windows=False,
        force_terminal=color,
    )
    console.print(renderable, height=height, crop=True)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def check_golden(name: str, out: str) -> None:
    path = GOLDEN / name
    print(repr(out))
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"{path} is missing: run with DETR_WATCH_UPDATE_GOLDEN=1 to create it")
        path.parent.mkdir(exist_ok=True)
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8")


def assert_shape(out: str, width: int, height: int) -> None:
    lines = out.split("\n")
    assert lines[-1] == ""
    assert len(lines) - 1 == height, f"{len(lines) - 1} lines, want {height}"
    widths = {len(line) for line in lines[:-1]}
    assert widths == {width}, widths


def store_of(records: list[Record], arrived: float = ARRIVED) -> SeriesStore:
    store = SeriesStore()
    store.append(records, arrived)
    return store


@pytest.fixture(scope="module")
def detr_snapshot() -> Snapshot:
    parser = detr_json.create()
    store = store_of(parser.feed((DATA / LOG).read_bytes().splitlines()))
    return store.snapshot()


VIEW = View(title=LOG, mode="once")


@pytest.mark.parametrize(("width", "height"), [(100, 30), (160, 48)])
def test_dashboard_golden(detr_snapshot: Snapshot, width: int, height: int) -> None:
    out = render(Dashboard(detr_snapshot, VIEW, NOW), width, height)
    check_golden(f"dashboard_{width}x{height}.txt", out)
    assert_shape(out, width, height)
    assert "epoch 1" in out and "run 2 of 2" in out and "last record 12s ago" in out
    assert "cannot draw" not in out


def test_dashboard_ascii_golden(detr_snapshot: Snapshot) -> None:
    out = render(Dashboard(detr_snapshot, View(title=LOG, ascii=True), NOW), 100, 30)
    check_golden("dashboard_ascii_100x30.txt", out)
    assert out.isascii()


def test_waiting_screen_golden() -> None:
    store = SeriesStore()
    store.add_skipped(2)
    out = render(Dashboard(store.snapshot(), View(title="log.txt"), NOW), 80, 20)
    check_golden("waiting_80x20.txt", out)
    assert_shape(out, 80, 20)
    assert out.count("waiting for the first metrics") == 2
    assert "2 skipped lines" in out


def test_one_point_golden() -> None:
    store = store_of([Record(0.0, {"train_loss": 5.0, "train_loss_ce": 1.0, "test_coco_eval_bbox/AP": 0.1})])
    out = render(Dashboard(store.snapshot(), View(title="log.txt"), NOW), 80, 24)
    check_golden("one_point_80x24.txt", out)
    assert_shape(out, 80, 24)
    assert "1 record · epoch 0" in out


@pytest.mark.parametrize(("width", "height"), [(59, 30), (100, 15), (20, 3), (1, 1)])
def test_too_small(detr_snapshot: Snapshot, width: int, height: int) -> None:
    out = render(Dashboard(detr_snapshot, VIEW, NOW), width, height)
    print(repr(out))
    assert_shape(out, width, height)
    if width >= 60:
        assert out.startswith(f"terminal too small: need at least 60x16, have {width}x{height}")
    else:
        assert out.replace("\n", "").replace(" ", "").startswith("terminaltoosmall"[: width * height])


@pytest.mark.parametrize(("width", "height"), [(60, 16), (80, 24), (90, 40), (129, 35), (130, 35), (250, 80)])
def test_fills_exactly_the_size_given(detr_snapshot: Snapshot, width: int, height: int) -> None:
    out = render(Dashboard(detr_snapshot, VIEW, NOW), width, height)
    print(repr(out))
    assert_shape(out, width, height)
    assert "cannot draw" not in out


def test_default_height_without_options_height(detr_snapshot: Snapshot) -> None:
    console = Console(file=io.StringIO(), width=120, color_system=None, legacy_windows=False)
    console.print(Dashboard(detr_snapshot, VIEW, NOW))
    assert console.file.getvalue().count("\n") == 48  # type: ignore[attr-defined]


def test_layouts(detr_snapshot: Snapshot) -> None:
    narrow = render(Dashboard(detr_snapshot, VIEW, NOW), 80, 40).split("\n")
    assert narrow[2].startswith("Total loss") and "Box AP" not in narrow[2]  # one column
    wide = render(Dashboard(detr_snapshot, VIEW, NOW), 160, 48).split("\n")
    assert "Box AP@[.5:.95]" in wide[2] and "series" in wide[2]  # two columns, table beside
    bottom = render(Dashboard(detr_snapshot, VIEW, NOW), 100, 30).split("\n")
    assert [i for i, line in enumerate(bottom) if line.startswith("series")] == [21]  # the last 9 rows


def test_status_line() -> None:
    records = [Record(float(i), {"loss": 1.0 / (i + 1)}, 0, ITER) for i in range(0, 500, 20)]
    snap = store_of(records).snapshot()
    text = render(
        StatusLine(snap, View(title="metrics.json", paused=True), ARRIVED + 3 * 3600 + 5 * 60), 120, 1
    )
    assert text.rstrip() == "metrics.json · 25 records · iter 480 · last record 3h 05m ago · PAUSED"
    # the file name gives way first, the numbers stay
    text = render(StatusLine(snap, View(title="a" * 200), ARRIVED), 70, 1)
    assert text.rstrip().endswith("... · 25 records · iter 480 · last record 0s ago")


def test_age_and_number_formats() -> None:
    assert [fmt.age(s) for s in (-3, 0, 12.9, 59, 60, 3 * 60 + 59, 3600, 2 * 3600 + 5 * 60, 50 * 3600)] == [
        "0s ago",
        "0s ago",
        "12s ago",
        "59s ago",
        "1m ago",
        "3m ago",
        "1h 00m ago",
        "2h 05m ago",
        "2d 02h ago",
    ]
    assert [fmt.value(v) for v in (0.42034, 34.8483, 12345.6, 1e-4, 0.0, math.nan, -math.inf)] == [
        "0.4203",
        "34.848",
        "12346",
        "1.00e-04",
        "0",
        "nan",
        "-inf",
    ]
    assert [fmt.change(v) for v in (0.01, -0.01, 0.0, math.nan)] == ["+0.0100", "-0.0100", "0", ""]
    assert [fmt.step(s) for s in (3.0, 2.5)] == ["3", "2.5"]


def test_nan_and_inf_do_not_crash() -> None:
    nan, inf = math.nan, math.inf
    records = [
        Record(0.0, {"train_loss": nan, "test_loss": 2.0, "train_loss_ce": inf}),
        Record(1.0, {"train_loss": nan, "test_loss": nan, "train_loss_ce": -inf}),
        Record(2.0, {"train_loss": nan, "test_loss": 1.0, "train_loss_ce": 0.5}),
    ]
    snap = store_of(records).snapshot()
    out = render(Dashboard(snap, View(title="log.txt"), NOW), 100, 30)
    print(repr(out))
    assert_shape(out, 100, 30)
    assert "cannot draw" not in out
    assert "6 NaN/Inf values" in out
    assert "train_loss " in out and " nan " in out
    # a chart whose every value is NaN says so instead of drawing nothing
    only_nan = store_of([Record(float(i), {"train_loss": nan}) for i in range(3)]).snapshot()
    defn = ChartDef("Total loss", "total", (ChartLine(0, "train_loss", "train", "train"),))
    out = render(Chart(defn, (Log("log.txt", only_nan),), View()), 60, 10)
    print(repr(out))
    assert "no finite values yet" in out


def test_log_text_is_shown_literally_never_interpreted() -> None:
    names = {"train_[bold red]x[/]": 1.0, "train_loss_ce\x1b]0;pwn\x07": 2.0, "test_:smile:_loss": 3.0}
    snap = store_of([Record(0.0, {"train_loss": 1.0, **names})]).snapshot()
    for color in (False, True):
        out = render(Dashboard(snap, View(title="run\x1b[2J[blink]x[/blink]"), NOW), 100, 30, color=color)
        print(repr(out))
        assert "train_[bold red]x[/]" in out
        assert "train_loss_ce?]0;pwn?" in out
        assert "test_:smile:_loss" in out
        assert "run?[2J[blink]x[/blink]" in out
        assert "\x07" not in out and "\x1b]" not in out and "\x1b[2J" not in out


def test_colours_follow_the_console(detr_snapshot: Snapshot) -> None:
    plain = render(Dashboard(detr_snapshot, VIEW, NOW), 100, 30)
    assert "\x1b" not in plain
    coloured = render(Dashboard(detr_snapshot, VIEW, NOW), 100, 30, color=True)
    assert "\x1b[" in coloured


def test_ascii_mode_is_ascii_even_with_unicode_names() -> None:
    records = [
        Record(
            float(i),
            {"train_loss": 2.0 - i * 0.1, "test_loss": 2.5 - i * 0.05, "训练_loss": 1.0, "naïve…": 0.5},
        )
        for i in range(12)
    ]
    snap = store_of(records).snapshot()
    for size in ((100, 30), (160, 48), (40, 10)):
        out = render(Dashboard(snap, View(title="lög.txt", ascii=True), NOW), *size)
        print(repr(out))
        assert out.isascii()
        assert_shape(out, *size)


def test_table_shortens_names_in_the_middle() -> None:
    assert shorten("test_coco_eval_bbox/AP50", 16) == "test_co…box/AP50"
    assert shorten("test_coco_eval_bbox/AP50", 16, ascii_only=True) == "test_co~box/AP50"
    assert shorten("short", 16) == "short"
    assert len(shorten("test_coco_eval_bbox/AP50", 16)) == 16


def test_table_trend_and_best() -> None:
    records = [
        Record(float(i), {"train_loss": v, "test_coco_eval_bbox/AP": a, "train_lr": 1e-4})
        for i, (v, a) in enumerate([(3.0, 0.1), (2.0, 0.3), (2.5, 0.2)])
    ]
    snap = store_of(records).snapshot()
    names = ["train_loss", "test_coco_eval_bbox/AP", "train_lr"]
    out = render(MetricsTable(names, snap, View()), 60, 5)
    print(repr(out))
    lines = out.split("\n")
    # loss: fitted change over 3 points = slope -0.25 * span 2 = -0.5; best is the minimum, 2.0 at step 1
    assert lines[2].split() == ["train_loss", "2.5000", "-0.5000", "↓", "2.0000", "@1"]
    # AP: +0.05 * 2 = +0.1; best is the maximum
    assert lines[3].split() == ["test_coco_eval_bbox/AP", "0.2000", "+0.1000", "↑", "0.3000", "@1"]
    # lr: flat, and no "best" learning rate
    assert lines[4].split() == ["train_lr", "1.00e-04", "0", "→", "-"]
    ascii_out = render(MetricsTable(names, snap, View(ascii=True)), 60, 5)
    assert ascii_out.isascii() and " v " in ascii_out and " ^ " in ascii_out
    few = render(MetricsTable(names, snap, View()), 60, 4)
    assert few.split("\n")[3].split() == ["...", "2", "more"]


def test_restarted_runs_show_the_latest_history(detr_snapshot: Snapshot) -> None:
    # the log restarts from epoch 0 after epoch 4: the best train loss is the new run's, not the old
    out = render(MetricsTable(["train_loss"], detr_snapshot, View()), 60, 3)
    print(repr(out))
    best = out.split("\n")[2].split()[-1]
    assert best == "@1"


def test_a_chart_that_fails_says_why(detr_snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> str:
        raise ValueError("plotext says no")

    monkeypatch.setattr(plot, "draw", boom)
    memo.clear()  # charts drawn by earlier tests are cached
    out = render(Dashboard(detr_snapshot, VIEW, NOW), 100, 30)
    print(repr(out))
    assert "Total loss: cannot draw: ValueError: plotext says" in out  # wrapped in the chart cell
    assert_shape(out, 100, 30)


def test_the_plotext_figure_is_left_empty_and_frames_do_not_pile_up(detr_snapshot: Snapshot) -> None:
    memo.clear()
    before = plot.cache_stats()["builds"]
    first = render(Dashboard(detr_snapshot, VIEW, NOW), 160, 48)
    built = plot.cache_stats()["builds"] - before
    assert built == first.count("x: epoch") >= 8  # one build per chart on the page
    assert plot.figure_is_empty()
    for _ in range(99):
        assert render(Dashboard(detr_snapshot, VIEW, NOW), 160, 48) == first
    assert plot.cache_stats()["builds"] - before == built  # unchanged data: every chart from the cache
    for _ in range(20):
        memo.clear()  # force real plotext builds: each must start from a clean figure
        assert render(Dashboard(detr_snapshot, VIEW, NOW), 160, 48) == first
        assert plot.figure_is_empty()


def test_cache_follows_the_data() -> None:
    store = store_of([Record(float(i), {"train_loss": 1.0 / (i + 1)}) for i in range(5)])
    view = View(title="log.txt")
    a = render(Dashboard(store.snapshot(), view, NOW), 100, 30)
    store.append([Record(5.0, {"train_loss": 5.0})], ARRIVED + 1)
    b = render(Dashboard(store.snapshot(), view, NOW), 100, 30)
    assert a != b and "epoch 5" in b
    assert "5.0000" in b.split("series")[1]


def test_a_plotext_error_leaves_the_figure_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_build() -> str:
        raise RuntimeError("build failed")

    monkeypatch.setattr(plot.plt, "build", broken_build)
    steps = np.arange(5.0)
    line = plot.Trace(steps, steps * 2, "train", 37, "braille")
    with pytest.raises(RuntimeError):
        plot.plot([line], 40, 10)
    assert plot.figure_is_empty()


def test_plot_never_gets_nonfinite_or_empty_lines() -> None:
    steps = np.arange(4.0)
    good = plot.Trace(steps, np.array([1.0, 3.0, math.inf, 2.0]), "train", 37, "braille")
    empty = plot.Trace(steps, np.full(4, math.nan), "test", 208, "hd")
    text = plot.plot([good, empty], 40, 10)
    assert "train" in text and "test" not in text  # an empty line with a label would make plotext raise
    assert plot.plot([empty], 40, 10) == ""


def test_epoch_axis_ticks_are_round_numbers() -> None:
    assert plot.integer_ticks(0, 499, 8) == [0, 100, 200, 300, 400]
    assert plot.integer_ticks(1, 72, 9) == [10, 20, 30, 40, 50, 60, 70]
    assert plot.integer_ticks(3, 3, 5) == [3]
    assert [plot.tick_label(t) for t in (12, 2500, 120_000, 1_500_000)] == ["12", "2500", "120k", "1.5M"]


def test_charts_decoded_here_look_as_rich_decodes_them() -> None:
    """`chart._decode_colours` stands in for `Text.from_ansi` on plotext's text: the same screen."""
    from rich.text import Text

    from detr_watch.render.chart import _decode_colours, _fit

    def screen(lines: object) -> str:
        out = io.StringIO()
        console = Console(file=out, width=80, force_terminal=True, color_system="256")
        for line in lines:  # type: ignore[attr-defined]
            for seg in line:
                console.print(Text(seg.text, style=seg.style or ""), end="")
            console.print()
        return out.getvalue()

    rng = np.random.default_rng(3)
    x = np.arange(300, dtype=float)
    for trial in range(30):
        traces = [
            plot.Trace(x, rng.standard_normal(300).cumsum(), None, int(c), "braille")
            for c in rng.choice([37, 208, 244, 1, 255], size=int(rng.integers(1, 4)))
        ]
        width, height = int(rng.integers(20, 80)), int(rng.integers(5, 15))
        text = plot.plot(traces, width, height)
        fast = _decode_colours(text, width, height)
        assert fast is not None, trial
        console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system="256")
        decoded = Text.from_ansi(text, no_wrap=True, overflow="crop", end="")
        slow = [_fit(list(line.render(console)), width) for line in decoded.split("\n", allow_blank=True)]
        assert screen(fast) == screen(slow[:height]), trial
    # anything but a reset or a 256-colour foreground is left to rich
    assert _decode_colours("a\x1b[1mb\x1b[0m", 10, 1) is None
    assert _decode_colours("a\x1b[38;2;1;2;3mb", 10, 1) is None
    assert _decode_colours("a\x07b", 10, 1) is None
    assert _decode_colours("ab\x1b[38;5;37mcd\x1b[0m", 4, 1) is not None
