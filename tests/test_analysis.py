"""Decimation, trend, best value, stitching and smoothing on tiny arrays with hand-computed results."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detr_watch.analysis import (
    best,
    decimate_minmax,
    direction,
    ema,
    ema_more,
    ema_state,
    last_finite,
    percentiles,
    stitch,
    trend,
)

NAN = math.nan
INF = math.inf


def _pts(x: np.ndarray, y: np.ndarray) -> list[tuple[float, float]]:
    return list(zip(x.tolist(), y.tolist()))


# --- decimate_minmax -------------------------------------------------------------------------------


def test_decimate_empty() -> None:
    x, y = decimate_minmax([], [], 4)
    assert x.shape == (0,) and y.shape == (0,)


def test_decimate_one_point() -> None:
    assert _pts(*decimate_minmax([3.0], [0.5], 4)) == [(3.0, 0.5)]


def test_decimate_short_line_is_returned_as_is() -> None:
    assert _pts(*decimate_minmax([0, 1, 2, 3], [4, 3, 2, 1], 2)) == [(0, 4), (1, 3), (2, 2), (3, 1)]


def test_decimate_keeps_min_and_max_of_each_column_in_x_order() -> None:
    # x 0..8 in 2 columns: [0, 4) holds x 0..3, [4, 8] holds x 4..8.
    x = [0, 1, 2, 3, 4, 5, 6, 7, 8]
    y = [5, 9, 1, 5, 5, 0, 5, 7, 5]
    # column 1: min (2, 1), max (1, 9); column 2: min (5, 0), max (7, 7); plus the first and last point.
    assert _pts(*decimate_minmax(x, y, 2)) == [(0, 5), (1, 9), (2, 1), (5, 0), (7, 7), (8, 5)]


def test_decimate_keeps_a_one_point_spike() -> None:
    x = np.arange(100.0)
    y = np.ones(100)
    y[37] = 50.0
    y[81] = -3.0
    dx, dy = decimate_minmax(x, y, 5)
    assert (37.0, 50.0) in _pts(dx, dy)
    assert (81.0, -3.0) in _pts(dx, dy)
    assert dx.shape[0] <= 2 * 5 + 2
    assert np.all(np.diff(dx) > 0)


def test_decimate_ties_keep_the_first_point() -> None:
    # one column; min 1 at x=1 and x=3, max 2 at x=0 and x=2 -> first of each, plus the last point
    assert _pts(*decimate_minmax([0, 1, 2, 3, 4], [2, 1, 2, 1, 1.5], 1)) == [(0, 2), (1, 1), (4, 1.5)]


def test_decimate_drops_nonfinite_points() -> None:
    x = [0, 1, 2, 3, 4]
    y = [1, NAN, INF, -INF, 2]
    assert _pts(*decimate_minmax(x, y, 4)) == [(0, 1), (4, 2)]
    assert _pts(*decimate_minmax([0, NAN, 2], [1, 1, 3], 4)) == [(0, 1), (2, 3)]
    x2, y2 = decimate_minmax([0, 1], [NAN, NAN], 4)
    assert x2.shape == (0,) and y2.shape == (0,)


def test_decimate_constant_x() -> None:
    # every point in one column: its min, its max, and the first and last point
    assert _pts(*decimate_minmax([2, 2, 2, 2, 2], [3, 1, 4, 1, 5], 1)) == [(2, 3), (2, 1), (2, 5)]


def test_decimate_unsorted_x_is_sorted_stably() -> None:
    assert _pts(*decimate_minmax([2, 0, 1], [20, 0, 10], 2)) == [(0, 0), (1, 10), (2, 20)]


def test_decimate_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        decimate_minmax([1], [1], 0)
    with pytest.raises(ValueError):
        decimate_minmax([1, 2], [1], 3)


def test_decimate_does_not_modify_its_input() -> None:
    y = np.array([1.0, NAN, 3.0])
    decimate_minmax(np.arange(3.0), y, 1)
    assert np.isnan(y[1])


# --- trend ----------------------------------------------------------------------------------------


def test_trend_two_points_is_last_minus_first() -> None:
    assert trend([0, 1], [3.0, 2.5], 10) == pytest.approx(-0.5)


def test_trend_is_the_least_squares_change_over_the_window() -> None:
    # last 3 points (2, 4), (3, 3), (4, 8): slope = (-2*-1 + 0*... ) -> dx = [-1, 0, 1], dy = [-1, -2, 3]
    # slope = (1 + 0 + 3) / 2 = 2, span 2 -> change 4
    assert trend([0, 1, 2, 3, 4], [100, 100, 4, 3, 8], 3) == pytest.approx(4.0)


def test_trend_skips_nan_and_counts_the_window_in_finite_points() -> None:
    # finite points (0, 1), (2, 3) -> change 2 over the window of 2
    assert trend([0, 1, 2, 3], [1, NAN, 3, INF], 2) == pytest.approx(2.0)


def test_trend_unknown() -> None:
    assert math.isnan(trend([], [], 5))
    assert math.isnan(trend([1], [2], 5))
    assert math.isnan(trend([1, 2], [NAN, 2], 5))
    assert math.isnan(trend([1, 1], [1, 2], 5))  # one distinct step: no slope
    with pytest.raises(ValueError):
        trend([0, 1], [0, 1], 1)


def test_direction() -> None:
    assert direction(0.5, 1.0) == 1
    assert direction(-0.5, 1.0) == -1
    assert direction(0.0005, 1.0) == 0  # within 0.1 % of the value
    assert direction(0.0, 0.0) == 0
    assert direction(1e-9, 0.0) == 1
    assert direction(NAN, 1.0) == 0


# --- best -----------------------------------------------------------------------------------------


def test_best_min_and_max_with_their_steps() -> None:
    values = [0.5, 0.2, NAN, 0.9, 0.2]
    steps = [10, 11, 12, 13, 14]
    assert best(values, steps, "min") == (0.2, 11.0)  # first of the ties
    assert best(values, steps, "max") == (0.9, 13.0)


def test_best_ignores_inf_and_handles_nothing() -> None:
    assert best([INF, 1.0, -INF], [0, 1, 2], "min") == (1.0, 1.0)
    v, s = best([], [], "max")
    assert math.isnan(v) and math.isnan(s)
    v, s = best([NAN], [3], "min")
    assert math.isnan(v) and math.isnan(s)
    with pytest.raises(ValueError):
        best([1.0], [1.0], "mean")


def test_last_finite() -> None:
    assert last_finite([1.0, 2.0, NAN], [5, 6, 7]) == (2.0, 6.0)


# --- stitch ---------------------------------------------------------------------------------------


def test_stitch_keeps_one_run_whole() -> None:
    assert stitch([0, 1, 2], [0, 0, 0]).tolist() == [True, True, True]
    assert stitch([], []).tolist() == []


def test_stitch_drops_what_a_restart_overwrote() -> None:
    # run 0 reached step 4, run 1 resumed at 2: run 0's steps 2..4 are orphaned
    steps = [0, 1, 2, 3, 4, 2, 3]
    runs = [0, 0, 0, 0, 0, 1, 1]
    assert stitch(steps, runs).tolist() == [True, True, False, False, False, True, True]


def test_stitch_uses_the_log_run_starts() -> None:
    # this series has no point in run 1 yet, but run 1 started at step 1
    assert stitch([0, 1, 2], [0, 0, 0], {0: 0.0, 1: 1.0}).tolist() == [True, False, False]


def test_stitch_a_later_run_that_starts_earlier_cuts_every_earlier_run() -> None:
    assert stitch([5, 6, 2, 3, 1], [0, 0, 1, 1, 2]).tolist() == [False, False, False, False, True]


def test_stitch_log_run_starts_win_over_the_series_own_first_steps() -> None:
    assert stitch([0, 1, 2], [0, 0, 0], {0: 0.0}).tolist() == [True, True, True]
    # run 1's first step in the log is 6, though this series' first point in it is at 2
    assert stitch([5, 6, 2, 3], [0, 0, 1, 1], {1: 6.0}).tolist() == [True, False, True, True]


# --- ema (TensorBoard's debiased smoothing) -------------------------------------------------------


def test_ema_debiased() -> None:
    # w = 0.5: last = 0.5*1 = 0.5 -> 0.5/0.5 = 1; last = 0.25 + 1.5 = 1.75 -> 1.75/0.75 = 7/3;
    # last = 0.875 + 2.5 = 3.375 -> 3.375/0.875 = 27/7
    assert ema([1.0, 3.0, 5.0], 0.5).tolist() == pytest.approx([1.0, 7 / 3, 27 / 7])


def test_ema_passes_nonfinite_through_without_accumulating() -> None:
    out = ema([1.0, NAN, 3.0], 0.5)
    assert out[0] == 1.0 and math.isnan(out[1]) and out[2] == pytest.approx(7 / 3)


def test_ema_constant_and_edge_weights() -> None:
    assert ema([2.0, 2.0, NAN, 2.0], 0.9)[[0, 1, 3]].tolist() == [2.0, 2.0, 2.0]
    assert ema([1.0, 3.0], 0.0).tolist() == [1.0, 3.0]
    assert ema([1.0, 3.0], -1.0).tolist() == [1.0, 3.0]  # clamped to 0
    assert ema([], 0.6).tolist() == []
    assert ema([1.0, 3.0], 1.0).tolist() == [0.0, 0.0]  # the spec: emit `last`, which stays 0


def test_ema_tensorboard_default_weight_by_hand() -> None:
    # w = 0.6: last = 0.4*2 = 0.8 -> 0.8/0.4 = 2; last = 0.48 + 1.6 = 2.08 -> 2.08/0.64 = 3.25;
    # NaN passes through; last = 1.248 + 0.4 = 1.648 -> 1.648/0.784 = 2.10204...
    out = ema([2.0, 4.0, NAN, 1.0], 0.6)
    assert out[[0, 1, 3]].tolist() == pytest.approx([2.0, 3.25, 1.648 / 0.784], rel=1e-12)
    assert math.isnan(out[2])


def _ema_reference(ys: np.ndarray, w: float) -> np.ndarray:
    """TensorBoard's loop, written out as in its source."""
    out = ys.copy()
    last, n = 0.0, 0
    for i, y in enumerate(ys.tolist()):
        if not math.isfinite(y):
            continue
        last = last * w + (1 - w) * y
        n += 1
        out[i] = last / (1 - w**n)
    return out


