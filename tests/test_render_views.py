"""Golden screens of each view at fixed sizes, and the behaviour behind them: runs as separate curves,
overlaid logs, smoothing with the raw curve beneath, log-y, outliers, zoom, x as time, the filter, pages,
the DETR panels, the help box, and exact sizes from 60x16 to very wide.

`DETR_WATCH_UPDATE_GOLDEN=1 pytest tests/test_render_views.py` rewrites tests/golden/view_*.txt; the
README shows some of them, and `test_readme_captures_are_the_golden_screens` keeps it current.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA
from test_render import ARRIVED, NOW, assert_shape, check_golden, render

from detr_watch import memo
from detr_watch.commands.common import load
from detr_watch.logs import Log
from detr_watch.pipeline import Source
from detr_watch.records import EPOCH, ITER, Record
from detr_watch.render.chart import EARLIER_RUN, FAINT, Chart
from detr_watch.render.dashboard import Dashboard, chart_defs
from detr_watch.store import SeriesStore, Snapshot
from detr_watch.view import View

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
MOQIXIS = "detr_logtxt_Moqixis_object_detection_detr.txt"  # DETR log.txt, restarted after epoch 4
CONDITIONAL = "conditional_detr_swin_logtxt_Gaw4Gura.txt"  # 50 epochs, aux decoder layers
DINO = "dino_logtxt_ChunTsungHsiao_cvpdl_hw1.txt"  # 24 epochs with time stamps, all COCO stats
CONSOLE = "detr_stdout_FarjadAhmed_default_mha_10ep.txt"  # DETR console: per-iteration losses
RTDETR = "rtdetr_logtxt_Hammer-888_pvt_small_improved_many_restarts.txt"  # 9 runs in one file


def read(name: str) -> Snapshot:
    source = Source(DATA / name)
    store = SeriesStore()
    try:
        load(source, store)
    finally:
        source.close()
    # the age shown is the file's mtime: fix it so the screens do not depend on when the test runs
    return replace(store.snapshot(), last_arrival=ARRIVED)


@pytest.fixture(scope="module")
def snaps() -> dict[str, Snapshot]:
    return {name: read(name) for name in (MOQIXIS, CONDITIONAL, DINO, CONSOLE, RTDETR)}


def once(title: str, **kw: object) -> View:
    kw.setdefault("mode", "once")
    return View(title=title, **kw)  # type: ignore[arg-type]


# --- golden screens of each view -----------------------------------------------------------------

VIEWS = {
    "view_iterations_100x30": (CONSOLE, {}),
    "view_restarts_ignore_outliers_100x30": (RTDETR, {"robust_y": True}),
    "view_losses_100x30": (CONDITIONAL, {"panel": "losses"}),
    "view_layers_100x30": (CONDITIONAL, {"panel": "layers"}),
    "view_coco_100x30": (DINO, {"panel": "coco"}),
    "view_help_100x30": (MOQIXIS, {"help": True, "mode": "live"}),
    "view_filter_log_zoom_80x24": (
        CONSOLE,
        {"metrics": ("loss_ce*",), "log_y": True, "zoom": 2, "x": "epoch"},
    ),
}


@pytest.mark.parametrize("golden", sorted(VIEWS))
def test_view_golden(snaps: dict[str, Snapshot], golden: str) -> None:
    name, options = VIEWS[golden]
    width, height = (int(x) for x in golden.rsplit("_", 1)[1].split("x"))
    out = render(Dashboard(snaps[name], once(name, **options), NOW), width, height)
    check_golden(f"{golden}.txt", out)
    assert_shape(out, width, height)
    assert "cannot draw" not in out


def test_overlay_golden(snaps: dict[str, Snapshot]) -> None:
    board = [Log("r50-finetune", snaps[MOQIXIS]), Log("swin", snaps[CONDITIONAL]), Log("dino", snaps[DINO])]
    out = render(Dashboard(board, once("3 logs"), NOW), 120, 36)
    check_golden("view_overlay_120x36.txt", out)
    assert_shape(out, 120, 36)
    lines = out.split("\n")
    assert lines[2].startswith("Total loss (train)") and "Total loss (test)" in lines[2]
    assert "r50-finetune" in lines[3] and "swin" in lines[3] and "dino" in lines[3]  # the legend
    header = next(line for line in lines if line.startswith("series"))
    assert header.split() == ["series", "r50-finetune", "swin", "dino", "best"]  # a column per log
    row = next(line for line in lines if line.startswith("test_coco_eval_bbox/AP "))
    assert row.split()[-2:] == ["0.7597", "r50-finetune@1"]  # which run is better, and where


def test_readme_captures_are_the_golden_screens() -> None:
    """Each capture in the README's live-view section is one of the golden screens, exactly."""
    section = README.split("## The live view", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"<!-- capture: (\S+) -->\n```\n(.*?)```", section, re.S)
    assert len(names) >= 6
    for name, text in names:
        golden = (Path(__file__).parent / "golden" / name).read_text(encoding="utf-8")
        assert text == golden, name


