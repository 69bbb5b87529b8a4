"""Numbers derived from a series at render time: min/max decimation, trend, best value, smoothing.

numpy only. Inputs are 1-D float arrays of equal length (steps and values); nothing is modified.

NaN/Inf policy: a point is *finite* when both its step and its value are finite. Non-finite points
are never drawn, never a best value and never part of a trend: `decimate_minmax`, `trend`, `best` and
`stitch` skip them (the line joins its finite neighbours), so one NaN loss cannot blank a chart or
poison a fit. They are not lost: the store keeps them, and the status line counts them
(`alerts.nonfinite_points`) to say so on screen. `ema` passes them through unchanged (TensorBoard's
rule).
A result that cannot be computed (no finite point) is NaN, never an exception.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_NAN = float("nan")


def _as_float(a: npt.ArrayLike) -> FloatArray:
    return np.asarray(a, dtype=np.float64).reshape(-1)


def finite_mask(x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where both x and y are finite."""
    return np.isfinite(_as_float(x)) & np.isfinite(_as_float(y))


def decimate_minmax(
    x: npt.ArrayLike, y: npt.ArrayLike, n_buckets: int, *, finite: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Down-sample a line to at most about `2 * n_buckets + 2` points without hiding spikes.

    The x range is cut into `n_buckets` equal columns; in each column the points with the lowest
    and the highest y are kept (the first one on ties), plus the first and last point of the line,
    all in x order. Non-finite points are dropped first. A line that already has at most
    `2 * n_buckets` finite points is returned as it is. `x` must be ascending (it is sorted, stably,
    when it is not). `finite`: the caller has made every point finite (skips that check).
    """
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be at least 1, got {n_buckets}")
    xs, ys = _as_float(x), _as_float(y)
    if xs.shape != ys.shape:
        raise ValueError(f"x and y differ in length: {xs.shape[0]} != {ys.shape[0]}")
    if not finite:
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


_LOOP_FROM = 300  # points a column from which the loop over the columns is the faster


def _edges(xs: FloatArray, n_buckets: int) -> npt.NDArray[np.intp]:
    """Where each column starts and ends in sorted `xs`: column k holds lo + k*w <= x < lo + (k+1)*w
    (the last one also x == hi); a slice between two binary searches, no per-point bucket index."""
    n = xs.shape[0]
    lo, hi = float(xs[0]), float(xs[-1])
    edges = lo + (hi - lo) * np.arange(1, n_buckets) / n_buckets
    bounds: npt.NDArray[np.intp] = np.empty(n_buckets + 1, dtype=np.intp)  # np.r_ costs 30 us
    bounds[0], bounds[-1] = 0, n
    bounds[1:-1] = np.searchsorted(xs, edges, side="left")
    return bounds


def _picked(n: int, idx: Union[list[int], npt.NDArray[np.intp]]) -> npt.NDArray[np.intp]:
    """`idx` sorted and unique, as np.unique gives it (whose first call imports numpy.ma: 16 ms)."""
    picked = np.zeros(n, dtype=bool)
    picked[idx] = True
    return np.flatnonzero(picked)


def _minmax_loop(xs: FloatArray, ys: FloatArray, n_buckets: int) -> npt.NDArray[np.intp]:
    """The first, the last, and each column's lowest and highest point (the first on ties), a column
    at a time: ~3 us a column, the faster from `_LOOP_FROM` points a column (0.5 ms at 178k)."""
    n = xs.shape[0]
    bounds = _edges(xs, n_buckets).tolist()
    keep_idx = {0, n - 1}
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b > a:
            column = ys[a:b]
            keep_idx.add(a + int(column.argmin()))  # the first on ties; the method skips numpy's
            keep_idx.add(a + int(column.argmax()))  # dispatch, half the cost of np.argmin
    return np.array(sorted(keep_idx), dtype=np.intp)


def _minmax_columns(xs: FloatArray, ys: FloatArray, n_buckets: int) -> npt.NDArray[np.intp]:
    """What `_minmax_loop` picks, for all columns at once (reduceat): the faster below `_LOOP_FROM`
    points a column (0.1 against 0.27 ms at 1,200 points in 78 columns)."""
    n = xs.shape[0]
    bounds = _edges(xs, n_buckets)
    starts = bounds[:-1][bounds[1:] > bounds[:-1]]  # the first point of each column that has one
    keep = [
        np.array([0, n - 1]),
        _first_extreme(ys, starts, np.minimum),
        _first_extreme(ys, starts, np.maximum),
    ]
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
    # `values` is room[:covered] of this longer array, which the next `ema_more` fills on from `start`
    # (the floats it writes over [start, covered) are the ones already there)
    room: Optional[FloatArray] = None


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
        ys,
        finite,
        tail[finite],
        w,
        n,
        previous.first,
        a,
        previous.done,
        previous.carry,
        previous.values,
        previous.room,
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
    room: Optional[FloatArray] = None,
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
    if before is None:  # a whole series: no room, most are smoothed once
        room = np.empty(n)
    elif room is None or room.shape[0] < n:  # a growing one: room for half as many again
        room, old = np.empty(n + n // 2), room if room is not None else before
        room[:start] = old[:start]
    out = room[:n]
    part = ys[start:].copy()
    part[finite] = smoothed
    out[start:] = part
    k = boundary - done  # the finite values of ys[start:] before the new boundary
    new_start = start if k == 0 else start + int(np.flatnonzero(finite)[k - 1]) + 1
    return EmaState(out, w, n, total, False, first, new_start, boundary, carry, room)


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


class Bins(NamedTuple):
    """A long line's lowest and highest point in each x bin of width 2**k (bins aligned at multiples
    of it), over its first `covered` points, kept so that points appended later update the last bins
    only (`bins_more`). `k` follows from the x span alone, so `bins_more` gives what `bins_state`
    gives over all the points, float for float."""

    k: int
    ids: npt.NDArray[np.int64]  # each bin's number: floor(x / 2**k), ascending
    lo_x: FloatArray
    lo_y: FloatArray
    hi_x: FloatArray
    hi_y: FloatArray
    first: tuple[float, float]  # the line's first and last point, which min/max may not pick
    last: tuple[float, float]
    covered: int


BINS = 1024  # bins over the x span: at least 6 a character column on a chart 160 wide
_MAX_ID = 2.0**52  # bin numbers stay exact integers in float64


def _bin_width_exponent(span: float) -> int:
    """The k of 2**k-wide bins: the smallest making at most BINS bins of `span`."""
    if not span > 0:
        return 0
    return math.ceil(math.log2(span / BINS))


def bins_state(xs: FloatArray, ys: FloatArray) -> Optional[Bins]:
    """The bins of a line whose points are all finite, x ascending; None when it has no point, is
    not ascending or not finite (the caller decimates the whole line instead)."""
    n = xs.shape[0]
    if n == 0 or not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))) or np.any(xs[1:] < xs[:-1]):
        return None
    k = _bin_width_exponent(float(xs[-1]) - float(xs[0]))
    return _binned(xs, ys, k, (float(xs[0]), float(ys[0])), n)


def bins_more(xs: FloatArray, ys: FloatArray, previous: Bins) -> Optional[Bins]:
    """`bins_state(xs, ys)` where `previous` covers a prefix of these points: the bins from the last
    one on are computed again, earlier bins merged in pairs when the span has doubled."""
    n = xs.shape[0]
    if n == previous.covered:
        return previous
    new_x, new_y = xs[previous.covered :], ys[previous.covered :]
    if (
        not (np.all(np.isfinite(new_x)) and np.all(np.isfinite(new_y)))
        or np.any(new_x[1:] < new_x[:-1])
        or float(new_x[0]) < previous.last[0]
    ):
        return None
    k = _bin_width_exponent(float(new_x[-1]) - previous.first[0])
    if k < previous.k:  # the first points had no span at all (k 0): bin them all again
        return bins_state(xs, ys)
    if k == previous.k and np.floor(np.ldexp(float(new_x[-1]), -k)) == previous.ids[-1]:
        return _into_last_bin(new_x, new_y, previous, n)
    old = previous if k == previous.k else _coarser(previous, k)
    if old is None:
        return None
    # the last bin may get more points: it is binned again with the new ones
    start = int(np.searchsorted(xs[: previous.covered], np.ldexp(float(old.ids[-1]), k), side="left"))
    tail = _binned(xs[start:], ys[start:], k, old.first, n)
    if tail is None:
        return None
    keep = old.ids.shape[0] - 1
    return Bins(
        k,
        np.concatenate((old.ids[:keep], tail.ids)),
        np.concatenate((old.lo_x[:keep], tail.lo_x)),
        np.concatenate((old.lo_y[:keep], tail.lo_y)),
        np.concatenate((old.hi_x[:keep], tail.hi_x)),
        np.concatenate((old.hi_y[:keep], tail.hi_y)),
        old.first,
        tail.last,
        n,
    )


def _into_last_bin(new_x: FloatArray, new_y: FloatArray, b: Bins, n: int) -> Bins:
    """`b` with points that all fall in its last bin (a record on a long history, mostly): only that
    bin's extremes can change, and an earlier equal one stays the first."""
    lo_x, lo_y, hi_x, hi_y = b.lo_x, b.lo_y, b.hi_x, b.hi_y
    i = int(new_y.argmin())
    if new_y[i] < lo_y[-1]:
        lo_x, lo_y = lo_x.copy(), lo_y.copy()
        lo_x[-1], lo_y[-1] = new_x[i], new_y[i]
    i = int(new_y.argmax())
    if new_y[i] > hi_y[-1]:
        hi_x, hi_y = hi_x.copy(), hi_y.copy()
        hi_x[-1], hi_y[-1] = new_x[i], new_y[i]
    return Bins(b.k, b.ids, lo_x, lo_y, hi_x, hi_y, b.first, (float(new_x[-1]), float(new_y[-1])), n)