@pytest.mark.parametrize("weight", [0.0005, 0.3, 0.6, 0.9, 0.99, 0.999])
@pytest.mark.parametrize("n", [1, 2, 1023, 1024, 1025, 5000])
def test_ema_in_blocks_equals_tensorboards_loop(weight: float, n: int) -> None:
    rng = np.random.default_rng(n)
    ys = rng.normal(3.0, 1.0, n)
    ys[0] += 0.5  # not constant
    if n > 10:
        ys[rng.integers(0, n, 5)] = NAN
    expected = _ema_reference(ys, weight)
    got = ema(ys, weight)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-10, atol=1e-12)


def test_ema_more_continues_by_hand() -> None:
    # w = 0.5 over [1, 3] then [5]: the same floats as ema([1, 3, 5]) (1, 7/3, 27/7 by hand above)
    state = ema_more([1.0, 3.0, 5.0], 0.5, ema_state([1.0, 3.0], 0.5))
    assert state.values.tobytes() == ema([1.0, 3.0, 5.0], 0.5).tobytes()
    assert (state.covered, state.finite, state.constant) == (3, 3, False)


def test_ema_more_passes_nonfinite_through() -> None:
    state = ema_more([2.0, 4.0, NAN, 1.0, INF], 0.6, ema_state([2.0, 4.0], 0.6))
    assert state.values.tobytes() == ema([2.0, 4.0, NAN, 1.0, INF], 0.6).tobytes()
    assert state.finite == 3


