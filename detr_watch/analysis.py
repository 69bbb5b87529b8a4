"""Numbers derived from a series at render time: min/max decimation, trend, best value, smoothing.

numpy only. Inputs are 1-D float arrays of equal length (steps and values); nothing is modified.

NaN/Inf policy: a point is *finite* when both its step and its value are finite. Non-finite points
are never drawn, never a best value and never part of a trend: `decimate_minmax`, `trend`, `best` and
`stitch` skip them (the line joins its finite neighbours), so one NaN loss cannot blank a chart or
poison a fit. They are not lost: the store keeps them, and callers count them with
`count_nonfinite` to say so on screen. `ema` passes them through unchanged (TensorBoard's rule).
A result that cannot be computed (no finite point) is NaN, never an exception.
"""

from __future__ import annotations

import math
from typing import Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_NAN = float("nan")


def _as_float(a: npt.ArrayLike) -> FloatArray:
    return np.asarray(a, dtype=np.float64).reshape(-1)


def finite_mask(x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where both x and y are finite."""
    return np.isfinite(_as_float(x)) & np.isfinite(_as_float(y))


def count_nonfinite(values: npt.ArrayLike) -> int:
    """How many values are NaN or +-Inf."""
    v = _as_float(values)
    return int(v.shape[0] - np.count_nonzero(np.isfinite(v)))


def decimate_minmax(x: npt.ArrayLike, y: npt.ArrayLike, n_buckets: int) -> tuple[FloatArray, FloatArray]:
    """Down-sample a line to at most about `2 * n_buckets + 2` points without hiding spikes.

    The x range is cut into `n_buckets` equal columns; in each column the points with the lowest
    and the highest y are kept (the first one on ties), plus the first and last point of the line,
    all in x order. Non-finite points are dropped first. A line that already has at most
    `2 * n_buckets` finite points is returned as it is. `x` must be ascending (it is sorted, stably,
    when it is not).
    """
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be at least 1, got {n_buckets}")
    xs, ys = _as_float(x), _as_float(y)
    if xs.shape != ys.shape:
        raise ValueError(f"x and y differ in length: {xs.shape[0]} != {ys.shape[0]}")
    keep = finite_mask(xs, ys)
    if not keep.all():
        xs, ys = xs[keep], ys[keep]
    n = xs.shape[0]
    if n > 1 and np.any(xs[1:] < xs[:-1]):
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]
    if n <= 2 * n_buckets:
        return xs.copy(), ys.copy()
    idx = (
        _minmax_columns(xs, ys, n_buckets) if n <= _LOOP_FROM * n_buckets else _minmax_loop(xs, ys, n_buckets)
    )
    return xs[idx], ys[idx]


_LOOP_FROM = 800  # points a column from which the loop over the columns is the faster


def _edges(xs: FloatArray, n_buckets: int) -> npt.NDArray[np.intp]:
    """Where each column starts and ends in sorted `xs`: column k holds lo + k*w <= x < lo + (k+1)*w
    (the last one also x == hi); a slice between two binary searches, no per-point bucket index."""
    n = xs.shape[0]
    lo, hi = float(xs[0]), float(xs[-1])
    edges = lo + (hi - lo) * np.arange(1, n_buckets) / n_buckets
    bounds: npt.NDArray[np.intp] = np.r_[0, np.searchsorted(xs, edges, side="left"), n]
    return bounds


def _picked(n: int, idx: Union[list[int], npt.NDArray[np.intp]]) -> npt.NDArray[np.intp]:
    """`idx` sorted and unique, as np.unique gives it (whose first call imports numpy.ma: 16 ms)."""
    picked = np.zeros(n, dtype=bool)
    picked[idx] = True
    return np.flatnonzero(picked)


def _minmax_loop(xs: FloatArray, ys: FloatArray, n_buckets: int) -> npt.NDArray[np.intp]:
    """The first, the last, and each column's lowest and highest point (the first on ties), a column
    at a time: ~10 us a column, the faster from `_LOOP_FROM` points a column (1.3 ms at 178k)."""
    n = xs.shape[0]
    bounds = _edges(xs, n_buckets)
    keep_idx = [0, n - 1]
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if b > a:
            column = ys[a:b]
            keep_idx.append(a + int(np.argmin(column)))  # argmin/argmax: the first on ties
            keep_idx.append(a + int(np.argmax(column)))
    return _picked(n, keep_idx)


def _minmax_columns(xs: FloatArray, ys: FloatArray, n_buckets: int) -> npt.NDArray[np.intp]:
    """What `_minmax_loop` picks, for all columns at once (reduceat): ~17 ns a point, the faster
    below `_LOOP_FROM` points a column (0.2 against 0.5-0.8 ms at 1,200 points in 78 columns)."""
    n = xs.shape[0]
    bounds = _edges(xs, n_buckets)
    starts = bounds[:-1][bounds[1:] > bounds[:-1]]  # the first point of each column that has one
    column = np.repeat(np.arange(starts.shape[0]), np.diff(np.r_[starts, n]))
    keep = [np.array([0, n - 1])]
    for reduce in (np.minimum, np.maximum):
        extreme = reduce.reduceat(ys, starts)
        hits = np.flatnonzero(ys == extreme[column])
        first = np.r_[True, column[hits][1:] != column[hits][:-1]]  # the first hit of each column
        keep.append(hits[first])
    return _picked(n, np.concatenate(keep))


def trend(steps: npt.ArrayLike, values: npt.ArrayLike, window: int) -> float:
    """Change over the last `window` finite points, as fitted by least squares.

    The slope of the least-squares line through those points times the step span they cover: with
    two points it is simply last minus first; with more, one spike at the end moves it far less
    than "last minus first" would. NaN when fewer than two finite points (or one distinct step).
    """
    if window < 2:
        raise ValueError(f"window must be at least 2, got {window}")
    xs, ys = _as_float(steps), _as_float(values)
    keep = finite_mask(xs, ys)
    xs, ys = xs[keep][-window:], ys[keep][-window:]
    if xs.shape[0] < 2:
        return _NAN
    dx = xs - xs.mean()
    denom = float(np.dot(dx, dx))
    if denom == 0.0:
        return _NAN
    slope = float(np.dot(dx, ys - ys.mean())) / denom
    return slope * float(xs.max() - xs.min())


def direction(change: float, scale: float, rel_tol: float = 1e-3) -> int:
    """-1, 0 or +1: whether `change` is a real move relative to the size `scale` of the values."""
    if not math.isfinite(change):
        return 0
    tol = rel_tol * abs(scale) if math.isfinite(scale) and scale != 0 else 0.0
    if abs(change) <= tol:
        return 0
    return 1 if change > 0 else -1


def best(values: npt.ArrayLike, steps: npt.ArrayLike, mode: str = "min") -> tuple[float, float]:
    """(best value, its step) over the finite values; the earliest on ties; (nan, nan) when none.

    mode "min" for losses and errors, "max" for AP/AR.
    """
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    ys, xs = _as_float(values), _as_float(steps)
    finite = np.flatnonzero(np.isfinite(ys))
    if finite.shape[0] == 0:
        return _NAN, _NAN
    picked = ys[finite]
    i = int(finite[np.argmin(picked) if mode == "min" else np.argmax(picked)])
    return float(ys[i]), float(xs[i])


def last_finite(values: npt.ArrayLike, steps: npt.ArrayLike) -> tuple[float, float]:
    """(value, step) of the newest finite value; (nan, nan) when none."""
    ys, xs = _as_float(values), _as_float(steps)
    finite = np.flatnonzero(np.isfinite(ys))
    if finite.shape[0] == 0:
        return _NAN, _NAN
    i = int(finite[-1])
    return float(ys[i]), float(xs[i])


def stitch(
    steps: npt.ArrayLike, runs: npt.ArrayLike, starts: Optional[Mapping[int, float]] = None
) -> npt.NDArray[np.bool_]:
    """Mask of the points that make one history out of restarted runs.

    A run that restarts (resumes from a checkpoint, or starts over) overwrites the steps it repeats:
    the points of an earlier run at or after the first step of any later run are dropped, as
    TensorBoard purges orphaned steps. `starts` maps run -> first step (of the whole log, so a series
    that a later run has not written yet is still cut); by default each run's first finite step here.
    Run numbers ascend in time. Within a run the steps ascend, so the result ascends.
    """
    xs = _as_float(steps)
    rs = np.asarray(runs).reshape(-1)
    n = xs.shape[0]
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep
    given: dict[int, float] = {} if starts is None else {int(r): float(s) for r, s in starts.items()}
    if rs[0] == rs[-1] and len(given.keys() - {int(rs[0])}) == 0 and np.all(rs == rs[0]):
        return keep  # one run, and no other run to cut it: the usual single-run log
    first: dict[int, float] = {}
    if np.all(rs[1:] >= rs[:-1]):  # the store's order: runs as contiguous blocks, no sort needed
        bounds = np.flatnonzero(np.r_[True, rs[1:] != rs[:-1], True])
        blocks = [(int(rs[a]), xs[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    else:
        blocks = [(int(run), xs[rs == run]) for run in np.unique(rs).tolist()]
    for run, run_steps in blocks:
        if run in given:
            continue  # the log's first step of this run wins over the series' own
        run_steps = run_steps[np.isfinite(run_steps)]
        if run_steps.shape[0]:
            first[run] = float(run_steps.min())
    first.update(given)
    if len(first) < 2:
        return keep
    limit = math.inf  # the first step of the runs after this one
    for run in sorted(first, reverse=True):
        if limit < math.inf:
            keep &= (rs != run) | (xs < limit)
        limit = min(limit, first[run])
    return keep


def ema(values: npt.ArrayLike, weight: float) -> FloatArray:
    """TensorBoard's debiased exponential moving average (smooth before down-sampling).

    weight is clamped to [0, 1]; non-finite values are passed through and not accumulated; a series
    whose finite values all equal the first is returned unchanged. The result is TensorBoard's loop
    (`last = last * w + (1 - w) * y; emit last / (1 - w ** n)`) computed a block at a time.
    """
    return ema_state(values, weight).values


class EmaState(NamedTuple):
    """`ema` of the first `covered` values, with what `ema_more` needs to extend it over more."""

    values: FloatArray  # ema(values[:covered], weight)
    weight: float  # clamped
    covered: int
    finite: int  # finite values among the covered ones
    constant: bool  # every finite value equals `first` (or none is finite): `values` is the input
    first: float
    start: int  # where the block being filled begins (the loop form: `covered`)
    done: int  # finite values before `start`: a multiple of the block length
    carry: float  # `last` (not debiased) after those `done` values


def ema_state(values: npt.ArrayLike, weight: float) -> EmaState:
    """`ema(values, weight)` and the state to extend it with `ema_more`."""
    ys = _as_float(values)
    w = min(max(float(weight), 0.0), 1.0)
    finite = np.isfinite(ys)
    y = ys[finite]
    n = int(ys.shape[0])
    if y.shape[0] == 0 or np.all(y == y[0]):
        first = float(y[0]) if y.shape[0] else _NAN
        return EmaState(ys.copy(), w, n, int(y.shape[0]), True, first, 0, 0, 0.0)
    return _ema_from(ys, finite, y, w, n, float(y[0]), 0, 0, 0.0, None)


def ema_more(values: npt.ArrayLike, weight: float, previous: EmaState) -> EmaState:
    """`ema_state(values, weight)` where `previous` is the state of a prefix of `values` (the points
    it covers are the same): the same floats, computed over the points from the last block boundary
    on. A series constant so far that gets a different value is recomputed whole."""
    ys = _as_float(values)
    w = min(max(float(weight), 0.0), 1.0)
    n = int(ys.shape[0])
    if w != previous.weight or previous.covered > n:
        return ema_state(ys, w)
    if previous.covered == n:
        return previous
    if previous.constant:
        new = ys[previous.covered :]
        y = new[np.isfinite(new)]
        first = previous.first if previous.finite else float(y[0]) if y.shape[0] else _NAN
        if not np.all(y == first):
            return ema_state(ys, w)
        out = np.concatenate((previous.values, new))
        return previous._replace(values=out, covered=n, finite=previous.finite + int(y.shape[0]), first=first)
    a = previous.start
    tail = ys[a:]
    finite = np.isfinite(tail)
    return _ema_from(
        ys, finite, tail[finite], w, n, previous.first, a, previous.done, previous.carry, previous.values
    )


def _ema_from(
    ys: FloatArray,
    finite: npt.NDArray[np.bool_],
    y: FloatArray,
    w: float,
    n: int,
    first: float,
    start: int,
    done: int,
    carry: float,
    before: Optional[FloatArray],
) -> EmaState:
    """The state over `ys` whose points before `start` are smoothed in `before` (when start > 0);
    `finite` is the mask of ys[start:] and `y` its finite values, the ones after the first `done`."""
    total = done + int(y.shape[0])
    if w == 1.0:
        smoothed = np.zeros(y.shape[0])  # `last` never leaves 0 and the spec emits it undebiased
        boundary, carry = total, 0.0
    elif w < _LOOP_BELOW:
        smoothed, carry = _ema_loop(y, w, done, carry)
        boundary = total
    else:
        # Within a block, last_j = w^(j+1) * (carry + (1 - w) * sum_{i<=j} y_i / w^(i+1)): a cumulative
        # sum instead of a Python loop. Blocks are short enough that w^-(block) stays far from
        # overflow. They start at multiples of `block` (so a continued series gets the same floats).
        block = max(1, min(_MAX_BLOCK, int(_MAX_EXPONENT / -math.log10(w))))
        powers = w ** np.arange(1, min(block, total) + 1)
        smoothed = np.empty(y.shape[0])
        boundary = done
        for a in range(0, y.shape[0], block):
            chunk = y[a : a + block]
            p = powers[: chunk.shape[0]]
            last = p * (carry + (1.0 - w) * np.cumsum(chunk / p))
            smoothed[a : a + chunk.shape[0]] = last
            if chunk.shape[0] == block:
                carry = float(last[-1])
                boundary = done + a + block
        # 1 - w^k is exactly 1.0 in float64 once w^k < 1e-17: only the first points need debiasing
        m = min(total, int(17.0 / -math.log10(w)) + 2)
        if done < m:
            smoothed[: m - done] /= 1.0 - w ** np.arange(done + 1, m + 1)
    out = np.empty(n)
    if start:
        assert before is not None
        out[:start] = before[:start]
    part = ys[start:].copy()
    part[finite] = smoothed
    out[start:] = part
    k = boundary - done  # the finite values of ys[start:] before the new boundary
    new_start = start if k == 0 else start + int(np.flatnonzero(finite)[k - 1]) + 1
    return EmaState(out, w, n, total, False, first, new_start, boundary, carry)


# Below this weight the block form would need blocks of one point: loop instead (nobody smooths so little).
_LOOP_BELOW = 1e-3
_MAX_BLOCK = 1024
_MAX_EXPONENT = 250.0  # w^-block <= 1e250: far from float64 overflow for any loss value


def _ema_loop(y: FloatArray, w: float, done: int = 0, last: float = 0.0) -> tuple[FloatArray, float]:
    """The loop over `y`, the finite values after the first `done`, from `last` after those."""
    out = np.empty_like(y)
    for i in range(y.shape[0]):
        last = last * w + (1.0 - w) * float(y[i])
        out[i] = last / (1.0 - w ** (done + i + 1))
    return out, last


def percentiles(values: FloatArray, qs: Sequence[float]) -> list[float]:
    """`np.percentile(values, qs)` (its default, linear method) of a non-empty 1-D array of finite
    values: the same floats, from one sort.

    Not np.percentile itself: its first call imports numpy.ma (16 ms of a first frame), and each
    call costs tens of microseconds of overhead in a loop over points. The same arithmetic as
    numpy's `_quantile` and `_lerp`: virtual index (n - 1) * (q / 100), interpolated from the lower
    neighbour below a weight of 0.5 and back from the upper one from 0.5 on.
    """
    v = np.sort(values)
    n = int(v.shape[0])
    out = []
    for q in qs:
        index = (n - 1) * (q / 100)
        lo = min(max(math.floor(index), 0), n - 1)
        hi = min(lo + 1, n - 1)
        g = index - lo if index < n - 1 else 0.0
        a, b = float(v[lo]), float(v[hi])
        d = b - a
        out.append(b - d * (1 - g) if g >= 0.5 else a + d * g)
    return out