def bins_points(b: Bins) -> tuple[FloatArray, FloatArray]:
    """The line as drawn from its bins: the first point, each bin's lowest and highest point in x
    order (one when they are the same), the last point."""
    lo_first = b.lo_x <= b.hi_x
    x1 = np.where(lo_first, b.lo_x, b.hi_x)
    y1 = np.where(lo_first, b.lo_y, b.hi_y)
    x2 = np.where(lo_first, b.hi_x, b.lo_x)
    y2 = np.where(lo_first, b.hi_y, b.lo_y)
    same = (x1 == x2) & (y1 == y2)
    xs = np.stack((x1, x2), axis=1).reshape(-1)
    ys = np.stack((y1, y2), axis=1).reshape(-1)
    keep = ~np.stack((np.zeros_like(same), same), axis=1).reshape(-1)
    xs = np.concatenate(([b.first[0]], xs[keep], [b.last[0]]))
    ys = np.concatenate(([b.first[1]], ys[keep], [b.last[1]]))
    return xs, ys


def _binned(
    xs: FloatArray, ys: FloatArray, k: int, first: tuple[float, float], covered: int
) -> Optional[Bins]:
    """Bins of ascending finite points, each bin's first lowest and first highest point."""
    scaled = np.floor(np.ldexp(xs, -k))  # exact: a power-of-two scale, then floor
    if scaled.shape[0] and max(abs(float(scaled[0])), abs(float(scaled[-1]))) >= _MAX_ID:
        return None
    ids = scaled.astype(np.int64)
    starts = group_starts(ids)
    lo = _first_extreme(ys, starts, np.minimum)
    hi = _first_extreme(ys, starts, np.maximum)
    return Bins(
        k, ids[starts], xs[lo], ys[lo], xs[hi], ys[hi], first, (float(xs[-1]), float(ys[-1])), covered
    )