def test_ema_more_keeps_a_constant_series_until_a_value_differs() -> None:
    state = ema_more([NAN, 2.0, 2.0, NAN, 2.0], 0.9, ema_state([NAN, 2.0], 0.9))
    assert state.constant and np.array_equal(state.values, [NAN, 2.0, 2.0, NAN, 2.0], equal_nan=True)
    state = ema_more([NAN, 2.0, 2.0, NAN, 2.0, 4.0], 0.9, state)  # recomputed whole
    assert not state.constant
    assert state.values.tobytes() == ema([NAN, 2.0, 2.0, NAN, 2.0, 4.0], 0.9).tobytes()


def test_ema_more_edge_weights_and_no_new_points() -> None:
    assert ema_more([1.0, 3.0, 5.0], 1.0, ema_state([1.0, 3.0], 1.0)).values.tolist() == [0.0, 0.0, 0.0]
    assert ema_more([1.0, 3.0, 5.0], 0.0, ema_state([1.0, 3.0], 0.0)).values.tolist() == [1.0, 3.0, 5.0]
    state = ema_state([1.0, 3.0], 0.6)
    assert ema_more([1.0, 3.0], 0.6, state) is state
    # another weight, or fewer points than covered: recomputed, never a stale result
    assert ema_more([1.0, 3.0], 0.5, state).values.tobytes() == ema([1.0, 3.0], 0.5).tobytes()
    assert ema_more([1.0], 0.6, state).values.tolist() == [1.0]