# --- what the screens show -----------------------------------------------------------------------


def test_restarted_runs_are_separate_labelled_curves_with_the_newest_highlighted(
    snaps: dict[str, Snapshot],
) -> None:
    board = (Log("log.txt", snaps[MOQIXIS]),)
    defn = chart_defs(board, View())[0]
    traces, _, _, _, legend = Chart(defn, board, View()).traces()
    colours = [t.color for t in traces]
    # run 1 (epochs 0-4) in grey first, then run 2 in the split colours, drawn over it
    assert colours[:2] == [EARLIER_RUN, EARLIER_RUN] and EARLIER_RUN not in colours[2:]
    assert [t.x.tolist() for t in traces[:1]] == [[0.0, 1.0, 2.0, 3.0, 4.0]]
    assert [e.label for e in legend] == ["train (run 2)", "test (run 2)", "run 1"]
    stitched = Chart(defn, board, View(stitched=True)).traces()
    assert [e.label for e in stitched[4]] == ["train", "test"]  # one history: a later run replaces the
    assert len(stitched[0]) == 2 and stitched[0][0].x.tolist() == [0.0, 1.0]  # steps it repeats


def test_many_runs_share_one_legend_entry(snaps: dict[str, Snapshot]) -> None:
    board = (Log("log.txt", snaps[RTDETR]),)
    defn = chart_defs(board, View())[0]
    legend = Chart(defn, board, View()).traces()[4]
    assert [e.label for e in legend] == ["train (run 9)", "runs 1-8"]


def test_per_iteration_losses_are_smoothed_with_the_raw_curve_faint_beneath(
    snaps: dict[str, Snapshot],
) -> None:
    board = (Log("log.txt", snaps[CONSOLE]),)
    defn = chart_defs(board, View())[0]
    assert defn.title == "Total loss"
    traces = Chart(defn, board, View()).traces()[0]
    raw, smooth = traces[0], traces[1]  # train: the raw points first, faint, then the EMA
    assert raw.color == FAINT[smooth.color] and raw.label is None
    series = snaps[CONSOLE].series["train_loss"]
    from detr_watch.analysis import ema

    np.testing.assert_allclose(smooth.y, ema(series.values, 0.6)[np.isfinite(series.values)])
    # the per-epoch test loss (written once an epoch) is not smoothed, and lr and AP never are
    test = traces[2]
    assert test.y.tolist() == snaps[CONSOLE].series["test_loss"].values.tolist()
    no_raw = Chart(defn, board, View(raw=False)).traces()[0]
    assert FAINT[smooth.color] not in [t.color for t in no_raw]
    ap = next(d for d in chart_defs(board, View()) if d.role == "ap")
    ap_traces = Chart(ap, board, View(smoothing=0.99)).traces()[0]
    assert (
        len(ap_traces) == 1
        and ap_traces[0].y.tolist() == snaps[CONSOLE].series["test_coco_eval_bbox/AP"].values.tolist()
    )


def test_smoothing_weight_changes_the_curve_and_per_epoch_smoothing_is_optional(
    snaps: dict[str, Snapshot],
) -> None:
    board = (Log("log.txt", snaps[CONDITIONAL]),)
    defn = chart_defs(board, View())[0]
    plain = Chart(defn, board, View()).traces()[0]
    assert all(t.color not in FAINT.values() for t in plain)  # per-epoch: not smoothed by default
    smoothed = Chart(defn, board, View(smooth_epochs=True, smoothing=0.9)).traces()[0]
    assert len(smoothed) == 2 * len(plain)  # raw beneath each line
    assert not np.allclose(smoothed[1].y, plain[0].y)


