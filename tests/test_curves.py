"""Curves as the charts derive them, on tiny arrays with hand-computed results; plus the new core modules'
import rules (standard library and numpy only)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_layering import CORE_THIRD_PARTY, _modules

from detr_watch import curves
from detr_watch.analysis import ema
from detr_watch.analysis import stitch as analysis_stitch
from detr_watch.records import ITER, Record
from detr_watch.roles import smoothable
from detr_watch.store import SeriesData, SeriesStore

NAN = math.nan


def series(
    values: list[float],
    steps: list[float] | None = None,
    runs: list[int] | None = None,
    axis: str = ITER,
    times: list[float] | None = None,
    epochs: list[float] | None = None,
) -> SeriesData:
    n = len(values)
    return SeriesData(
        "train_loss",
        axis,
        np.asarray(steps if steps is not None else range(n), dtype=float),
        np.asarray(values, dtype=float),
        np.asarray(runs if runs is not None else [0] * n, dtype=np.int32),
        np.asarray(times if times is not None else [NAN] * n, dtype=float),
        np.asarray(epochs if epochs is not None else [NAN] * n, dtype=float),
    )


def test_new_core_modules_need_only_stdlib_and_numpy() -> None:
    import sys

    mine = ("curves.py", "alerts.py", "progress.py", "breakdown.py", "logs.py", "view.py")
    allowed = set(sys.stdlib_module_names) | CORE_THIRD_PARTY | {"detr_watch", "__future__"}
    offenders = [
        (rel, sorted(names - allowed)) for rel, names in _modules() if rel in mine and names - allowed
    ]
    assert not offenders, offenders


def test_each_run_is_a_curve_of_its_own() -> None:
    s = series([5.0, 4.0, 3.0, 6.0, 5.0], steps=[0, 1, 2, 0, 1], runs=[0, 0, 0, 1, 1])
    got, unit = curves.curves(s)
    assert unit == ITER
    assert [(c.run, c.x.tolist(), c.y.tolist()) for c in got] == [
        (0, [0.0, 1.0, 2.0], [5.0, 4.0, 3.0]),
        (1, [0.0, 1.0], [6.0, 5.0]),
    ]
    assert all(c.raw is None for c in got)


def test_stitched_history_drops_what_a_restart_overwrote() -> None:
    s = series([5.0, 4.0, 3.0, 6.0, 5.0], steps=[0, 1, 2, 1, 2], runs=[0, 0, 0, 1, 1])
    got, _ = curves.curves(s, stitched=True)
    assert [(c.run, c.x.tolist(), c.y.tolist()) for c in got] == [
        (curves.STITCHED, [0.0, 1.0, 2.0], [5.0, 6.0, 5.0])
    ]


def test_each_run_is_smoothed_on_its_own_and_the_raw_points_are_kept() -> None:
    # w = 0.5 on [1, 3]: 1, then (0.25 + 1.5) / 0.75 = 7/3; the second run starts over at 10
    s = series([1.0, 3.0, 10.0], steps=[0, 1, 0], runs=[0, 0, 1])
    got, _ = curves.curves(s, smoothing=0.5)
    assert got[0].y.tolist() == pytest.approx([1.0, 7 / 3])
    assert got[0].raw is not None and got[0].raw.tolist() == [1.0, 3.0]
    assert got[1].y.tolist() == [10.0]


def test_smoothing_is_capped_below_one() -> None:
    # ema(weight=1) is all zeros by the spec; the live view never goes past MAX_SMOOTHING
    s = series([1.0, 3.0, 5.0])
    got, _ = curves.curves(s, smoothing=1.0)
    assert got[0].y.tolist() == pytest.approx(ema([1.0, 3.0, 5.0], curves.MAX_SMOOTHING).tolist())
    assert np.all(got[0].y > 0)


def test_nonfinite_points_are_dropped_after_smoothing() -> None:
    s = series([1.0, NAN, 3.0, math.inf])
    got, _ = curves.curves(s, smoothing=0.5)
    assert got[0].x.tolist() == [0.0, 2.0]
    assert got[0].y.tolist() == pytest.approx([1.0, 7 / 3])  # NaN and Inf were not accumulated


def test_zoom_crops_after_smoothing_so_values_do_not_change() -> None:
    s = series([4.0, 2.0, 6.0, 1.0, 5.0])
    whole, _ = curves.curves(s, smoothing=0.6)
    cropped = curves.crop(whole[0], 3.0)
    assert cropped.x.tolist() == [3.0, 4.0]
    assert cropped.y.tolist() == whole[0].y[3:].tolist()
    assert cropped.raw is not None and cropped.raw.tolist() == [1.0, 5.0]


def test_x_as_epoch_uses_the_fractional_epochs_and_falls_back_to_steps() -> None:
    s = series([1.0, 2.0, 3.0], steps=[0, 50, 100], epochs=[0.0, 0.5, 1.0])
    x, unit = curves.x_values(s, "epoch", NAN)
    assert (x.tolist(), unit) == ([0.0, 0.5, 1.0], "epoch")
    x, unit = curves.x_values(series([1.0, 2.0]), "epoch", NAN)
    assert (x.tolist(), unit) == ([0.0, 1.0], ITER)  # no epochs in this log: the chart says iter


def test_x_as_time_is_hours_since_the_first_time_stamp() -> None:
    s = series([1.0, 2.0, 3.0], times=[1000.0, 1000.0 + 1800, 1000.0 + 7200])
    assert curves.first_time([s]) == 1000.0
    x, unit = curves.x_values(s, "time", 1000.0)
    assert (x.tolist(), unit) == ([0.0, 0.5, 2.0], "hours")
    x, unit = curves.x_values(series([1.0]), "time", NAN)
    assert unit == ITER  # no time stamps: x stays the step
    assert math.isnan(curves.first_time([series([1.0])]))


def test_per_epoch_series() -> None:
    assert curves.per_epoch(series([1.0], axis="epoch"))
    assert curves.per_epoch(series([1.0, 2.0], steps=[128, 256], epochs=[1.0, 2.0]))  # eval after an epoch
    assert not curves.per_epoch(series([1.0, 2.0], steps=[10, 20], epochs=[0.1, 0.2]))
    assert not curves.per_epoch(series([1.0, 2.0]))


def test_zoom_window_halves_and_rounds_down_to_1_2_5() -> None:
    assert [curves.zoom_window(0, 499, k) for k in range(8)] == [None, 200, 100, 50, 20, 10, 5, 2]
    assert curves.zoom_window(3, 3, 2) is None
    assert [curves.nice_floor(x) for x in (0.37, 1.0, 1.9, 2.0, 4.99, 7.0, 120.0)] == [
        0.2,
        1.0,
        1.0,
        2.0,
        2.0,
        5.0,
        100.0,
    ]


def test_log_scale_makes_non_positive_values_gaps() -> None:
    y = np.array([1.0, 0.0, -2.0, 3.0])
    out = curves.log_gaps(y)
    assert out[0] == 1.0 and math.isnan(out[1]) and math.isnan(out[2]) and out[3] == 3.0
    assert y[1] == 0.0  # the input is left alone
    positive = np.array([1.0, 2.0])
    assert curves.log_gaps(positive) is positive


def test_robust_range_is_the_5th_to_95th_percentile_with_a_margin() -> None:
    # 0..100: percentiles 5 and 95 are 5 and 95; 5% of 90 = 4.5 either side; the spike is off the scale
    values = np.arange(101.0)
    values[50] = 1e6
    lo, hi = curves.robust_range([values, np.array([NAN])])  # type: ignore[misc]
    assert (lo, hi) == pytest.approx((5.0 - 4.5, 95.0 + 4.5 + 0.45), abs=1.0)
    assert hi < 1000
    assert curves.robust_range([np.array([2.0, 2.0])]) is None  # nothing to spread
    assert curves.robust_range([np.array([1.0])]) is None
    # on a log scale the margin is in decades, and non-positive values do not count
    lo, hi = curves.robust_range([np.array([0.0, -1.0] + [10.0**k for k in range(-4, 5)])], log=True)  # type: ignore[misc]
    assert 1e-4 < lo < 1e-3 and 1e3 < hi < 1e4


def test_smoothable_never_lr_or_ap() -> None:
    assert smoothable("train_loss") and smoothable("train_class_error") and smoothable("loss_cls_3")
    for name in (
        "train_lr",
        "lr",
        "lr/pg1",
        "test_coco_eval_bbox/AP",
        "metrics/mAP50(B)",
        "bbox/AP50",
        "val_AR_1",
    ):
        assert not smoothable(name), name


def test_first_time_from_a_store() -> None:
    store = SeriesStore()
    store.append([Record(1, {"a": 1.0}, axis=ITER, time=50.0), Record(2, {"b": 1.0}, axis=ITER, time=20.0)])
    assert curves.first_time(list(store.snapshot().series.values())) == 20.0


@pytest.mark.parametrize("stitched", [False, True])
def test_smoothed_curves_of_a_growing_store_equal_smoothing_the_whole(stitched: bool) -> None:
    from detr_watch import memo

    memo.clear()
    store = SeriesStore()
    rng = np.random.default_rng(7)
    step = 0
    for k in range(40):
        run = 0 if k < 25 else 1  # a restart at k = 25 goes back 300 steps
        if k == 25:
            step -= 300
        records = []
        for _ in range(int(rng.integers(1, 200))):
            step += 1
            loss = NAN if rng.random() < 0.01 else float(rng.normal(2.0, 0.5))
            records.append(Record(step=float(step), axis=ITER, run=run, metrics={"train_loss": loss}))
        store.append(records)
        snap = store.snapshot()
        s = snap.series["train_loss"]
        starts = {r.run: r.first_step for r in snap.runs}
        got, _ = curves.curves(s, smoothing=0.9, stitched=stitched, run_starts=starts)
        if stitched:
            keep = analysis_stitch(s.steps, s.runs, starts)
            raws = [s.values[keep]]
        else:
            raws = [s.values[s.runs == r] for r in sorted(set(s.runs.tolist()))]
        for c, raw in zip(got, raws, strict=True):
            y = ema(raw, 0.9)
            assert c.y.tobytes() == y[np.isfinite(y)].tobytes()
    assert memo.stats()["computed"] > 0


def test_long_curves_are_drawn_from_their_bins_kept_over_new_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """A growing store's long curve compacts to the bins of all its points, updated record by record;
    a stitched curve or a short one is drawn whole."""
    from detr_watch import memo
    from detr_watch.analysis import bins_points, bins_state

    memo.clear()
    whole = []  # curves binned from their first point (counted; the real function runs)

    def counted(x: np.ndarray, y: np.ndarray) -> object:
        whole.append(len(x))
        return bins_state(x, y)

    monkeypatch.setattr(curves, "bins_state", counted)
    store = SeriesStore()
    rng = np.random.default_rng(3)
    step = 0
    computed = []
    for k in range(12):
        records = []
        for _ in range(4000 if k < 6 else int(rng.integers(1, 3))):
            step += 10
            records.append(
                Record(step=float(step), axis=ITER, run=0, metrics={"train_loss": float(rng.normal(2, 0.5))})
            )
        store.append(records)
        s = store.snapshot().series["train_loss"]
        (c,), _ = curves.curves(s, smoothing=0.6)
        before = len(whole)
        x, y = curves.compact(c, c.y, "y")
        computed.append(len(whole) - before)
        if len(s) < curves.COMPACT_FROM:
            assert x is c.x and y is c.y
            continue
        want = bins_state(c.x, c.y)
        assert want is not None
        wx, wy = bins_points(want)
        assert np.array_equal(x, wx) and np.array_equal(y, wy), k
        assert x.shape[0] < 2100 and y.min() == c.y.min() and y.max() == c.y.max()
        (stitched,), _ = curves.curves(s, smoothing=0.6, stitched=True, run_starts={0: 10.0})
        assert curves.compact(stitched, stitched.y, "y")[0] is stitched.x
    # once binned, a curve's bins are extended over new points, not binned whole again
    assert computed.count(1) == 1 and computed[-1] == 0


def test_per_epoch_kept_over_new_points_is_per_epoch_of_all() -> None:
    """The chart's incremental `per_epoch` (extended over new points) says what `curves.per_epoch`
    says over the whole series, also when a late point breaks it."""
    from detr_watch import memo
    from detr_watch.render.chart import _per_epoch

    memo.clear()
    store = SeriesStore()
    answers = []
    for k in range(12):
        epoch = float(k) if k != 8 else 7.5  # an evaluation between epochs
        store.append([Record(step=float(100 * k), axis=ITER, run=0, epoch=epoch, metrics={"test_loss": 1.0})])
        s = store.snapshot().series["test_loss"]
        answers.append(_per_epoch(s))
        assert answers[-1] == curves.per_epoch(s), k
    assert answers[:8] == [True] * 8 and answers[8:] == [False] * 4


def test_per_epoch_of_two_logs_with_the_same_series_names_is_kept_for_each() -> None:
    from detr_watch import memo
    from detr_watch.render.chart import _per_epoch

    memo.clear()
    stores = [SeriesStore(), SeriesStore()]
    for store in stores:
        store.append(
            [
                Record(step=float(k), axis=ITER, run=0, epoch=float(k), metrics={"test_loss": 1.0})
                for k in range(50)
            ]
        )
    both = [store.snapshot().series["test_loss"] for store in stores]
    assert [_per_epoch(s) for s in both] == [True, True]
    before = memo.stats()["computed"]
    assert [_per_epoch(s) for s in both + both] == [True] * 4
    assert memo.stats()["computed"] == before  # each log's answer is kept, not computed again in turn
