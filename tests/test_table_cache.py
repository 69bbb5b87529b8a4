"""The metrics table reuses the lines of its last frame and draws only lines that changed, and is
always exactly the table rich renders from scratch (`layout.block` of it)."""

from __future__ import annotations

import io
import math
import random

import pytest
from conftest import DATA
from rich.console import Console
from rich.segment import Segment
from test_render import LOG, NOW, render, store_of

from detr_watch import memo
from detr_watch.formats import detr_json
from detr_watch.logs import Log
from detr_watch.records import EPOCH, ITER, Record
from detr_watch.render import layout, table
from detr_watch.render.chart import Lines
from detr_watch.render.dashboard import Dashboard, table_names
from detr_watch.render.table import Content, MetricsTable, MultiTable, _Head, _Row, _TextLines
from detr_watch.store import SeriesData, SeriesStore, Snapshot
from detr_watch.view import View


def _console(width: int = 160, height: int = 48) -> Console:
    return Console(
        file=io.StringIO(),
        width=width,
        height=height,
        force_terminal=True,
        color_system="256",
        legacy_windows=False,
    )


def _store() -> SeriesStore:
    return store_of(detr_json.create().feed((DATA / LOG).read_bytes().splitlines()))


def _fresh(console: Console, tab: table._Lines, width: int, height: int, justify: object = None) -> Lines:
    """The table as rich renders it, without any cache (`__rich_console__` draws Texts)."""
    options = console.options.update(height=height, justify=justify)  # type: ignore[arg-type]
    return layout.block(console, options, tab, width, height)


def _cached(console: Console, tab: table._Lines, width: int, height: int, justify: object = None) -> Lines:
    options = console.options.update(height=height, justify=justify)  # type: ignore[arg-type]
    return tab.render_lines(console, options, width, height)


def _same(console: Console, tab: table._Lines, width: int, height: int, justify: object = None) -> None:
    fresh = _fresh(console, tab, width, height, justify)
    cached = _cached(console, tab, width, height, justify)
    print(repr(fresh))
    assert cached == fresh
    assert len(cached) == height and all(Segment.get_line_length(line) == width for line in cached)


def _bump(store: SeriesStore, prefix: str, k: int, factor: float) -> None:
    """A record of the series starting with `prefix`, their values moved by `factor`."""
    last = store.snapshot().last_record
    assert last is not None
    metrics = {n: v * factor for n, v in last.metrics.items() if n.startswith(prefix)}
    store.append([last._replace(step=last.step + k, metrics=metrics)], NOW)


def test_the_cached_table_is_the_fresh_table_through_records_views_and_sizes() -> None:
    store = _store()
    console = _console()
    sizes = [(57, 46), (57, 46), (100, 12), (60, 5), (30, 8), (9, 4), (1, 3), (57, 1), (200, 46)]
    views = [View(), View(ascii=True), View(trend_window=3), View(metrics=("*loss*",))]
    for k in range(1, 5):
        _bump(store, "train_" if k % 2 else "test_", k, 1 + 0.37 * k)
        snap = store.snapshot()
        for view in views:
            names = table_names((Log("", snap),), view)
            for width, height in sizes:
                _same(console, MetricsTable(names, snap, view), width, height)


def test_a_record_with_a_nan_and_a_huge_value_is_drawn_as_rich_draws_it() -> None:
    store = _store()
    console = _console()
    snap = store.snapshot()
    names = table_names((Log("", snap),), View())
    _same(console, MetricsTable(names, snap, View()), 57, 30)
    # new widths of the value columns: every line moves, and a non-finite value turns bold red
    _bump(store, "train_loss", 1, math.nan)
    _bump(store, "train_class_error", 2, 1e9)
    snap = store.snapshot()
    out = _cached(console, MetricsTable(names, snap, View()), 57, 30)
    assert out == _fresh(console, MetricsTable(names, snap, View()), 57, 30)
    assert any(seg.text.strip() == "nan" and seg.style and seg.style.bold for line in out for seg in line)


def test_the_table_of_several_logs_is_the_fresh_one() -> None:
    a, b = _store(), _store()
    console = _console()
    for k in range(1, 4):
        _bump(a, "train_", k, 0.5 + 0.3 * k)
        board = (Log("run-a", a.snapshot()), Log("a\x1b[31mlong log label", b.snapshot()))
        names = table_names(board, View())
        for width, height in [(70, 46), (70, 46), (40, 9), (160, 20)]:
            _same(console, MultiTable(names, board, View()), width, height)
            _same(console, MultiTable(names, board, View(ascii=True)), width, height)


def test_a_justified_console_is_drawn_as_rich_draws_it() -> None:
    # a justify in the options moves the text of a line short of the width ("... N more"): the
    # lines drawn under one justify are not reused under another
    store = _store()
    console = _console()
    snap = store.snapshot()
    names = table_names((Log("", snap),), View())
    for justify in ["left", "right", "center", "full", None]:
        _same(console, MetricsTable(names, snap, View()), 57, 20, justify)