def test_log_scale_never_crashes_on_non_positive_values() -> None:
    records = [
        Record(float(i), {"train_loss": v}, 0, ITER)
        for i, v in enumerate([4.0, 2.0, 0.0, -1.0, 1.0, 0.5, 0.25])
    ]
    store = SeriesStore()
    store.append(records, ARRIVED)
    out = render(Dashboard(store.snapshot(), View(title="log.txt", log_y=True, smoothing=0.0), NOW), 100, 30)
    print(out)
    assert "cannot draw" not in out and "x: iter · log" in out
    board = (Log("log.txt", store.snapshot()),)
    traces = Chart(chart_defs(board, View())[0], board, View(log_y=True, smoothing=0.0)).traces()[0]
    y = traces[0].y
    assert np.isnan(y[2]) and np.isnan(y[3]) and y[4] == 1.0  # gaps, not errors


def test_ignore_outliers_sets_the_y_range_to_the_5th_to_95th_percentile(snaps: dict[str, Snapshot]) -> None:
    board = (Log("log.txt", snaps[RTDETR]),)
    defn = chart_defs(board, View())[0]
    _, axes, _, notes, _ = Chart(defn, board, View(robust_y=True)).traces()
    assert notes == "5-95%" and axes.ylim is not None
    assert axes.ylim[1] < 100  # the 31648 blow-up of an early run is off the scale
    full = render(Dashboard(snaps[RTDETR], once("rt"), NOW), 100, 30)
    assert "31648" in full


def test_zoom_shows_the_last_part_and_keeps_smoothed_values(snaps: dict[str, Snapshot]) -> None:
    board = (Log("log.txt", snaps[CONSOLE]),)
    defn = chart_defs(board, View())[0]
    whole = Chart(defn, board, View()).traces()[0]
    zoomed, _, _, notes, _ = Chart(defn, board, View(zoom=2)).traces()
    assert notes == "last 200"  # 1280 iterations / 4 = 320, rounded down to 200
    assert zoomed[1].x.min() >= 1280 - 200
    n = zoomed[1].x.shape[0]
    np.testing.assert_array_equal(zoomed[1].y, whole[1].y[-n:])  # smoothing is over the whole run


def test_x_as_epoch_and_as_time(snaps: dict[str, Snapshot]) -> None:
    board = (Log("log.txt", snaps[CONSOLE]),)
    defn = chart_defs(board, View())[0]
    _, _, unit, _, _ = Chart(defn, board, View(x="epoch")).traces()
    assert unit == "epoch"
    dino = (Log("log.txt", snaps[DINO]),)
    traces, _, unit, _, _ = Chart(chart_defs(dino, View())[0], dino, View(x="time")).traces()
    assert unit == "hours" and traces[0].x[0] >= 0 and traces[0].x[-1] < 24  # 24 epochs in some hours
    out = render(Dashboard(snaps[MOQIXIS], once("m", x="time"), NOW), 100, 30)
    assert "x: epoch" in out  # no time stamps in this log: x stays what it was, and says so


def test_the_filter_picks_charts_and_rows(snaps: dict[str, Snapshot]) -> None:
    board = (Log("log.txt", snaps[CONDITIONAL]),)
    titles = [d.title for d in chart_defs(board, View(metrics=("loss_giou*",)))]
    assert titles[0] == "GIoU loss (unscaled)"
    assert "loss_giou_3" in titles and "Total loss" not in titles  # aux copies get charts when asked
    out = render(Dashboard(snaps[CONDITIONAL], once("c", metrics=("loss_giou*",)), NOW), 100, 30)
    assert "filter loss_giou*" in out
    rows = [line.split()[0] for line in out.split("────")[-1].split("\n") if line.strip()]
    assert rows and all("giou" in r for r in rows if not r.startswith("...")), rows


def test_pages_go_round(snaps: dict[str, Snapshot]) -> None:
    dash = Dashboard(snaps[MOQIXIS], once("m"), NOW)
    assert dash.pages(100, 30) == (0, 3)
    first = render(dash, 100, 30)
    second = render(Dashboard(snaps[MOQIXIS], once("m", page=1), NOW), 100, 30)
    last = render(Dashboard(snaps[MOQIXIS], once("m", page=-1), NOW), 100, 30)
    assert "page 1/3" in first and "page 2/3" in second and "page 3/3" in last
    assert "Classification loss" in first and "Classification loss" not in second
    assert render(Dashboard(snaps[MOQIXIS], once("m", page=3), NOW), 100, 30) == first


