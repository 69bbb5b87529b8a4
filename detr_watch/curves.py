"""Curves as a chart draws them, derived at render time from a series' whole history (numpy only).

The order is TensorBoard's: take the points of one run (or the stitched history), put them on the chosen
x unit, smooth over that whole run, and only then crop to the zoom window; `render.plot` down-samples
last. So neither a zoom nor a resize changes a smoothed value, and nothing is lost from the store.

NaN policy: `ema` passes non-finite values through without accumulating them; they are then dropped, as
are points that have no x in the chosen unit (an epoch or a time the log did not write). On a log scale,
non-positive values become NaN, which the plot draws as a gap in the line.
"""

from __future__ import annotations

import math
from typing import Hashable, NamedTuple, Optional, Sequence

import numpy as np
import numpy.typing as npt

from detr_watch.analysis import (
    Bins,
    EmaState,
    FloatArray,
    bins_more,
    bins_points,
    bins_state,
    ema_more,
    ema_state,
    stitch,
)
from detr_watch.analysis import percentiles as percentile_values
from detr_watch.memo import grow
from detr_watch.store import SeriesData, series_key
from detr_watch.view import MAX_SMOOTHING

ROBUST_PERCENTILES = (5.0, 95.0)  # TensorBoard's "ignore outliers in chart scaling"
STITCHED = -1  # the run number of a curve that is the stitched history of every run


class Curve(NamedTuple):
    """One drawn line: `y` is smoothed when smoothing applies, and `raw` then holds the points as logged."""

    run: int
    x: FloatArray
    y: FloatArray
    raw: Optional[FloatArray]
    # (the store's arrays, a name): x, y and raw only grow at their end as those arrays do (`compact`)
    origin: Optional[tuple[tuple[object, ...], Hashable]] = None


def x_values(series: SeriesData, mode: str, t0: float) -> tuple[FloatArray, str]:
    """x of every point in the unit `mode` asks for, and the unit used ("epoch", "iter" or "hours").

    An epoch or a time the log does not have falls back to the series' own axis, so the chart always
    says what its x really is.
    """
    if mode == "epoch" and series.axis != "epoch" and np.isfinite(series.epochs).any():
        return series.epochs, "epoch"
    if mode == "time" and math.isfinite(t0) and np.isfinite(series.times).any():
        return (series.times - t0) / 3600.0, "hours"
    return series.steps, series.axis


def per_epoch(series: SeriesData) -> bool:
    """Whether the series has one value per epoch: on the epoch axis, or on the iteration axis at
    whole epochs only (an evaluation after each epoch). Such values are averages already."""
    if series.axis == "epoch":
        return True
    return bool(series.epochs.shape[0]) and whole_epochs(series.epochs)


def whole_epochs(epochs: FloatArray) -> bool:
    """Whether every epoch is known and whole (true of none)."""
    return bool(np.all(np.isfinite(epochs))) and bool(np.all(epochs == np.round(epochs)))


def first_time(series: Sequence[SeriesData]) -> float:
    """The earliest wall-clock time of any point (x as time is hours since then); NaN when none."""
    firsts = [float(np.nanmin(s.times)) for s in series if len(s) and np.isfinite(s.times).any()]
    return min(firsts) if firsts else math.nan


def run_indices(runs: npt.ArrayLike) -> list[tuple[int, Optional[npt.NDArray[np.intp]]]]:
    """(run, indices of its points) in run order; None for the indices of a series of one run (all
    of its points: no index array as long as the history)."""
    rs = np.asarray(runs).reshape(-1)
    if rs.shape[0] == 0:
        return []
    if rs[0] == rs[-1] and np.all(rs == rs[0]):
        return [(int(rs[0]), None)]
    return [(int(r), np.flatnonzero(rs == r)) for r in np.unique(rs).tolist()]


def curves(
    series: SeriesData,
    *,
    x_mode: str = "step",
    t0: float = math.nan,
    smoothing: float = 0.0,
    stitched: bool = False,
    run_starts: Optional[dict[int, float]] = None,
) -> tuple[list[Curve], str]:
    """The curves of one series (one per run, or one stitched history) and the x unit they use."""
    xs, unit = x_values(series, x_mode, t0)
    parts: list[tuple[int, Optional[npt.NDArray[np.intp]]]]
    if stitched:
        keep = stitch(series.steps, series.runs, run_starts)
        parts = [(STITCHED, None if keep.all() else np.flatnonzero(keep))]
    else:
        parts = run_indices(series.runs)
    w = min(max(smoothing, 0.0), MAX_SMOOTHING)
    arrays, key = series_key(series)
    out: list[Curve] = []
    for run, idx in parts:
        if idx is None:  # every point, in order: no copy of the whole history
            x, raw = xs, series.values
        else:
            x, raw = xs[idx], series.values[idx]
        if w > 0:
            starts = tuple(sorted(run_starts.items())) if stitched and run_starts else None
            y = smoothed(series, raw, idx, w, ("curve", run), starts)
        else:
            y = raw
        # a run's points are picked by what they are and new points join the newest run, so each
        # curve of an unstitched history is the one before with points added at its end
        origin = (
            None
            if stitched
            else (tuple(arrays), (series.name, key[1], run, w, unit, t0 if unit == "hours" else 0))
        )
        if origin is None or _nonfinite(x, y, origin):
            ok = np.isfinite(x) & np.isfinite(y)
            if not ok.any():
                continue
            if not ok.all():
                x, y, raw = x[ok], y[ok], raw[ok]
        elif x.shape[0] == 0:
            continue
        out.append(Curve(run, x, y, raw if w > 0 else None, origin))
    return out, unit