def test_a_repaint_draws_no_line_and_a_record_only_the_lines_it_changed() -> None:
    store = _store()
    console = _console()
    snap = store.snapshot()
    names = table_names((Log("", snap),), View())
    _cached(console, MetricsTable(names, snap, View()), 57, 46)
    before = table.render_stats()
    # the clock ticking or a key press: a new table over the same snapshot
    again = _cached(console, MetricsTable(names, snap, View(help=True)), 57, 46)
    after = table.render_stats()
    assert after["reused"] == before["reused"] + 1
    assert after["lines"] == before["lines"]
    # one series' record: its line only (the value columns keep their widths)
    last = snap.last_record
    assert last is not None
    store.append(
        [last._replace(step=last.step + 1, metrics={"test_loss": last.metrics["test_loss"] * 0.9})], NOW
    )
    out = _cached(console, MetricsTable(names, store.snapshot(), View()), 57, 46)
    changed = [i for i, (x, y) in enumerate(zip(again, out)) if x != y]
    drawn = table.render_stats()["lines"] - after["lines"]
    print(changed, drawn)
    assert 1 <= drawn <= len(changed) + 1
    assert out == _fresh(console, MetricsTable(names, store.snapshot(), View()), 57, 46)
    # a resize draws every line again
    _cached(console, MetricsTable(names, store.snapshot(), View()), 58, 46)
    assert table.render_stats()["lines"] - after["lines"] >= drawn + len(names[:44])


def test_a_dashboard_frame_later_in_time_reuses_the_table() -> None:
    # nothing in the table depends on the clock: "N ago" ticking redraws no line of it
    store = _store()
    console = _console()
    snap = store.snapshot()
    view = View(title=LOG)
    console.print(Dashboard(snap, view, NOW), height=48, crop=True)
    before = table.render_stats()
    console.print(Dashboard(snap, view, NOW + 61.0), height=48, crop=True)
    after = table.render_stats()
    assert after["frames"] == before["frames"] + 1 and after["reused"] == before["reused"] + 1
    assert after["lines"] == before["lines"]


def test_a_dashboard_after_records_is_the_dashboard_drawn_from_scratch() -> None:
    store = _store()
    console = Console(file=io.StringIO(), width=160, height=48, color_system="truecolor", force_terminal=True)
    view = View(title=LOG)
    for k in range(1, 4):
        _bump(store, "train_", k, 1 + 0.2 * k)
        for width in (160, 100):  # the table beside the charts, then under them
            console.file = io.StringIO()
            console.width = width
            console.print(Dashboard(store.snapshot(), view, NOW), height=48, crop=True)
            out = console.file.getvalue()
            assert out == render(Dashboard(store.snapshot(), view, NOW), width, 48, color=True)


NAMES = [
    "train_loss",
    "test_coco_eval_bbox/AP50",
    "x" * 70,
    "ünïcödé_loss",
    "損失_loss",
    "e\u0301_loss",
    "a…b",
]
CELLS = ["0.4203", "+0.0123 ↑", "-1.20e-05 ↓", "0 →", "", "-", "nan", "12.345 @11926", "1.00e-04"]
STYLES = ["", "dim", "bold red", "bold"]


@pytest.mark.parametrize("seed", range(4))
def test_lines_built_directly_are_the_lines_rich_renders(seed: int) -> None:
    rng = random.Random(seed)
    console = _console()
    options = console.options
    direct = 0
    for _ in range(300):
        name = rng.choice(NAMES)
        cells = tuple((rng.choice(CELLS), rng.choice(STYLES)) for _ in range(rng.randint(1, 4)))
        content = Content(("series",) + ("h",) * len(cells), (name,), 1, (cells,), rng.random() < 0.3)
        width = rng.choice([1, 5, 9, 20, 33, 57, 80])
        keys = table._line_keys(width, 3, content)
        widths = keys[0].widths  # type: ignore[union-attr]
        # widths of the value columns as another frame's cells may have made them
        if rng.random() < 0.5:
            widths = tuple(w + rng.randint(0, 3) for w in widths)
        name_w = max(8, width - sum(widths) - len(widths)) if rng.random() < 0.8 else rng.randint(1, 12)
        for key in (
            _Head(content.headers, widths, name_w, width),
            _Row(name, cells, widths, name_w, width, False),
        ):
            rich_lines = console.render_lines(_TextLines([key.text()]), options.update_dimensions(width, 1))
            built = key.segments(console)
            if built is not None:
                direct += 1
                assert [list(built)] == rich_lines, (key, built, rich_lines)
            else:
                assert not all(table._one_cell(t) for t in (name, *(c for c, _ in cells)))
    assert direct > 300  # the direct path was taken, not only the fallback


# --- rows kept across snapshots -------------------------------------------------------------------


def _fresh_row(s: SeriesData, snap: Snapshot, window: int) -> table.Row:
    """`row` of copies of the series' arrays: nothing kept for the store's arrays applies to them."""
    copy = SeriesData(s.name, s.axis, *(a.copy() for a in (s.steps, s.values, s.runs, s.times, s.epochs)))
    return table.row(copy, snap, window)


