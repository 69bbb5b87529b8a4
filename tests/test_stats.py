"""stats.py against values worked out by hand on tiny arrays."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from detr_watch import stats

NAN = float("nan")


def test_relative_improvement_min_uses_the_value_at_90_percent_of_the_steps() -> None:
    # steps 0..10: 90% of the span is step 9 (value 1.0); last is 0.0 -> (1 - 0) / 1
    steps = np.arange(11.0)
    values = 10.0 - steps
    assert stats.relative_improvement(steps, values, "min") == 1.0


def test_relative_improvement_sign_is_positive_when_better() -> None:
    steps = [0.0, 50.0, 90.0, 100.0]
    assert stats.relative_improvement(steps, [4.0, 3.0, 2.0, 1.5], "min") == 0.25
    assert stats.relative_improvement(steps, [4.0, 3.0, 2.0, 2.5], "min") == -0.25
    # AP: went from 0.5 (step 90) to 0.75
    assert stats.relative_improvement(steps, [0.0, 0.25, 0.5, 0.75], "max") == 0.5


def test_relative_improvement_skips_nonfinite_and_handles_degenerate_input() -> None:
    # the NaN at step 100 is dropped: the run ends at step 90, 90% of it is step 81 -> step 50
    steps = [0.0, 50.0, 90.0, 100.0]
    assert stats.relative_improvement(steps, [4.0, 2.0, 1.5, NAN], "min") == 0.25
    assert math.isnan(stats.relative_improvement([0.0], [1.0], "min"))
    assert math.isnan(stats.relative_improvement([0.0, 1.0], [0.0, 1.0], "min"))  # zero reference
    assert math.isnan(stats.relative_improvement([3.0, 3.0], [2.0, 1.0], "min"))  # no step span
    with pytest.raises(ValueError):
        stats.relative_improvement([0.0, 1.0], [1.0, 2.0], "lower")


def test_linear_fit_slope_and_standard_error_by_hand() -> None:
    # x mean 1.5, Sxx 5, Sxy 5.5 -> slope 1.1; residuals -0.1 0.8 -1.3 0.6 -> SSR 2.7; se = sqrt(2.7/2/5)
    fit = stats.linear_fit([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 2.0, 5.0])
    assert fit.points == 4
    assert fit.slope == pytest.approx(1.1, rel=1e-12)
    assert fit.stderr == pytest.approx(math.sqrt(0.27), rel=1e-12)


def test_linear_fit_degenerate_cases() -> None:
    exact = stats.linear_fit([0.0, 1.0, 2.0], [1.0, 3.0, 5.0])
    assert exact.slope == 2.0 and exact.stderr == 0.0
    two = stats.linear_fit([0.0, 2.0], [1.0, 2.0])
    assert two.slope == 0.5 and math.isnan(two.stderr) and two.points == 2
    assert math.isnan(stats.linear_fit([1.0], [1.0]).slope)
    assert math.isnan(stats.linear_fit([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]).slope)
    with_nan = stats.linear_fit([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, NAN, 5.0])
    assert with_nan.points == 3


def test_linear_fit_is_the_same_float_as_with_np_mean() -> None:
    """The means are taken as np.mean takes them (its pairwise sum over the count), to the last bit."""

    def reference(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float]:
        dx, dy = xs - xs.mean(), ys - ys.mean()
        sxx = float(np.add.reduce(dx * dx))
        slope = float(np.add.reduce(dx * dy)) / sxx
        resid = dy - slope * dx
        return slope, math.sqrt(float(np.add.reduce(resid * resid)) / (xs.shape[0] - 2) / sxx)

    rng = np.random.default_rng(9)
    for n in (3, 5, 7, 8, 9, 16, 100, 129, 1000, 5003):
        xs = np.sort(rng.random(n)) * 1e4 + 1.0 / 3.0
        ys = rng.normal(1.0, 0.1, n) * 0.7
        fit = stats.linear_fit(xs, ys)
        assert (fit.slope, fit.stderr) == reference(xs, ys), n


def test_recent_trend_uses_the_last_quarter_with_at_least_three_points() -> None:
    steps = np.arange(12.0)
    values = np.r_[np.full(9, 100.0), [3.0, 2.0, 1.0]]  # flat, then falling by 1 per step
    fit = stats.recent_trend(steps, values)  # ceil(12 / 4) = 3 points: steps 9, 10, 11
    assert fit.points == 3 and fit.slope == -1.0 and fit.stderr == 0.0
    many = stats.recent_trend(np.arange(20.0), np.arange(20.0) * 2.0)  # 5 points
    assert many.points == 5 and many.slope == 2.0


def test_plateau_index_by_hand() -> None:
    # ref 10 -> 8 (i=1) -> 7.9 (i=3, beats 8 by 0.1 > 0.08) -> 7.0 (i=5); nothing after beats 7 by > 0.07
    values = [10.0, 8.0, 7.95, 7.9, 7.85, 7.0, 6.99, 6.98, 6.97]
    assert stats.plateau_index(values, "min") == 5
    assert stats.plateau_start(np.arange(9.0) * 10, values, "min") == 50.0


def test_plateau_needs_three_points_after_the_last_gain() -> None:
    assert stats.plateau_index([10.0, 8.0, 7.99, 7.98], "min") is None
    assert stats.plateau_index([10.0, 8.0, 7.99, 7.98, 7.97], "min") == 1
    assert math.isnan(stats.plateau_start([0.0, 1.0, 2.0], [3.0, 2.0, 1.0], "min"))


def test_plateau_counts_a_slow_steady_descent() -> None:
    # 0.4% per step never beats the previous value by 1%, but beats the reference after 3 steps
    values = [1.0, 0.996, 0.992, 0.988, 0.984, 0.980, 0.976, 0.972]
    assert stats.plateau_index(values, "min") is None  # gains at 3 and 6: only one point after
    assert stats.plateau_index(values + [0.971, 0.970, 0.969], "min") == 6


def test_plateau_for_a_metric_that_goes_up() -> None:
    ap = [0.0, 0.1, 0.2, 0.3, 0.301, 0.302, 0.3, 0.299]
    assert stats.plateau_index(ap, "max") == 3
    assert stats.plateau_index([NAN, 0.1, 0.2, NAN, 0.2, 0.2, 0.2], "max") == 1  # finite values only


def test_trailing_median() -> None:
    out = stats.trailing_median([1.0, 3.0, 2.0, 10.0, 4.0], 3)
    assert out.tolist() == [1.0, 2.0, 2.0, 3.0, 4.0]
    assert stats.trailing_median([5.0, 1.0], 11).tolist() == [5.0, 3.0]
    assert stats.trailing_median([], 3).shape == (0,)


def test_robust_sd() -> None:
    # residuals 0 0 1 2 10: median 1, |dev| 1 1 0 1 9 -> MAD 1
    assert stats.robust_sd([0.0, 0.0, 1.0, 2.0, 10.0]) == 1.4826
    # MAD 0: falls back to the mean absolute deviation, 4 / 10
    assert stats.robust_sd([0.0] * 9 + [4.0]) == pytest.approx(math.sqrt(math.pi / 2) * 0.4, rel=1e-12)
    assert stats.robust_sd([2.0, 2.0]) == 0.0


def test_spike_on_a_flat_series() -> None:
    values = [1.0] * 8 + [5.0] + [1.0] * 3
    # residuals from the trailing median (points 2..11): 0 except 4 at index 8; sd = 1.2533 * 0.4
    assert stats.spike_indices(values, "min").tolist() == [8]
    assert stats.spike_indices(values, "max").tolist() == []  # higher is better: not a spike
    assert stats.spike_indices([2.0 - v for v in values], "max").tolist() == [8]


def test_spike_against_noise() -> None:
    # alternating 1/2: trailing medians 1.5 or the value itself; residual spread gives MAD > 0
    values = [1.0, 2.0] * 10
    values[13] = 6.0
    idx = stats.spike_indices(values, "min")
    assert idx.tolist() == [13]
    resid = np.array(values) - np.array([np.median(values[max(0, i - 10) : i + 1]) for i in range(20)])
    sd = stats.robust_sd(resid[2:])
    assert sd > 0 and resid[13] > 5 * sd and all(r <= 5 * sd for i, r in enumerate(resid) if i != 13)


def test_spikes_skip_nonfinite_and_short_series() -> None:
    assert stats.spike_indices([1.0, 50.0], "min").tolist() == []
    assert stats.spike_indices([1.0, 1.0, 1.0], "min").tolist() == []
    steps = np.arange(13.0)
    values = [1.0] * 8 + [NAN, 5.0] + [1.0] * 3
    assert stats.spike_steps(steps, values, "min").tolist() == [9.0]


def test_match_steps_keeps_common_finite_steps() -> None:
    xs, a, b = stats.match_steps([0, 1, 2, 3], [1.0, NAN, 3.0, 4.0], [1, 2, 3, 4], [10.0, 20.0, NAN, 40.0])
    assert xs.tolist() == [2.0] and a.tolist() == [3.0] and b.tolist() == [20.0]


def test_pearson_and_spearman_by_hand() -> None:
    assert stats.pearson([1.0, 2.0, 3.0], [1.0, 3.0, 2.0]) == 0.5  # Sxy 1, Sxx 2, Syy 2
    assert stats.pearson([1.0, 2.0, 3.0, 4.0], [8.0, 6.0, 4.0, 2.0]) == -1.0
    assert stats.spearman([1.0, 2.0, 3.0, 4.0], [1.0, 4.0, 9.0, 100.0]) == 1.0
    assert stats.pearson([1.0, 2.0, 3.0, 4.0], [1.0, 4.0, 9.0, 100.0]) < 0.9
    assert stats.ranks([10.0, 20.0, 20.0, 30.0]).tolist() == [1.0, 2.5, 2.5, 4.0]
    rho = stats.spearman([10.0, 20.0, 20.0, 30.0], [1.0, 2.0, 3.0, 4.0])
    # dx = -1.5 0 0 1.5, dy = -1.5 -0.5 0.5 1.5: Sxy 4.5, Sxx 4.5, Syy 5 -> 4.5 / sqrt(22.5)
    assert rho == pytest.approx(4.5 / math.sqrt(22.5), rel=1e-12)


def test_spearman_with_the_ranks_of_b_given() -> None:
    rng = np.random.default_rng(2)
    for n in (2, 3, 10, 500):
        a, b = np.round(rng.random(n), 1), np.round(rng.random(n), 1)
        got = stats.spearman(a, b, stats.ranks(b))
        assert got == stats.spearman(a, b) or (math.isnan(got) and math.isnan(stats.spearman(a, b))), n


def test_correlation_needs_three_finite_pairs_and_variance() -> None:
    assert math.isnan(stats.pearson([1.0, 2.0, NAN], [1.0, 2.0, 3.0]))
    assert math.isnan(stats.pearson([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))
    assert math.isnan(stats.spearman([1.0, 2.0], [1.0, 2.0]))


def test_gap_widening_by_hand() -> None:
    steps = np.arange(6.0)
    train = np.ones(6)
    test = np.array([1.5, 1.5, 1.5, 1.5, 1.75, 2.0])
    g = stats.gap(steps, train, steps, test)
    # gaps .5 .5 .5 .5 .75 1; last half (steps 3-5): .5 .75 1 -> slope .25, se 0
    assert g.points == 6 and g.last == 1.0 and g.mean == 3.75 / 6
    assert g.trend.slope == 0.25 and g.trend.stderr == 0.0 and g.trend.points == 3
    assert g.widening


def test_gap_not_widening() -> None:
    steps = np.arange(6.0)
    flat = stats.gap(steps, np.ones(6), steps, np.full(6, 1.5))
    assert flat.trend.slope == 0.0 and not flat.widening
    noisy = stats.gap(steps, np.ones(6), steps, np.array([1.5, 1.5, 1.5, 1.5, 1.75, 1.5]))
    assert noisy.trend.slope == 0.0 and not noisy.widening
    # last half .5 1 .75: slope .125; residuals -.125 .25 -.125 -> se sqrt(.09375 / 1 / 2) > slope
    wobbly = stats.gap(steps, np.ones(6), steps, np.array([1.5, 1.5, 1.5, 1.5, 2.0, 1.75]))
    assert wobbly.trend.slope == 0.125
    assert wobbly.trend.stderr == pytest.approx(math.sqrt(0.046875), rel=1e-12)
    assert not wobbly.widening
    # last half .5 .5 .75: slope .125; residuals 1/24 -1/12 1/24 -> se sqrt(1/192) < slope
    rising = stats.gap(steps, np.ones(6), steps, np.array([1.5, 1.5, 1.5, 1.5, 1.5, 1.75]))
    assert rising.trend.stderr == pytest.approx(math.sqrt(1 / 192), rel=1e-12)
    assert rising.widening


def test_gap_with_too_few_points() -> None:
    g = stats.gap([0.0, 1.0], [1.0, 1.0], [0.0, 1.0], [2.0, 3.0])
    assert g.points == 2 and g.last == 2.0 and not g.widening and math.isnan(g.trend.slope)
    empty = stats.gap([0.0], [1.0], [1.0], [1.0])
    assert empty.points == 0 and math.isnan(empty.last)


def _plateau_reference(values: list[float], goal: str, tol: float = 0.01) -> int:
    """The definition, one value at a time: the index of the last significant gain."""
    sign = 1.0 if goal == "min" else -1.0
    ref, last = values[0], 0
    for i, v in enumerate(values[1:], 1):
        if sign * (ref - v) > tol * abs(ref):
            ref, last = v, i
    return last


@pytest.mark.parametrize("seed", range(5))
def test_plateau_matches_the_definition_on_long_noisy_series(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    loss = 10.0 / (1.0 + np.arange(n) / 300.0) + rng.normal(0.0, 0.2, n)
    loss[2500:] = loss[2500]  # flat at the end: gains far apart, past the first search block
    for goal, values in (("min", loss), ("max", -loss + 20.0)):
        expected = _plateau_reference(values.tolist(), goal)
        got = stats.plateau_index(values, goal)
        assert got == (expected if n - 1 - expected >= 3 else None)


def test_match_steps_keeps_the_last_value_of_a_repeated_step() -> None:
    xs, a, b = stats.match_steps([0.0, 1.0, 1.0, 2.0], [1.0, 2.0, 3.0, 4.0], [2.0, 1.0], [20.0, 10.0])
    assert xs.tolist() == [1.0, 2.0] and a.tolist() == [3.0, 4.0] and b.tolist() == [10.0, 20.0]


def test_trailing_median_ties_one_point_and_even_windows() -> None:
    assert stats.trailing_median([7.0], 11).tolist() == [7.0]
    assert stats.trailing_median([2.0, 2.0, 1.0, 2.0, 1.0, 1.0], 3).tolist() == [2.0, 2.0, 2.0, 2.0, 1.0, 1.0]
    # window 2: the mean of the two values, as np.median
    assert stats.trailing_median([1.0, 3.0, 4.0, 10.0], 2).tolist() == [1.0, 2.0, 3.5, 7.0]
    assert stats.trailing_median([4.0, 1.0, 3.0], 1).tolist() == [4.0, 1.0, 3.0]
    with pytest.raises(ValueError):
        stats.trailing_median([1.0], 0)


def test_trailing_median_nan_makes_its_windows_nan() -> None:
    # NaN at index 2: every window holding it (indices 2..4 for window 3) has a NaN median
    out = stats.trailing_median([1.0, 5.0, NAN, 2.0, 3.0, 4.0, 0.0], 3)
    assert out[:2].tolist() == [1.0, 3.0] and np.isnan(out[2:5]).all() and out[5:].tolist() == [3.0, 3.0]
    inf = stats.trailing_median([1.0, math.inf, 2.0, -math.inf, 3.0], 3)
    assert inf.tolist() == [1.0, (1.0 + math.inf) / 2, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("window", [3, 5, 7, 9, 11, 13, 21, 31, 33])
def test_trailing_median_equals_np_median_of_each_window(window: int) -> None:
    rng = np.random.default_rng(window)
    for n in (window - 1, window, window + 1, window + 2, 100, 101):
        values = rng.integers(0, 5, n).astype(float)  # many ties
        expected = [np.median(values[max(0, i - window + 1) : i + 1]) for i in range(n)]
        assert stats.trailing_median(values, window).tolist() == expected


def test_median_is_np_median() -> None:
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert stats.median([5.0]) == 5.0
    assert stats.median([1.0, 1.0, 1.0, 9.0]) == 1.0
    assert math.isnan(stats.median([]))
    assert math.isnan(stats.median([1.0, NAN, 2.0]))
    assert math.isnan(stats.median([-math.inf, math.inf]))  # (-inf + inf) / 2, as np.median
    values = np.array([3.0, 1.0, 2.0, 0.0])
    stats.median(values)
    assert values.tolist() == [3.0, 1.0, 2.0, 0.0]  # not reordered
    assert stats.median(values, overwrite_input=True) == 1.5
    assert sorted(values.tolist()) == [0.0, 1.0, 2.0, 3.0] and values.tolist() != [3.0, 1.0, 2.0, 0.0]


def test_median_if_zero_is_np_median_when_both_middle_values_are_zero() -> None:
    """Every array of 1 to 6 values from -1, -0, 0, 1: a number exactly when the middle value (both
    middle values for an even length) is 0, and then np.median's value."""
    import itertools

    for n in range(1, 7):
        for values in itertools.product((-1.0, -0.0, 0.0, 1.0), repeat=n):
            middle = sorted(values)[(n - 1) // 2 : n // 2 + 1]
            got = stats._median_if_zero(np.array(values))
            if all(v == 0.0 for v in middle):
                assert got == np.median(values) == 0.0, values
            else:
                assert got is None, values


@pytest.mark.parametrize("zeros", [0.0, 0.09, 0.4])
def test_robust_sd_equals_the_definition_with_and_without_a_zero_median(zeros: float) -> None:
    rng = np.random.default_rng(int(zeros * 100))
    for n in (1, 2, 3, 10, 11, 500, 501, 20000):
        r = np.round(rng.normal(0.0, 1.0, n), 2) + rng.choice([0.0, 0.3], n)
        r[rng.random(n) < zeros] = 0.0
        center = np.median(r)
        mad = np.median(np.abs(r - center))
        expected = 1.4826 * mad if mad > 0 else math.sqrt(math.pi / 2) * float(np.abs(r - center).mean())
        assert stats.robust_sd(r) == expected, (n, zeros)


def test_robust_sd_nonfinite() -> None:
    assert math.isnan(stats.robust_sd([]))
    assert math.isnan(stats.robust_sd([1.0, NAN, 2.0]))
    assert math.isnan(stats.robust_sd([1.0, math.inf, math.inf]))  # median inf: inf - inf
    assert stats.robust_sd([0.0, 1.0, 2.0, math.inf]) == 1.4826  # median 1.5, deviations 1.5 .5 .5 inf
    assert stats.robust_sd([3.0]) == 0.0


def test_ranks_ties_nan_empty_and_one_point() -> None:
    assert stats.ranks([]).tolist() == []
    assert stats.ranks([5.0]).tolist() == [1.0]
    assert stats.ranks([2.0, 2.0, 2.0]).tolist() == [2.0, 2.0, 2.0]
    assert stats.ranks([3.0, 1.0, 3.0, 1.0, 2.0]).tolist() == [4.5, 1.5, 4.5, 1.5, 3.0]
    # NaN sorts last and is never tied, not even with another NaN
    assert stats.ranks([NAN, 1.0, NAN]).tolist() == [2.0, 1.0, 3.0]


@pytest.mark.parametrize("with_nan", [False, True])
def test_ranks_equal_the_definition_on_random_ties(with_nan: bool) -> None:
    """The default sort (no NaN) and the stable sort (NaN) both give each value the mean of the ranks
    its ties span; each NaN ranks after every number, in the order the NaNs come."""
    rng = np.random.default_rng(7)
    for n in (2, 3, 17, 300, 5000):
        values = rng.integers(0, max(2, n // 4), n).astype(np.float64)
        values[rng.random(n) < 0.1] = -0.0
        values[rng.random(n) < 0.1] = 0.0
        if with_nan:
            values[rng.integers(0, n, max(1, n // 20))] = NAN
        finite = values[~np.isnan(values)]
        expected = [
            float(np.sum(finite < v) + (np.sum(finite == v) + 1) / 2.0) if not math.isnan(v) else 0.0
            for v in values.tolist()
        ]
        nan_at = np.flatnonzero(np.isnan(values))
        for k, i in enumerate(nan_at.tolist()):
            expected[i] = float(finite.shape[0] + k + 1)
        assert stats.ranks(values).tolist() == expected, (n, with_nan)


def test_ranks_of_values_that_differ_only_in_their_lowest_bits() -> None:
    """The fast order drops the low bits that hold the indices: such values must still rank right."""
    up, down = np.nextafter(1.0, 2.0), np.nextafter(-1.0, -2.0)
    assert stats.ranks([up, 1.0]).tolist() == [2.0, 1.0]
    assert stats.ranks([1.0, up]).tolist() == [1.0, 2.0]
    assert stats.ranks([-1.0, down]).tolist() == [2.0, 1.0]
    assert stats.ranks([down, -1.0]).tolist() == [1.0, 2.0]
    rng = np.random.default_rng(11)
    for sign in (1.0, -1.0):
        ulps = rng.integers(0, 64, 300)
        values = sign * (1.0 + ulps * np.finfo(np.float64).eps)
        expected = [float(np.sum(values < v) + (np.sum(values == v) + 1) / 2.0) for v in values.tolist()]
        assert stats.ranks(values).tolist() == expected, sign


def test_match_steps_same_disjoint_and_empty() -> None:
    xs, a, b = stats.match_steps([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [0.0, 1.0, 2.0], [4.0, 5.0, 6.0])
    assert xs.tolist() == [0.0, 1.0, 2.0] and a.tolist() == [1.0, 2.0, 3.0] and b.tolist() == [4.0, 5.0, 6.0]
    xs, a, b = stats.match_steps(
        [0.0, 2.0, 4.0, 6.0], [1.0, 2.0, 3.0, 4.0], [1.0, 4.0, 6.0, 9.0], [5.0, 6.0, 7.0, 8.0]
    )
    assert xs.tolist() == [4.0, 6.0] and a.tolist() == [3.0, 4.0] and b.tolist() == [6.0, 7.0]
    xs, a, b = stats.match_steps([4.0], [1.0], [0.0, 4.0, 5.0], [5.0, 6.0, 7.0])  # the shorter one first
    assert xs.tolist() == [4.0] and a.tolist() == [1.0] and b.tolist() == [6.0]
    xs, a, b = stats.match_steps([0.0, 1.0], [1.0, 2.0], [2.0, 3.0], [5.0, 6.0])
    assert xs.shape == a.shape == b.shape == (0,)
    xs, a, b = stats.match_steps([], [], [1.0], [1.0])
    assert xs.shape == a.shape == b.shape == (0,)


def test_trailing_median_nan_in_the_first_points() -> None:
    out = stats.trailing_median([1.0, NAN, 3.0, 4.0, 5.0], 3)
    assert out[0] == 1.0 and np.isnan(out[1:4]).all() and out[4] == 4.0


@pytest.mark.parametrize("tol", [0.0, 0.05, -0.5])
def test_plateau_matches_the_definition_for_any_tolerance(tol: float) -> None:
    rng = np.random.default_rng(7)
    loss = 5.0 / (1.0 + np.arange(2000) / 200.0) + rng.normal(0.0, 0.1, 2000)
    for goal, values in (("min", loss), ("max", -loss)):
        expected = _plateau_reference(values.tolist(), goal, tol)
        got = stats.plateau_index(values, goal, tol, min_points=0)
        assert got == expected


def test_history_stats_equals_the_separate_statistics() -> None:
    steps = np.arange(40.0)
    values = np.r_[10.0 / (1.0 + steps[:20]), np.full(20, 0.4)]  # falls to step 20, then flat
    values[30] = 3.4
    values[5] = NAN
    h = stats.history_stats(steps, values, "min")
    assert h.points == 39
    assert h.trend == stats.recent_trend(steps, values)
    assert (h.best, h.step_of_best) == (0.4, 20.0)
    assert h.improvement == stats.relative_improvement(steps, values, "min") == 0.0
    assert h.plateau_start == stats.plateau_start(steps, values, "min") == 20.0
    assert h.spike_steps is not None and h.spike_steps.tolist() == [30.0]
    assert h.spike_steps.tolist() == stats.spike_steps(steps, values, "min").tolist()


def test_history_stats_best_is_the_first_best_value() -> None:
    """best and step_of_best are np.argmin's (np.argmax's): the first of equal best values."""
    rng = np.random.default_rng(5)
    cases = [[3.0, 1.0, 1.0, 2.0], [1.0, 2.0, 1.0], [0.0, -0.0, 1.0], [2.0, 2.0], [7.0]]
    cases += [rng.integers(0, 6, n).astype(np.float64).tolist() for n in (5, 40, 300)]
    for values in cases:
        steps = np.arange(len(values)) * 10.0
        for goal, pick in (("min", np.argmin), ("max", np.argmax)):
            h = stats.history_stats(steps, values, goal)
            i = int(pick(values))
            assert (h.best, h.step_of_best) == (values[i], steps[i]), (goal, values)


def test_history_stats_without_a_goal_or_points() -> None:
    h = stats.history_stats([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], None)
    assert h.points == 3 and h.trend.slope == 1.0 and h.spike_steps is None and math.isnan(h.best)
    empty = stats.history_stats([0.0], [NAN], "max")
    assert empty.points == 0 and empty.spike_steps is None and math.isnan(empty.plateau_start)


def _random_series(rng: np.random.Generator, n: int) -> np.ndarray:
    """Noise with ties (values on a coarse grid), flat runs, and sometimes NaN and +-Inf."""
    values = np.round(rng.normal(0.0, 1.0, n), 1)
    if n > 10 and rng.random() < 0.5:
        start = int(rng.integers(0, n - 5))
        values[start : start + int(rng.integers(2, 40))] = values[start]
    for special in (NAN, math.inf, -math.inf):
        if rng.random() < 0.3:
            values[rng.integers(0, n, int(rng.integers(1, 3)))] = special
    return values


@pytest.mark.parametrize("window", [7, 9, 11, 13, 15, 31])
def test_trailing_median_network_equals_np_median_on_random_series(
    window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every length around the groups of four windows, chunks of a few groups, NaN/Inf, ties."""
    monkeypatch.setattr(stats, "_CHUNK", 3)
    rng = np.random.default_rng(window)
    for n in [*range(window - 1, window + 14), 97, 250]:
        values = _random_series(rng, n)
        expected = [np.median(values[max(0, i - window + 1) : i + 1]) for i in range(n)]
        got = stats.trailing_median(values, window)
        assert np.array_equal(got, expected, equal_nan=True), (window, n, values.tolist())


def test_trailing_median_network_on_a_flat_and_a_monotone_series() -> None:
    flat = np.full(50, 2.5)
    assert stats.trailing_median(flat, 11).tolist() == flat.tolist()
    rising = np.arange(50.0)
    assert stats.trailing_median(rising, 11)[10:].tolist() == (rising[10:] - 5.0).tolist()


@pytest.mark.parametrize("goal", ["min", "max"])
@pytest.mark.parametrize("one_pass_below", [0, 1 << 15])
def test_records_by_block_equal_one_pass(
    goal: str, one_pass_below: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Few records (blocks skipped), many (every block searched), ties, flat and short series, a partial last
    block; with every series searched by blocks, and with the short ones in one pass."""
    monkeypatch.setattr(stats, "_RECORD_BLOCK", 8)
    monkeypatch.setattr(stats, "_RECORD_ONE_PASS_BELOW", one_pass_below)
    rng = np.random.default_rng(11)
    series = [
        np.full(40, 1.0),
        np.array([3.0]),
        np.array([2.0, 2.0, 1.0]),
        np.arange(100.0),
        -np.arange(100.0),
    ]
    for n in (9, 17, 64, 100, 301):
        series.append(np.round(5.0 / (1.0 + np.arange(n) / 10.0) + rng.normal(0.0, 0.3, n), 1))
        series.append(np.round(rng.normal(0.0, 1.0, n), 1))
    for values in series:
        values = values if goal == "min" else -values
        expected = [i for i in range(1, values.shape[0]) if _beats(values[i], values[:i], goal)]
        assert stats._records(values, goal).tolist() == expected, values.tolist()
        assert stats._records_in_one_pass(values, goal).tolist() == expected


def test_records_of_many_arrays_equal_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrays of different lengths (padded to whole blocks), both goals in one call, ties and -0.0,
    records in the first block, in later ones and in none."""
    monkeypatch.setattr(stats, "_RECORD_BLOCK", 8)
    rng = np.random.default_rng(12)
    arrays = [np.array([3.0]), np.array([2.0, 2.0, 1.0]), np.full(40, 1.0), np.arange(30.0), -np.arange(30.0)]
    for n in (7, 8, 9, 17, 64, 100):
        arrays.append(np.round(5.0 / (1.0 + np.arange(n) / 10.0) + rng.normal(0.0, 0.3, n), 1))
        ties = rng.integers(-2, 3, n).astype(np.float64)
        ties[rng.random(n) < 0.3] = -0.0
        arrays.append(ties)
    for trial in range(20):
        picked = [arrays[i] for i in rng.choice(len(arrays), rng.integers(1, 6), replace=False)]
        goals = [str(g) for g in rng.choice(["min", "max"], len(picked))]
        got = stats._records_of_many(picked, goals)
        assert len(got) == len(picked)
        for values, goal, records in zip(picked, goals, got):
            expected = [i for i in range(1, values.shape[0]) if _beats(values[i], values[:i], goal)]
            assert records.tolist() == expected, (trial, goal, values.tolist())


def _beats(value: float, before: np.ndarray, goal: str) -> bool:
    return bool(value < before.min()) if goal == "min" else bool(value > before.max())


@pytest.mark.parametrize("few", [0, 1024])
def test_plateau_gains_one_at_a_time_or_in_blocks_match_the_definition(
    few: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats, "_FEW_CANDIDATES", few)
    rng = np.random.default_rng(few)
    for n in (1, 2, 5, 40, 700):
        loss = np.round(5.0 / (1.0 + np.arange(n) / 50.0) + rng.normal(0.0, 0.05, n), 3)
        for tol in (0.0, 0.01, -0.5):
            for goal, values in (("min", loss), ("max", -loss)):
                expected = _plateau_reference(values.tolist(), goal, tol)
                assert stats.plateau_index(values, goal, tol, min_points=0) == expected


@pytest.mark.parametrize("window", [11, 7, 31, 10, 3])
def test_trailing_medians_of_many_arrays_equal_one_at_a_time(
    window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Arrays joined in batches of a few dozen values, one array alone in a batch, arrays long
    enough to go alone, arrays shorter than the window, NaN/Inf, ties; windows off the network too."""
    monkeypatch.setattr(stats, "_BATCH_POINTS", 40)
    rng = np.random.default_rng(window)
    lengths = [1, window - 1, window, window + 1, 13, 14, 15, 16, 17, 39, 40, 41, 97, 5, 3, 60, 2, 22]
    arrays = [np.empty(0), *(_random_series(rng, n) for n in lengths)]
    got: list[Any] = [None] * len(arrays)
    for group, medians in stats._trailing_medians_by_group(arrays, window):
        for i, m in zip(group, medians):
            got[i] = m
    assert len(got) == len(arrays)
    for a, out in zip(arrays, got):
        expected = [np.median(a[max(0, i - window + 1) : i + 1]) for i in range(a.shape[0])]
        assert np.array_equal(out, expected, equal_nan=True), (window, a.tolist())


def test_many_history_stats_equal_the_separate_statistics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "_BATCH_POINTS", 64)
    rng = np.random.default_rng(3)
    histories: list[tuple[np.ndarray, np.ndarray, str | None]] = []
    for i, n in enumerate([0, 1, 2, 3, 12, 30, 31, 80, 200, 7, 45]):
        steps = np.arange(float(n)) * 2.0
        values = 3.0 / (1.0 + steps / 10.0) + rng.normal(0.0, 0.05, n)
        values[rng.integers(0, max(n, 1), n // 15)] += 2.0  # spikes
        if n > 5:
            values[n // 2] = NAN
        histories.append((steps, -values if i % 3 == 1 else values, (None, "max", "min")[i % 3]))
    got = stats.many_history_stats(histories)
    for (steps, values, goal), h in zip(histories, got):
        assert h.trend == stats.recent_trend(steps, values)
        if goal is None or h.points == 0:
            assert h.spike_steps is None
            continue
        assert h.improvement == stats.relative_improvement(steps, values, goal) or math.isnan(h.improvement)
        assert h.plateau_start == stats.plateau_start(steps, values, goal) or math.isnan(h.plateau_start)
        assert h.spike_steps is not None
        assert h.spike_steps.tolist() == stats.spike_steps(steps, values, goal).tolist()
    assert sum(h.spike_steps.shape[0] for h in got if h.spike_steps is not None) > 5


def test_spearman_with_b_ranks_given_still_drops_non_finite_pairs() -> None:
    # (found in review: with b's ranks given, a NaN in a was ranked instead of dropped)
    a = [1.0, 2.0, float("nan"), 4.0, 5.0]
    b = [2.0, 1.0, 3.0, 5.0, 4.0]
    want = stats.spearman(a, b)
    assert stats.spearman(a, b, stats.ranks(np.asarray(b))) == want
    assert stats.spearman(b, a, stats.ranks(np.asarray(a))) == stats.spearman(b, a)


def test_records_of_many_pads_no_array_to_more_than_twice_its_length(monkeypatch: pytest.MonkeyPatch) -> None:
    # a group of trailing medians can hold one long series and many short ones: they are searched
    # apart, not all padded to the long one
    monkeypatch.setattr(stats, "_RECORD_BLOCK", 8)
    seen: list[list[int]] = []
    alike = stats._records_of_alike

    def watched(arrays: list[np.ndarray], goals: list[str]) -> list[np.ndarray]:
        seen.append([a.shape[0] for a in arrays])
        return alike(arrays, goals)

    monkeypatch.setattr(stats, "_records_of_alike", watched)
    arrays = [np.arange(1000.0), *[np.arange(float(n)) for n in (3, 5, 20, 40, 50, 900)]]
    got = stats._records_of_many(arrays, ["max"] * len(arrays))
    assert [r.tolist() for r in got] == [list(range(1, a.shape[0])) for a in arrays]
    assert all(max(g) <= 2 * max(min(g), 8) for g in seen) and sorted(n for g in seen for n in g) == sorted(
        a.shape[0] for a in arrays
    )