def test_ema_more_recomputes_only_from_the_last_block_boundary() -> None:
    ys = np.linspace(3.0, 1.0, 3000)
    state = ema_state(ys[:2500], 0.9)
    assert state.start == state.done == 2048  # two blocks of 1024 points complete, the third not
    # poison what lies before the boundary: a continuation must not read those points again
    poisoned = ys.copy()
    poisoned[: state.start] = NAN
    got = ema_more(poisoned, 0.9, state).values
    assert got.tobytes() == ema(ys, 0.9).tobytes()


def _series(rng: np.random.Generator, n: int) -> np.ndarray:
    ys = rng.normal(size=n) * 10.0 ** float(rng.integers(-3, 4))
    kind = int(rng.integers(4))
    if kind == 1:
        ys[: int(rng.integers(n + 1))] = 2.5  # a constant prefix
    elif kind == 2:
        ys[:] = 1.0
    elif kind == 3:
        ys = np.round(ys)
    bad = rng.random(n) < rng.choice([0.0, 0.01, 0.3, 1.0])
    ys[bad] = rng.choice([NAN, INF, -INF], size=int(bad.sum()))
    return ys


@pytest.mark.parametrize("seed", range(4))
def test_ema_more_in_random_chunks_equals_ema_of_the_whole(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(12):
        n = int(rng.choice([0, 1, 2, 1023, 1024, 1025, int(rng.integers(0, 5001))]))
        ys = _series(rng, n)
        for weight in (0.0, 0.0005, 0.6, 0.9, 0.99, 0.999, 1.0):
            state = ema_state(ys[:0], weight)
            covered = 0
            while covered < n:
                covered = min(n, covered + int(rng.choice([1, 3, 100, 1024, 2000])))
                state = ema_more(ys[:covered], weight, state)
                whole = ema(ys[:covered], weight)
                assert np.array_equal(state.values, whole, equal_nan=True)
                assert state.values.tobytes() == whole.tobytes(), (n, weight, covered)
            assert state.values.tobytes() == ema(ys, weight).tobytes()


def test_ema_does_not_modify_its_input() -> None:
    ys = np.linspace(5.0, 1.0, 100_000)
    before = ys.copy()
    out = ema(ys, 0.6)
    assert np.array_equal(ys, before) and out.shape == ys.shape


@pytest.mark.parametrize(
    "values",
    [
        [1.0],
        [2.0, 1.0],
        [3.0, 1.0, 2.0, 2.0],
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
        [5.0, 5.0, 5.0, 1e300, -1e-300],
    ],
)
def test_percentiles_are_numpys_floats(values: list[float]) -> None:
    qs = (0, 5, 25, 50, 75, 95, 100, 33.3)
    assert percentiles(np.array(values), qs) == [float(v) for v in np.percentile(values, qs)]


def test_percentiles_of_random_samples_with_ties_are_numpys_floats() -> None:
    rng = np.random.default_rng(7)
    for n in range(1, 40):
        for values in (rng.normal(size=n), rng.integers(0, 3, size=n).astype(float)):
            qs = (5, 25, 50, 75, 95)
            assert percentiles(values, qs) == [float(v) for v in np.percentile(values, qs)]


def test_bins_grown_over_new_points_are_the_bins_of_all_of_them() -> None:
    from detr_watch.analysis import bins_more, bins_points, bins_state

    rng = np.random.default_rng(2)
    for trial in range(200):
        n = int(rng.integers(1, 40000))
        step = float(rng.choice([1.0, 0.25, 740.0, 1 / 3]))
        x = np.cumsum(rng.integers(0, 3, n)) * step + float(rng.integers(-100, 1000))
        y = rng.standard_normal(n).cumsum()
        if trial % 4 == 0:
            y = np.round(y)  # ties: the first lowest and highest point of a bin
        full = bins_state(x, y)
        assert full is not None
        cuts = sorted(set(rng.integers(1, n + 1, int(rng.integers(1, 6))).tolist()) | {n})
        cuts = sorted(set(cuts) | set(range(max(1, n - 300), n + 1)))  # then a point at a time
        grown = bins_state(x[: cuts[0]], y[: cuts[0]])
        for c in cuts[1:]:
            assert grown is not None
            grown = bins_more(x[:c], y[:c], grown)
        assert grown is not None
        for name in full._fields:
            assert np.array_equal(np.asarray(getattr(full, name)), np.asarray(getattr(grown, name))), (
                trial,
                name,
            )
        px, py = bins_points(full)
        assert full.ids.shape[0] <= 1025
        assert (px[0], py[0], px[-1], py[-1]) == (x[0], y[0], x[-1], y[-1])
        assert np.all(np.diff(px) >= 0) and py.min() == y.min() and py.max() == y.max()
        # each bin's extremes are among the points kept
        ids = np.floor(np.ldexp(x, -full.k))
        for b in rng.choice(full.ids, size=min(5, full.ids.shape[0]), replace=False):
            inside = ids == b
            assert y[inside].min() in py and y[inside].max() in py


def test_bins_refuse_what_they_cannot_keep() -> None:
    from detr_watch.analysis import bins_more, bins_state

    x = np.arange(10.0)
    assert bins_state(x, np.where(x == 3, np.nan, x)) is None
    assert bins_state(x[::-1].copy(), x) is None
    b = bins_state(x[:5], x[:5])
    assert b is not None
    assert bins_more(np.r_[x[:5], 2.0], np.r_[x[:5], 1.0], b) is None  # x went back
    assert bins_more(np.r_[x[:5], 6.0], np.r_[x[:5], np.inf], b) is None
    assert bins_state(np.array([1e300, 1e300 + 1e290]), np.array([1.0, 2.0])) is not None


def test_ema_grown_in_its_room_leaves_earlier_results_as_they_were() -> None:
    """ema_more fills a longer array from the last block boundary on: every earlier result (a view
    of the same array) keeps its floats, and each result is ema() of its points."""
    from detr_watch.analysis import ema_more, ema_state

    rng = np.random.default_rng(4)
    ys = rng.normal(2.0, 0.5, 6000)
    ys[rng.integers(0, 6000, 30)] = np.nan
    for w in (0.6, 0.99, 0.0005):
        state = ema_state(ys[:10], w)
        kept = [(state.values, state.values.copy())]
        n = 10
        while n < ys.shape[0]:
            n = min(ys.shape[0], n + int(rng.integers(1, 400)))
            state = ema_more(ys[:n], w, state)
            assert state.values.tobytes() == ema(ys[:n], w).tobytes(), (w, n)
            kept.append((state.values, state.values.copy()))
        assert all(np.array_equal(v, c, equal_nan=True) for v, c in kept)
        assert state.room is not None and state.room.shape[0] >= ys.shape[0]


def test_bins_of_points_at_one_x_then_spread_below_it() -> None:
    """The first bins had no span (k 0); a later, narrower one binned again: as bins of all points."""
    from detr_watch.analysis import bins_more, bins_state

    x = np.concatenate([np.full(2000, -2.0), np.linspace(-2.0, 48.0, 500)])
    y = np.random.default_rng(0).standard_normal(x.shape[0])
    first = bins_state(x[:2000], y[:2000])
    assert first is not None and first.k == 0
    grown = bins_more(x, y, first)
    want = bins_state(x, y)
    assert grown is not None and want is not None and grown.k < 0
    for name in want._fields:
        assert np.array_equal(np.asarray(getattr(grown, name)), np.asarray(getattr(want, name))), name