def _records(rng: random.Random, n: int) -> list[list[Record]]:
    """Appends of a made-up log: iteration losses, an evaluation every so often, an epoch series,
    NaN, restarts (which move every row's cut), a series that appears late, several records at once."""
    out: list[list[Record]] = []
    run, step = 0, 0.0
    for k in range(n):
        if rng.random() < 0.04 and k > 10:
            run += 1
            step = max(0.0, step - rng.choice([0.0, 5.0, 30.0]))
        loss = 2.0 / (1 + 0.05 * k) * (1 + 0.1 * rng.random())
        metrics = {"train_loss": loss, "train_loss_ce": math.nan if rng.random() < 0.05 else loss / 3}
        if k > n // 2:
            metrics["train_loss_giou"] = 0.5 + 0.01 * rng.random()
        block = [Record(step, metrics, run, ITER)]
        if rng.random() < 0.2:
            block.append(
                Record(step, {"test_coco_eval_bbox/AP": min(0.4, 0.01 * k), "test_loss": loss}, run, ITER)
            )
        if rng.random() < 0.1:
            block.append(Record(float(k // 10), {"train_lr": 1e-4 * rng.random()}, run, EPOCH))
        out.append(block if rng.random() < 0.7 else block[:1])
        step += 1.0
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_rows_are_the_rows_of_the_whole_history_record_by_record(seed: int) -> None:
    memo.clear()
    rng = random.Random(seed)
    store = SeriesStore()
    olds: list[Snapshot] = []
    for block in _records(rng, 150):
        store.append(block, NOW)
        snap = store.snapshot()
        names = sorted(snap.series)
        for window in (3, 20):
            want = [_fresh_row(snap.series[name], snap, window) for name in names]
            print(snap.version, window)
            assert table.rows(snap, names, window) == want
            assert [table.cached_row(snap.series[name], snap, window) for name in names] == want
        olds.append(snap)
    # a paused view asks about older snapshots of the same arrays
    for snap in olds[-30::7]:
        names = sorted(snap.series)
        assert table.rows(snap, names, 20) == [_fresh_row(snap.series[n], snap, 20) for n in names]


def _counted_rows(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names whose row is computed (the real `row` still runs)."""
    computed: list[str] = []
    real = table.row

    def counted(series: SeriesData, snapshot: Snapshot, window: int) -> table.Row:
        computed.append(series.name)
        return real(series, snapshot, window)

    monkeypatch.setattr(table, "row", counted)
    return computed


def test_a_record_computes_the_rows_of_its_series_only(monkeypatch: pytest.MonkeyPatch) -> None:
    memo.clear()
    store = _store()
    names = sorted(store.snapshot().series)
    table.rows(store.snapshot(), names, 20)
    computed = _counted_rows(monkeypatch)
    starts: list[str] = []
    real_starts = table.run_starts
    monkeypatch.setattr(
        table, "run_starts", lambda snap, axis: starts.append(axis) or real_starts(snap, axis)
    )
    last = store.snapshot().last_record
    assert last is not None
    _bump(store, "test_", 1, 1.1)
    snap = store.snapshot()
    got = table.rows(snap, names, 20)
    print(computed, starts)
    assert computed and sorted(computed) == sorted(n for n in names if n.startswith("test_"))
    # the run starts: once per axis for the table, once for each row computed
    assert len(starts) == len({snap.series[n].axis for n in names}) + len(computed)
    assert got == [_fresh_row(snap.series[n], snap, 20) for n in names]
    # a repaint of the same snapshot, and a record of the others: nothing of the first again
    computed.clear()
    assert table.rows(snap, names, 20) is got and computed == []
    train = {n: v * 0.9 for n, v in last.metrics.items() if n.startswith("train_")}
    store.append([last._replace(step=last.step + 2, metrics=train)], NOW)
    table.rows(store.snapshot(), names, 20)
    assert sorted(computed) == sorted(n for n in names if n.startswith("train_"))


def test_a_restart_computes_every_row_of_its_axis_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # the cut of each row depends on the runs of the whole log, not only the series' own points
    memo.clear()
    store = SeriesStore()
    for k in range(30):
        store.append([Record(float(k), {"train_loss": 1.0 / (k + 1)}, 0, ITER)], NOW)
        store.append([Record(float(k), {"test_loss": 2.0 / (k + 1)}, 0, ITER)], NOW)
    names = ["test_loss", "train_loss"]
    table.rows(store.snapshot(), names, 5)
    computed = _counted_rows(monkeypatch)
    store.append([Record(10.0, {"train_loss": 0.5}, 1, ITER)], NOW)  # run 1 overwrites steps 10 on
    snap = store.snapshot()
    got = table.rows(snap, names, 5)
    assert sorted(computed) == names
    assert got == [_fresh_row(snap.series[n], snap, 5) for n in names]
    # test_loss is cut at run 1's first step too, though run 1 wrote none of it yet
    assert got[0].best == "0.2000 @9"