def _first_extreme(ys: FloatArray, starts: npt.NDArray[np.intp], reduce: np.ufunc) -> npt.NDArray[np.intp]:
    """Index of the first lowest (np.minimum) or highest (np.maximum) value of each group."""
    counts = np.empty(starts.shape[0], dtype=np.intp)
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1:] = ys.shape[0] - starts[-1:]
    extreme = reduce.reduceat(ys, starts)
    hits = np.flatnonzero(ys == extreme.repeat(counts))
    group = np.searchsorted(starts, hits, side="right")
    picked: npt.NDArray[np.intp] = hits[group_starts(group)]
    return picked


def group_starts(ids: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """Where each run of equal values begins (np.diff with prepend costs 20 us more)."""
    change = np.empty(ids.shape[0], dtype=bool)
    change[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=change[1:])
    return np.flatnonzero(change)


def _coarser(b: Bins, k: int) -> Optional[Bins]:
    """`b` with bins 2**k wide (k > b.k): each new bin is the union of old ones, which keeps the
    first of equal extremes (the earlier bin's)."""
    ids = b.ids >> (k - b.k)  # floor division by a power of two, also for negative numbers
    starts = group_starts(ids)
    lo = _first_extreme(b.lo_y, starts, np.minimum)
    hi = _first_extreme(b.hi_y, starts, np.maximum)
    return Bins(k, ids[starts], b.lo_x[lo], b.lo_y[lo], b.hi_x[hi], b.hi_y[hi], b.first, b.last, b.covered)