def test_status_line_progress_eta_and_alerts() -> None:
    records = [
        Record(float(e), {"train_loss": 5.0 - 0.1 * e}, 0, EPOCH, time=1000.0 + 3600.0 * e) for e in range(37)
    ]
    store = SeriesStore()
    store.append(records, ARRIVED)
    store.set_meta("interval", "3600")
    snap = store.snapshot()
    out = render(Dashboard(snap, once("log.txt", epochs=300), ARRIVED + 12), 120, 30).split("\n")
    assert "epoch 36/300 · ETA 10d 23h · 1h 00m/epoch · last record 12s ago" in out[0]
    quiet = render(Dashboard(snap, once("log.txt"), ARRIVED + 6 * 3600), 120, 30).split("\n")
    assert quiet[1].startswith("quiet: no new record for 6h 00m (usually every 1h 00m)")


def test_loading_progress_from_the_store_meta() -> None:
    store = SeriesStore()
    store.append([Record(0.0, {"train_loss": 1.0}, 0, EPOCH)], ARRIVED)
    store.set_meta("loading", "37%")
    out = render(Dashboard(store.snapshot(), once("big.txt"), NOW), 100, 30)
    assert "loading 37%" in out.split("\n")[0]
    store.set_meta("loading", "")
    store.set_meta("partial", "last 4.0 MB of 300 MB")
    out = render(Dashboard(store.snapshot(), once("big.txt"), NOW), 100, 30)
    assert "loading" not in out and "last 4.0 MB of 300 MB" in out.split("\n")[0]


def test_panels_say_what_is_missing() -> None:
    store = SeriesStore()
    store.append([Record(float(i), {"lr": 1e-4, "time": 0.5}, 0, ITER) for i in range(3)], ARRIVED)
    snap = store.snapshot()
    for panel, words in (
        ("losses", "no loss components"),
        ("layers", "no per-decoder-layer losses"),
        ("coco", "no COCO evaluation"),
    ):
        out = render(Dashboard(snap, once("x", panel=panel), NOW), 100, 30)
        assert words in out, panel


@pytest.mark.parametrize("panel", ["charts", "losses", "layers", "coco"])
@pytest.mark.parametrize(("width", "height"), [(60, 16), (80, 24), (129, 40), (130, 40), (250, 80)])
def test_every_panel_fills_exactly_the_size_given(
    snaps: dict[str, Snapshot], panel: str, width: int, height: int
) -> None:
    board = [Log("a", snaps[CONDITIONAL]), Log("b", snaps[DINO])]
    for logs in (snaps[DINO], board):
        out = render(
            Dashboard(logs, View(title="t", panel=panel, help=panel == "charts"), NOW), width, height
        )
        assert_shape(out, width, height)
        assert "cannot draw" not in out


def test_help_box_lists_every_key_and_fits_80x24(snaps: dict[str, Snapshot]) -> None:
    from detr_watch.keys import HELP

    out = render(Dashboard(snaps[MOQIXIS], View(title="m", help=True), NOW), 80, 24)
    assert_shape(out, 80, 24)
    for _, what in HELP:
        assert what in out, what
    ascii_out = render(Dashboard(snaps[MOQIXIS], View(title="m", help=True, ascii=True), NOW), 80, 24)
    assert ascii_out.isascii() and "+ keys ---" in ascii_out


def test_colours_raw_faint_and_earlier_runs_grey(snaps: dict[str, Snapshot]) -> None:
    out = render(Dashboard(snaps[CONSOLE], once("c"), NOW), 120, 40, color=True)
    assert "38;5;37m" in out and "38;5;23m" in out  # cyan train line, faint cyan raw points
    restarted = render(Dashboard(snaps[MOQIXIS], once("m"), NOW), 120, 40, color=True)
    assert "38;5;244m" in restarted


def test_a_chart_is_drawn_once_per_snapshot_and_size(snaps: dict[str, Snapshot]) -> None:
    from detr_watch.render import plot

    memo.clear()
    before = plot.cache_stats()["builds"]
    render(Dashboard(snaps[CONSOLE], View(title="c"), NOW), 120, 40)
    built = plot.cache_stats()["builds"] - before
    for _ in range(5):
        render(Dashboard(snaps[CONSOLE], View(title="c", paused=True), NOW + 60), 120, 40)
    assert plot.cache_stats()["builds"] - before == built  # the clock and pause do not redraw charts
    render(Dashboard(snaps[CONSOLE], View(title="c", log_y=True), NOW), 120, 40)
    assert plot.cache_stats()["builds"] - before == 2 * built  # an option that changes them does