def _nonfinite(x: FloatArray, y: FloatArray, origin: tuple[tuple[object, ...], Hashable]) -> int:
    """How many of the points are not finite in x or y, counted over new points only (x and y grow
    at their end as the arrays of `origin` do)."""
    arrays, name = origin

    def count(a: int) -> int:
        return int(x.shape[0] - a - np.count_nonzero(np.isfinite(x[a:]) & np.isfinite(y[a:])))

    return grow(
        ("nonfinite", name), list(arrays), name, x.shape[0], lambda: count(0), lambda a, c: c + count(a)
    )


def smoothed(
    series: SeriesData,
    raw: FloatArray,
    idx: Optional[npt.NDArray[np.intp]],
    weight: float,
    tag: Hashable,
    starts: Hashable = None,
) -> FloatArray:
    """`ema(raw, weight)` where `raw` is `series.values` (idx None) or `series.values[idx]`, kept with
    the points it covers and extended over new ones only (the same floats: `analysis.ema_more`).

    `idx` must ascend and pick points by what they are (their run; or what `stitch` keeps with the
    given `starts`, which new points can only shrink over the old ones): the kept result is used
    when the points it covers are still the first `covered` of `raw`, as their count tells.
    `tag` names the caller, so two callers with different `starts` do not evict each other.
    """
    arrays, key = series_key(series)
    slot = ("ema", tag, series.name, key[1], weight)

    def full() -> EmaState:
        return ema_state(raw, weight)

    def more(covered: int, previous: EmaState) -> EmaState:
        picked = covered if idx is None else int(np.searchsorted(idx, covered))
        if picked != previous.covered:
            return full()
        return ema_more(raw, weight, previous)

    return grow(slot, arrays, starts, len(series), full, more).values


COMPACT_FROM = 20_000  # points from which a line is drawn from its x bins (`compact`)


def compact(curve: Curve, y: FloatArray, tag: str) -> tuple[FloatArray, FloatArray]:
    """`curve.x` and `y` (its `y` or `raw`, as `tag` says), or for a long line that only grows at
    its end, the points of its x bins (`analysis.bins_points`: ~2,000 points that keep every bin's
    extremes, which min/max per character column then thins): updated over new points only, so a
    record does not make a chart read the whole history again. A line that is not finite or not
    ascending in x is returned whole."""
    n = curve.x.shape[0]
    if curve.origin is None or n < COMPACT_FROM or y.shape[0] != n:
        return curve.x, y
    arrays, name = curve.origin

    def full() -> Optional[Bins]:
        return bins_state(curve.x, y)

    def more(covered: int, previous: Optional[Bins]) -> Optional[Bins]:
        return None if previous is None else bins_more(curve.x, y, previous)

    got = grow(("bins", tag, name), list(arrays), name, n, full, more)
    return (curve.x, y) if got is None else bins_points(got)


def nice_floor(x: float) -> float:
    """The largest of 1, 2, 5 x 10^k that is at most `x` (> 0)."""
    if not x > 0 or not math.isfinite(x):
        return x
    k = math.floor(math.log10(x))
    for m in (5.0, 2.0, 1.0):
        v = m * 10.0**k
        if v <= x * (1 + 1e-12):
            return v
    return 10.0**k  # pragma: no cover - m = 1 always fits


def zoom_window(x_min: float, x_max: float, zoom: int) -> Optional[float]:
    """The length of the last stretch shown at zoom level `zoom` (0: everything, None).

    Each level halves the span, rounded down to 1, 2 or 5 x 10^k so the chart can say "last 50".
    """
    if zoom <= 0 or not x_max > x_min:
        return None
    return nice_floor((x_max - x_min) / 2.0**zoom)


def crop(curve: Curve, lo: float) -> Curve:
    """The part of `curve` at x >= lo."""
    keep = curve.x >= lo
    if keep.all():
        return curve
    raw = curve.raw[keep] if curve.raw is not None else None
    return Curve(curve.run, curve.x[keep], curve.y[keep], raw)


def log_gaps(y: FloatArray) -> FloatArray:
    """`y` with non-positive values as NaN: on a log scale they are gaps, not errors."""
    if np.all(y > 0):
        return y
    out = y.copy()
    out[~(y > 0)] = np.nan
    return out


def robust_range(
    arrays: Sequence[FloatArray], percentiles: tuple[float, float] = ROBUST_PERCENTILES, log: bool = False
) -> Optional[tuple[float, float]]:
    """The y range from the 5th to the 95th percentile of every finite value (positive ones on a log
    scale), with 5% margin (in log space on a log scale); None when it would be empty or a point."""
    parts = [a[np.isfinite(a) & (a > 0)] if log else a[np.isfinite(a)] for a in arrays]
    values = np.concatenate(parts) if parts else np.empty(0)
    if values.shape[0] < 2:
        return None
    if log:
        values = np.log10(values)
    lo, hi = percentile_values(values, percentiles)
    if not hi > lo:
        return None
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    return (10.0**lo, 10.0**hi) if log else (lo, hi)