def test_a_one_point_spike_in_a_long_history_is_on_the_chart() -> None:
    values = np.full(200_000, 1.0)
    values[123_457] = 50.0  # one iteration out of 200k: striding would drop it
    store = SeriesStore()
    store.append([Record(float(i), {"loss": float(v)}, 0, ITER) for i, v in enumerate(values)], ARRIVED)
    out = render(Dashboard(store.snapshot(), once("x", smoothing=0.0), NOW), 100, 30)
    axis_top = next(line for line in out.split("\n") if "┤" in line)
    assert axis_top.split("┤")[0].strip() == "50.0"


def test_readme_lists_every_key() -> None:
    from detr_watch.keys import HELP

    section = README.split("## The live view", 1)[1].split("\n## ", 1)[0]
    for keys, what in HELP:
        assert f"| {' '.join(f'`{k}`' for k in keys.split())} | {what} |" in section, keys


def test_log_scale_per_chart_and_the_cursor(snaps: dict[str, Snapshot]) -> None:
    view = once("m", focus=1, log_charts=frozenset({"Box AP@[.5:.95]"}))
    dash = Dashboard(snaps[MOQIXIS], view, NOW)
    assert dash.focused_title(100, 30) == "Box AP@[.5:.95]"
    assert (
        Dashboard(snaps[MOQIXIS], replace(view, focus=-1), NOW).focused_title(100, 30)
        == "L1 box loss (unscaled)"
    )
    lines = render(dash, 100, 30).split("\n")
    assert "x: epoch · log" in lines[2] and lines[2].count("log") == 1  # only the AP chart
    assert "log y on 1" in lines[1]
    coloured = render(dash, 100, 30, color=True)
    assert "\x1b[1;7mBox AP@[.5:.95]" in coloured  # the chart under the cursor: reversed title
    ascii_lines = render(Dashboard(snaps[MOQIXIS], replace(view, ascii=True), NOW), 100, 30).split("\n")
    assert "> Box AP@[.5:.95]" in ascii_lines[2]
    assert Dashboard(snaps[MOQIXIS], once("m"), NOW).focused_title(100, 30) is None


def test_markers_tell_lines_apart_only_without_colour(snaps: dict[str, Snapshot]) -> None:
    board = (Log("log.txt", snaps[CONDITIONAL]),)
    defn = next(d for d in chart_defs(board, View(panel="charts")) if d.role == "total")
    plain = Chart(defn, board, View()).traces(plain=True)[0]
    coloured = Chart(defn, board, View()).traces(plain=False)[0]
    assert [t.marker for t in plain] == ["braille", "hd"]  # train, test
    assert [t.marker for t in coloured] == ["braille", "braille"]  # the colour tells them apart
    assert [t.marker for t in Chart(defn, board, View(ascii=True)).traces(plain=False)[0]] == ["*", "o"]


def test_outlier_range_clips_far_spikes_and_works_on_a_log_scale() -> None:
    from detr_watch.render import plot

    x = np.arange(100.0)
    y = np.ones(100) + np.arange(100) / 1000
    y[50] = 1e30  # a blow-up far beyond the range: drawn at the edge (plotext would take minutes)
    linear = plot.plot([plot.Trace(x, y, None, 37, "braille")], 60, 12, axes=plot.Axes(False, (0.9, 1.2)))
    assert linear.split("\n")[1].startswith("1.200┤")
    log = plot.plot([plot.Trace(x, y, None, 37, "braille")], 60, 12, axes=plot.Axes(True, (0.9, 1.2)))
    assert log.split("\n")[1].startswith("1.200┤")  # limits in data units, whatever the scale


def test_every_option_together_on_every_panel(snaps: dict[str, Snapshot]) -> None:
    options = {"log_y": True, "robust_y": True, "x": "time", "zoom": 3, "smooth_epochs": True}
    for name in (CONDITIONAL, DINO, RTDETR, CONSOLE):
        for panel in ("charts", "losses", "layers", "coco"):
            out = render(Dashboard(snaps[name], once(name, panel=panel, **options), NOW), 250, 80)
            assert "cannot draw" not in out, (name, panel)
