"""Statistics of one training history: improvement, trend with its error, plateau, spikes, correlation.

numpy only. Inputs are 1-D float arrays (steps and values) of one stitched history (see
`analysis.stitch`); nothing is modified.

NaN/Inf policy: a point is used only when both its step and its value are finite; non-finite points
are dropped before any statistic (the summary reports how many: `nonfinite`). A statistic
that cannot be computed (too few points, zero variance, a zero reference) is NaN or None, never an
exception.

Definitions (the README repeats them):
- goal "min" (losses, errors) or "max" (AP/AR/precision/recall), from `roles.goal`; "better" follows it.
- relative improvement over the last 10% = (v90 - last) / |v90| for "min", (last - v90) / |v90| for
  "max", where v90 is the last finite value at or before first_step + 0.9 * (last_step - first_step);
  positive means the series still got better at the end.
- trend = least-squares slope of value against step over the last quarter of the finite points
  (at least 3), with its standard error sqrt(sum(residual^2) / (n - 2) / sum((x - mean x)^2)).
- plateau start = the step of the last point that beat the reference by more than `tol` (1%) of
  |reference|, where the reference is the first value and moves to each point that beats it so; a
  plateau is reported only when at least 3 points follow that step.
- spike = a point more than k = 5 robust standard deviations worse than the median of the trailing
  window of 11 points that ends at it; the robust standard deviation is 1.4826 * MAD of those
  residuals (1.2533 * their mean absolute deviation when the MAD is 0); the first 2 points are not
  tested.
- correlation = Pearson's r, and Spearman's rho (Pearson's r of the ranks, ties averaged), over the
  steps where both series are finite; needs 3 such steps and some variance in both.
"""

from __future__ import annotations

import bisect
import functools
import math
from typing import Iterator, NamedTuple, Optional, Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_NAN = float("nan")

IMPROVEMENT_FRACTION = 0.1
TREND_FRACTION = 0.25
TREND_MIN_POINTS = 3
PLATEAU_TOL = 0.01
PLATEAU_MIN_POINTS = 3
SPIKE_WINDOW = 11
SPIKE_K = 5.0
SPIKE_MIN_HISTORY = 3  # points in the trailing window (the point included) before a point is tested
MIN_CORRELATION_POINTS = 3

# 1.4826 * MAD and sqrt(pi/2) * mean absolute deviation estimate the standard deviation of a normal.
_MAD_TO_SD = 1.4826
_MEANAD_TO_SD = math.sqrt(math.pi / 2)


class Fit(NamedTuple):
    """A least-squares line: slope per step, its standard error, and how many points it used."""

    slope: float
    stderr: float
    points: int


def _as_float(a: npt.ArrayLike) -> FloatArray:
    return np.asarray(a, dtype=np.float64).reshape(-1)


def finite_points(steps: npt.ArrayLike, values: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """The points whose step and value are both finite, in their order.

    When every point is finite the inputs come back as they are (no copy).
    """
    xs, ys = _as_float(steps), _as_float(values)
    keep = np.isfinite(xs)
    keep &= np.isfinite(ys)
    if keep.all():
        return xs, ys
    return xs[keep], ys[keep]


def _as_floats(steps: npt.ArrayLike, values: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    return _as_float(steps), _as_float(values)


def _finite_only(ys: FloatArray) -> FloatArray:
    """The finite values of ys; ys itself when all are."""
    keep = np.isfinite(ys)
    return ys if keep.all() else ys[keep]


def _check_goal(goal: str) -> None:
    if goal not in ("min", "max"):
        raise ValueError(f"goal must be 'min' or 'max', got {goal!r}")


def relative_improvement(
    steps: npt.ArrayLike, values: npt.ArrayLike, goal: str, fraction: float = IMPROVEMENT_FRACTION
) -> float:
    """How much the series got better over the last `fraction` of its step span, relative to where it was.

    NaN with fewer than 2 finite points, a zero step span, or a zero reference value.
    """
    _check_goal(goal)
    return _relative_improvement(*finite_points(steps, values), goal, fraction)


def _relative_improvement(xs: FloatArray, ys: FloatArray, goal: str, fraction: float) -> float:
    if xs.shape[0] < 2:
        return _NAN
    first, last_step = float(xs[0]), float(xs[-1])
    if not last_step > first:
        return _NAN
    cut = first + (1.0 - fraction) * (last_step - first)
    i = int(np.searchsorted(xs, cut, side="right")) - 1
    ref, last = float(ys[i]), float(ys[-1])
    if ref == 0.0:
        return _NAN
    change = (ref - last) if goal == "min" else (last - ref)
    return change / abs(ref)


def _dot(a: FloatArray, b: FloatArray) -> float:
    """Sum of a * b in numpy's pairwise order.

    Not np.dot: OpenBLAS splits a long dot product over its threads, so the last bits depend on
    the machine's core count, and on a busy machine it waits milliseconds for those threads.
    """
    return float(np.add.reduce(a * b))


def linear_fit(x: npt.ArrayLike, y: npt.ArrayLike) -> Fit:
    """Least-squares slope of y on x over the finite points, with its standard error.

    slope NaN with fewer than 2 points or one distinct x; stderr NaN with fewer than 3.
    """
    return _fit(*finite_points(x, y))


def _fit(xs: FloatArray, ys: FloatArray) -> Fit:
    """`linear_fit` of finite points. The means are np.mean's floats (its sum over the count)
    without its Python layers (7 us a call)."""
    n = int(xs.shape[0])
    if n < 2:
        return Fit(_NAN, _NAN, n)
    dx = xs - float(np.add.reduce(xs)) / n
    sxx = _dot(dx, dx)
    if sxx == 0.0:
        return Fit(_NAN, _NAN, n)
    dy = ys - float(np.add.reduce(ys)) / n
    slope = _dot(dx, dy) / sxx
    if n < 3:
        return Fit(slope, _NAN, n)
    resid = dy - slope * dx
    return Fit(slope, math.sqrt(_dot(resid, resid) / (n - 2) / sxx), n)


def recent_trend(
    steps: npt.ArrayLike,
    values: npt.ArrayLike,
    fraction: float = TREND_FRACTION,
    min_points: int = TREND_MIN_POINTS,
) -> Fit:
    """`linear_fit` over the last `fraction` of the finite points (at least `min_points`, or all)."""
    xs, ys = finite_points(steps, values)
    k = max(min_points, math.ceil(fraction * xs.shape[0]))
    return linear_fit(xs[-k:], ys[-k:])


def plateau_index(
    values: npt.ArrayLike, goal: str, tol: float = PLATEAU_TOL, min_points: int = PLATEAU_MIN_POINTS
) -> Optional[int]:
    """Index (into the finite values) of the last significant improvement, when a plateau follows it.

    A value is a significant improvement when it beats the reference by more than `tol * |reference|`;
    the reference starts at the first value and moves only on significant improvements, so a slow
    steady descent still counts once it adds up. None unless at least `min_points` values follow.
    """
    _check_goal(goal)
    return _plateau_index(_finite_only(_as_float(values)), goal, tol, min_points)


def _plateau_index(
    ys: FloatArray, goal: str, tol: float, min_points: int, records: Optional[IntArray] = None
) -> Optional[int]:
    """`plateau_index` of finite values; `records` is `_records(ys, goal)` when the caller has it."""
    n = ys.shape[0]
    if n == 0:
        return None
    if tol >= 0.0:
        # With tol >= 0 a gain is better than every value before it: earlier gains are references
        # it beat or worse, and a value that was no gain against some reference is worse than the
        # next gain against it. So only new records (of the running min or max) are candidates.
        where = _records(ys, goal) if records is None else records
    else:
        where = np.arange(1, n)
    if where.shape[0] <= _FEW_CANDIDATES:
        last_gain = _last_gain(ys[where].tolist(), where.tolist(), float(ys[0]), goal, tol)
    else:
        last_gain = _last_gain_in_blocks(ys, where, goal, tol)
    if n - 1 - last_gain < min_points:
        return None
    return last_gain


# Up to this many candidates the gains are found one float at a time (numpy's calls cost more).
_FEW_CANDIDATES = 1024


def _last_gain(candidates: list[float], where: list[int], ref: float, goal: str, tol: float) -> int:
    """`_plateau_index`'s last gain, the candidates taken one at a time (the same float operations)."""
    last_gain = 0
    for value, i in zip(candidates, where):
        gain = ref - value if goal == "min" else value - ref
        if gain > tol * abs(ref):
            ref, last_gain = value, i
    return last_gain


def _last_gain_in_blocks(ys: FloatArray, where: IntArray, goal: str, tol: float) -> int:
    """`_plateau_index`'s last gain among ys[where], searched with numpy."""
    candidates = ys[where]
    ref = float(ys[0])
    last_gain = 0
    # The next gain is searched in blocks that double while none is found: close to one pass over
    # the candidates however many gains there are. For "min" the gain is ref - value, the same
    # float as (-value) - (-ref) on the negated series.
    i, block, m = 0, 256, candidates.shape[0]
    while i < m:
        chunk = candidates[i : i + block]
        gain = ref - chunk if goal == "min" else chunk - ref
        hit = np.flatnonzero(gain > tol * abs(ref))
        if hit.shape[0]:
            i += int(hit[0])
            last_gain = int(where[i])
            ref = float(ys[last_gain])
            i, block = i + 1, 256
        else:
            i += block
            block *= 2
    return last_gain


# Values per block in the search for records: a block without one costs a reduction, not a pass.
_RECORD_BLOCK = 256
# Shorter series are searched in one pass: the blocks' dozen numpy calls cost more (30 values: 77 us
# instead of 10; 20k values of a real loss: 111 us instead of 99; 178k: 665 us instead of 884).
_RECORD_ONE_PASS_BELOW = 1 << 15


def _records(ys: FloatArray, goal: str) -> IntArray:
    """Indices i >= 1 where ys[i] is better than every value before it (ys holds no NaN), ascending.

    Series shorter than `_RECORD_ONE_PASS_BELOW` are searched in one pass, longer ones by blocks
    (`_records_of_alike`).
    """
    if ys.shape[0] < _RECORD_ONE_PASS_BELOW:
        return _records_in_one_pass(ys, goal)
    return _records_of_alike([ys], [goal])[0]


def _records_of_many(arrays: Sequence[FloatArray], goals: Sequence[str]) -> list[IntArray]:
    """`_records(a, g)` of each array (none holds NaN) and its goal: arrays of similar lengths
    searched together (`_records_of_alike`), so that padding never more than doubles the work (a
    group of trailing medians can hold a 100k-point train series with 60 test series of 50)."""
    order = sorted(range(len(arrays)), key=lambda i: arrays[i].shape[0])
    out: list[IntArray] = [_NO_RECORDS] * len(arrays)
    start = 0
    while start < len(order):
        longest = 2 * max(arrays[order[start]].shape[0], _RECORD_BLOCK)
        end = start + 1
        while end < len(order) and arrays[order[end]].shape[0] <= longest:
            end += 1
        alike = order[start:end]
        for i, records in zip(
            alike, _records_of_alike([arrays[i] for i in alike], [goals[i] for i in alike])
        ):
            out[i] = records
        start = end
    return out


_NO_RECORDS: IntArray = np.empty(0, dtype=np.intp)


def _records_of_alike(arrays: Sequence[FloatArray], goals: Sequence[str]) -> list[IntArray]:
    """`_records(a, g)` of each array (none holds NaN) and its goal, searched together by blocks.

    A block holds a record exactly when its best value beats everything before the block, and in
    a training curve few blocks do: only those are searched, with the best value before each one
    leading its row. All the arrays at once, each array a row (negated for "max": the same
    comparisons) padded with +inf (never a record) to whole blocks: a dozen numpy calls for the
    lot instead of a running minimum per array (102 series of 20k points: 1.5 ms instead of 9).
    """
    width = _RECORD_BLOCK
    k = len(arrays)
    blocks = max(1, -(-max(a.shape[0] for a in arrays) // width))
    rows = np.empty((k, blocks * width))
    for row, a, g in zip(rows, arrays, goals):
        n = a.shape[0]
        if g == "min":
            row[:n] = a
        else:
            np.negative(a, out=row[:n])
        row[n:] = math.inf
    grid_view = rows.reshape(k, blocks, width)
    heads = np.minimum.reduce(grid_view, axis=2)
    before = np.minimum.accumulate(heads, axis=1)
    # the blocks that hold a record: each row's first block, and those whose best beats all before
    searched = np.empty((k, blocks), dtype=bool)
    searched[:, 0] = True
    np.less(heads[:, 1:], before[:, :-1], out=searched[:, 1:])
    row_of, block_of = np.nonzero(searched)
    grid = np.empty((row_of.shape[0], width + 1))
    # each searched block led by the best value before it; a row's first block by +inf, so that its
    # first value is a "record" at 0, dropped below
    grid[:, 0] = np.where(block_of == 0, math.inf, before[row_of, block_of - 1])
    grid[:, 1:] = grid_view[row_of, block_of]
    best = np.minimum.accumulate(grid, axis=1)
    hit_row, hit_col = np.nonzero(grid[:, 1:] < best[:, :-1])
    where = block_of[hit_row] * width + hit_col
    owner = row_of[hit_row]
    keep = where > 0
    where, owner = where[keep], owner[keep]
    ends = np.cumsum(np.bincount(owner, minlength=k)).tolist()
    return [where[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def _records_in_one_pass(ys: FloatArray, goal: str) -> IntArray:
    """`_records` over the whole array: the running best, and the values that beat it."""
    best = np.minimum.accumulate(ys) if goal == "min" else np.maximum.accumulate(ys)
    ahead = ys[1:] < best[:-1] if goal == "min" else ys[1:] > best[:-1]
    del best
    out: IntArray = np.flatnonzero(ahead) + 1
    return out


def plateau_start(
    steps: npt.ArrayLike,
    values: npt.ArrayLike,
    goal: str,
    tol: float = PLATEAU_TOL,
    min_points: int = PLATEAU_MIN_POINTS,
) -> float:
    """The step where the plateau starts (see `plateau_index`), or NaN when there is none."""
    xs, ys = finite_points(steps, values)
    i = plateau_index(ys, goal, tol, min_points)
    return _NAN if i is None else float(xs[i])


def trailing_median(values: npt.ArrayLike, window: int) -> FloatArray:
    """Median of the last `window` values up to and including each one (fewer at the start).

    A window that holds a NaN has a NaN median (as `np.median`); +-Inf are ordinary values.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    ys = _as_float(values)
    n = ys.shape[0]
    out = np.empty(n)
    _prefix_medians(ys[: min(window - 1, n)], out)  # the points with fewer than `window` values so far
    if n < window:
        return out
    if window % 2 and _NETWORK_MIN_WINDOW <= window <= _NETWORK_MAX_WINDOW:
        _odd_window_medians(ys, window, out[window - 1 :])
    else:
        windows = np.lib.stride_tricks.sliding_window_view(ys, window)
        for a in range(0, windows.shape[0], _CHUNK):  # a chunk at a time: no window-times-n copy
            out[window - 1 + a : window - 1 + a + _CHUNK] = np.median(windows[a : a + _CHUNK], axis=1)
    return out


def _trailing_medians_by_group(
    arrays: list[FloatArray], window: int
) -> Iterator[tuple[list[int], list[FloatArray]]]:
    """`trailing_median(a, window)` of each array, the same floats, short arrays taken together,
    given as they are computed: (indices, their medians) of a batch of short arrays or of one long
    one, so that a caller done with them holds one group at a time.

    The full windows of arrays shorter than `_BATCH_POINTS` go through one `_odd_window_medians`
    call on their concatenation, up to about `_BATCH_POINTS` values at a time: its medians are
    exact order statistics, so a window does not care which group of four it falls in, and the
    windows that span two arrays are computed and overwritten. 103 series of 20k points: 34 ms
    instead of 48 ms (a call per array pays its setup and its last windows one by one).
    """
    if not (window % 2 and _NETWORK_MIN_WINDOW <= window <= _NETWORK_MAX_WINDOW):
        for i, a in enumerate(arrays):
            yield [i], [trailing_median(a, window)]
        return
    batch: list[int] = []
    size = 0
    for i, a in enumerate(arrays):
        n = a.shape[0]
        if n < window or n >= _BATCH_POINTS:
            yield [i], [trailing_median(a, window)]
            continue
        batch.append(i)
        size += n
        if size >= _BATCH_POINTS:
            yield batch, _batch_medians(arrays, batch, window)
            batch, size = [], 0
    if batch:
        yield batch, _batch_medians(arrays, batch, window)


def _batch_medians(arrays: list[FloatArray], batch: list[int], window: int) -> list[FloatArray]:
    """The trailing median of arrays[i] for each i in batch (each at least `window` long): views
    into one buffer that holds, `window - 1` places on, the medians of the arrays joined."""
    joined = np.concatenate([arrays[i] for i in batch])
    buf = np.empty(joined.shape[0])
    _odd_window_medians(joined, window, buf[window - 1 :])
    outs = []
    start = 0
    for i in batch:
        a = arrays[i]
        out = buf[start : start + a.shape[0]]
        _prefix_medians(a[: window - 1], out)  # over the windows that span the previous array
        outs.append(out)
        start += a.shape[0]
    return outs


def _prefix_medians(ys: FloatArray, out: FloatArray) -> None:
    """out[i] = np.median(ys[: i + 1]) for each i (a short prefix), the values kept sorted as they come."""
    seen: list[float] = []
    for i, y in enumerate(ys.tolist()):
        if math.isnan(y):
            out[i : ys.shape[0]] = _NAN  # every later prefix holds it too
            return
        bisect.insort(seen, y)
        half = (i + 1) // 2
        out[i] = seen[half] if i % 2 == 0 else (seen[half - 1] + seen[half]) / 2.0


# Odd windows from 7 up to this size go through the selection network; others through np.median.
_NETWORK_MIN_WINDOW = 7
_NETWORK_MAX_WINDOW = 31
# Arrays shorter than this have their trailing medians taken together, about this many values at a time.
_BATCH_POINTS = 1 << 17
# Elements per array in a chunked pass: 64 KB temporaries (178k points, window 11: 2.4 ms; 128 KB: 3.1 ms).
_CHUNK = 8192


@functools.cache
def _middle_network(n: int) -> tuple[tuple[int, int, bool, bool], ...]:
    """Steps that leave the four middle order statistics of n wires (n even, at least 4) on wires
    n // 2 - 2 to n // 2 + 1.

    Batcher's odd-even merge sort for the next power of two, without the comparators that touch a
    wire >= n (those wires would hold +inf and never move) and without its first layer, which sorts
    the pairs (0, 1), (2, 3), ... (the caller sorts them), pruned backwards: a step (a, b, lo, hi)
    puts min(wire a, wire b) on a when `lo` and their max on b when `hi`, only what a later step or
    an output reads.
    """
    size = 1
    while size < n:
        size *= 2
    pairs = []
    p = 2
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p) and i + j + k < n:
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    needed = set(range(n // 2 - 2, n // 2 + 2))
    steps = []
    for a, b in reversed(pairs):
        lo, hi = a in needed, b in needed
        if lo or hi:
            steps.append((a, b, lo, hi))
            needed |= {a, b}
    return tuple(reversed(steps))


def _pair(
    pairs: tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]], u: int, size: int
) -> tuple[FloatArray, FloatArray]:
    """The sorted pair (ys[4g + 2u + 1], ys[4g + 2u + 2]) of the `size` groups g of a chunk, from
    the (min, max) arrays of its pairs at even and at odd u."""
    low, high = pairs[u % 2]
    return low[u // 2 : u // 2 + size], high[u // 2 : u // 2 + size]


def _odd_window_medians(ys: FloatArray, window: int, out: FloatArray) -> None:
    """out[j] = median of ys[j : j + window] for every full window (`window` odd, at least 7).

    Windows 4g to 4g + 3 share a core of window - 3 values, ys[4g + 3 : 4g + window]. Only its four
    middle values a0 <= a1 <= a2 <= a3 can be the median of the core and three more values, so they
    are found once per core with min/max over whole arrays (a selection network: exact, no
    arithmetic, NaN in any input gives NaN). The core plus the pair before it (windows 4g, 4g + 1)
    or after it (windows 4g + 2, 4g + 3) has the middle pair (max(a0, min(a1, b1), min(a2, b0)),
    max(a1, min(a2, b1), min(a3, b0))) with b0 <= b1 that pair; with c1 <= c2 that middle pair,
    the median of those values and one more, x, is min(max(x, c1), c2).
    """
    h = window // 2
    m = ys.shape[0] - window + 1  # how many windows
    groups = m // 4
    network = _middle_network(window - 3)
    for a in range(0, groups, _CHUNK):
        b = min(groups, a + _CHUNK)
        # pairs (ys[4s + 1], ys[4s + 2]) and (ys[4s + 3], ys[4s + 4]), each sorted once
        size = b - a
        stop = 4 * (b + h // 2)  # pairs u = 0, 2, ... up to h of every group in the chunk
        first, second = ys[4 * a + 1 : stop : 4], ys[4 * a + 2 : stop : 4]
        even = (np.minimum(first, second), np.maximum(first, second))
        stop = 4 * (b + (h - 1) // 2) + 3  # pairs u = 1, 3, ... up to h
        first, second = ys[4 * a + 3 : stop : 4], ys[4 * a + 4 : stop : 4]
        pairs = (even, (np.minimum(first, second), np.maximum(first, second)))
        wires = [w for u in range(1, h) for w in _pair(pairs, u, size)]
        for i, j, lo, hi in network:
            w_i, w_j = wires[i], wires[j]
            if lo:
                wires[i] = np.minimum(w_i, w_j)
            if hi:
                wires[j] = np.maximum(w_i, w_j)
        a0, a1, a2, a3 = wires[h - 3 : h + 1]
        for side, u in ((0, 0), (2, h)):  # the pair before the core, then the one after it
            b0, b1 = _pair(pairs, u, size)
            c1 = np.maximum(np.maximum(a0, np.minimum(a1, b1)), np.minimum(a2, b0))
            c2 = np.maximum(np.maximum(a1, np.minimum(a2, b1)), np.minimum(a3, b0))
            # window 4g + side adds ys[4g + side]; window 4g + side + 1 adds ys[4g + side + window]
            np.minimum(np.maximum(ys[4 * a + side : 4 * b : 4], c1), c2, out=out[4 * a + side : 4 * b : 4])
            start = 4 * a + side + window
            extra = ys[start : start + 4 * size : 4]
            np.minimum(np.maximum(extra, c1), c2, out=out[4 * a + side + 1 : 4 * b : 4])
    # the last windows, fewer than four, one at a time: np.median's first call imports numpy.ma (17 ms)
    for j in range(4 * groups, m):
        values = ys[j : j + window].tolist()
        out[j] = _NAN if any(math.isnan(v) for v in values) else sorted(values)[h]


def median(values: npt.ArrayLike, overwrite_input: bool = False) -> float:
    """`np.median` of a 1-D array (the same float), in one partition instead of np.median's three.

    NaN when empty or when any value is NaN, as np.median (without its warning). With
    `overwrite_input` a float64 array is reordered in place instead of copied.
    """
    a = _as_float(values)
    if a.shape[0] == 0 or np.isnan(a).any():
        return _NAN
    in_place = overwrite_input and isinstance(values, np.ndarray) and np.shares_memory(a, values)
    return _median_in_place(a if in_place else a.copy())


def median_rel_error(a: FloatArray, b: FloatArray) -> float:
    """The median of |a - b| / |b| over the points where both are finite and b is not 0 (how far a
    sum of loss terms is from the logged total); inf when there is no such point."""
    ok = np.isfinite(a) & np.isfinite(b) & (b != 0)
    if not ok.any():
        return math.inf
    if not ok.all():
        a, b = a[ok], b[ok]
    err = np.subtract(a, b)
    np.abs(err, out=err)
    err /= np.abs(b)
    return median(err, overwrite_input=True)


def _median_in_place(a: FloatArray) -> float:
    """The median of a non-empty array without NaN, reordering it."""
    n = a.shape[0]
    half = n // 2
    a.partition(half)
    upper = float(a[half])
    if n % 2:
        return upper
    # after the partition everything left of `half` is <= upper: the lower middle is their maximum
    lower = float(a[:half].max())
    return (lower + upper) / 2.0


def robust_sd(residuals: npt.ArrayLike) -> float:
    """1.4826 * MAD, or 1.2533 * mean absolute deviation from the median when the MAD is 0.

    NaN if empty, if any residual is NaN, or if the median is infinite (as np.median would give).
    """
    r = _as_float(residuals)
    if r.shape[0] == 0 or np.isnan(r).any():
        return _NAN
    return _robust_sd(r)


def _robust_sd(r: FloatArray) -> float:
    """`robust_sd` of a non-empty array without NaN."""
    center = _median_if_zero(r)
    if center is None:
        buf = r.copy()
        center = _median_in_place(buf)
        if not math.isfinite(center):
            return _NAN
        dev = np.subtract(r, center, out=buf)
    else:
        dev = np.subtract(r, center)
    np.abs(dev, out=dev)
    mad = _median_in_place(dev)
    if mad > 0.0:
        return _MAD_TO_SD * mad
    # the partition reordered dev: the mean is summed again in the original order
    np.subtract(r, center, out=dev)
    np.abs(dev, out=dev)
    return _MEANAD_TO_SD * float(dev.mean())


def _median_if_zero(a: FloatArray) -> Optional[float]:
    """The median of `a` (non-empty, no NaN) when it is 0, from two counts; None when it is not.

    The spike test's residuals are 0 wherever a point is the median of its own window (one in
    eleven, more with ties), so their median often is 0: then counting the values below 0 and at 0
    replaces a partition (178k residuals: 0.1 ms instead of 1.3 ms). The 0 returned is +0.0 where a
    partition may have left -0.0; a deviation from either is the same after its absolute value.
    """
    n = a.shape[0]
    half = n // 2
    below = int(np.count_nonzero(a < 0.0))
    if below > (half if n % 2 else half - 1):
        return None
    if below + int(np.count_nonzero(a == 0.0)) <= half:
        return None
    return 0.0


def spike_indices(
    values: npt.ArrayLike,
    goal: str = "min",
    window: int = SPIKE_WINDOW,
    k: float = SPIKE_K,
    min_history: int = SPIKE_MIN_HISTORY,
) -> IntArray:
    """Indices (into the finite values) of points more than `k` robust SDs worse than their trailing median.

    "Worse" is above for goal "min" and below for "max". No spikes when the residuals do not vary.
    """
    _check_goal(goal)
    return _spike_indices(_finite_only(_as_float(values)), goal, window, k, min_history)


def _spike_indices(ys: FloatArray, goal: str, window: int, k: float, min_history: int) -> IntArray:
    first = min_history - 1
    if ys.shape[0] <= first:
        return np.empty(0, dtype=np.int64)
    return _spikes_from_medians(ys, trailing_median(ys, window), goal, k, first)


def _spikes_from_medians(ys: FloatArray, resid: FloatArray, goal: str, k: float, first: int) -> IntArray:
    """`_spike_indices` given the trailing medians of ys (more than `first` values); `resid` is reused
    for the residuals."""
    # residual = how much worse than the trailing median; for "max" median - value, which is
    # exactly what the negated series gives (a median of negated values is the negated median)
    if goal == "min":
        np.subtract(ys, resid, out=resid)
    else:
        np.subtract(resid, ys, out=resid)
    tested = resid[first:]
    # ys and its medians are finite: so are the residuals, or +-inf, never NaN
    sd = _robust_sd(tested)
    if not sd > 0.0:
        return np.empty(0, dtype=np.int64)
    out: IntArray = np.flatnonzero(tested > k * sd).astype(np.int64, copy=False)
    out += first
    return out


def spike_steps(
    steps: npt.ArrayLike,
    values: npt.ArrayLike,
    goal: str = "min",
    window: int = SPIKE_WINDOW,
    k: float = SPIKE_K,
) -> FloatArray:
    """The steps of the spikes (see `spike_indices`)."""
    xs, ys = finite_points(steps, values)
    out: FloatArray = xs[spike_indices(ys, goal, window, k)]
    return out


class HistoryStats(NamedTuple):
    """The statistics of one history that `summary` reports per series (defined above).

    Without a goal, or without finite points, only `points` and `trend` are computed: the floats
    are NaN and `spike_steps` is None.
    """

    points: int
    trend: Fit
    best: float
    step_of_best: float
    improvement: float
    plateau_start: float
    spike_steps: Optional[FloatArray]


def history_stats(steps: npt.ArrayLike, values: npt.ArrayLike, goal: Optional[str]) -> HistoryStats:
    """`recent_trend`, best value, `relative_improvement`, `plateau_start` and `spike_steps` at once.

    The same numbers as those functions with their default settings, with the finite points
    picked once instead of once per statistic.
    """
    return many_history_stats([(steps, values, goal)])[0]


def many_history_stats(
    histories: Sequence[tuple[npt.ArrayLike, npt.ArrayLike, Optional[str]]], finite: bool = False
) -> list[HistoryStats]:
    """`history_stats(steps, values, goal)` of each history, the same numbers.

    With `finite`, each history is already its finite points (float arrays, as `finite_points`
    gives them) and is not checked again. The trailing medians of the spike test are taken for all
    the histories together (`_trailing_medians_by_group`), which is cheaper than one at a time when
    there are many short ones.
    """
    points = [
        (_as_float(steps), _as_float(values)) if finite else finite_points(steps, values)
        for steps, values, _ in histories
    ]
    first = SPIKE_MIN_HISTORY - 1
    tested = [
        i
        for i, ((_, ys), (_, _, g)) in enumerate(zip(points, histories))
        if g is not None and ys.shape[0] > first
    ]
    goals = [g for i in tested if (g := histories[i][2]) is not None]  # all of them
    out: list[Optional[HistoryStats]] = [None] * len(histories)
    # One group of medians at a time: all of them at once held 40 MB more at 300 MB of log.
    for group, medians in _trailing_medians_by_group([points[i][1] for i in tested], SPIKE_WINDOW):
        records = _records_of_many([points[tested[j]][1] for j in group], [goals[j] for j in group])
        for j, m, r in zip(group, medians, records):
            i = tested[j]
            out[i] = _history_stats(*points[i], histories[i][2], m, r)
    return [
        h if h is not None else _history_stats(*points[i], histories[i][2], None) for i, h in enumerate(out)
    ]


def _history_stats(
    xs: FloatArray,
    ys: FloatArray,
    goal: Optional[str],
    medians: Optional[FloatArray],
    records: Optional[IntArray] = None,
) -> HistoryStats:
    """`history_stats` of finite points, given the trailing medians of ys when it has more than
    SPIKE_MIN_HISTORY - 1 values and a goal (they become the residuals), and `_records(ys, goal)`
    when the caller has them."""
    n = int(xs.shape[0])
    k = max(TREND_MIN_POINTS, math.ceil(TREND_FRACTION * n))
    trend = _fit(xs[-k:], ys[-k:])
    if goal is None or n == 0:
        return HistoryStats(n, trend, _NAN, _NAN, _NAN, _NAN, None)
    _check_goal(goal)
    if records is None:
        records = _records(ys, goal)
    # the first best value is the last record (a later equal one is none), or the first value
    i = int(records[-1]) if records.shape[0] else 0
    plateau = _plateau_index(ys, goal, PLATEAU_TOL, PLATEAU_MIN_POINTS, records)
    if medians is None:
        at: IntArray = np.empty(0, dtype=np.int64)
    else:
        at = _spikes_from_medians(ys, medians, goal, SPIKE_K, SPIKE_MIN_HISTORY - 1)
    spikes: FloatArray = xs[at]
    return HistoryStats(
        points=n,
        trend=trend,
        best=float(ys[i]),
        step_of_best=float(xs[i]),
        improvement=_relative_improvement(xs, ys, goal, IMPROVEMENT_FRACTION),
        plateau_start=_NAN if plateau is None else float(xs[plateau]),
        spike_steps=spikes,
    )


def match_steps(
    steps_a: npt.ArrayLike,
    values_a: npt.ArrayLike,
    steps_b: npt.ArrayLike,
    values_b: npt.ArrayLike,
    finite: bool = False,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(steps, a, b) at the steps where both series have a finite value, ascending.

    A step repeated within one series keeps its last value (the newest, as `analysis.stitch` would).
    The results may be the inputs themselves (when both series are finite at the same steps). With
    `finite`, both series are their finite points already (as `finite_points` gives them).
    """
    pick = _as_floats if finite else finite_points
    xa, ya = _last_per_step(*pick(steps_a, values_a))
    xb, yb = _last_per_step(*pick(steps_b, values_b))
    if xa.shape == xb.shape and np.array_equal(xa, xb):  # the usual case: logged together
        return xa, ya, yb
    if xa.shape[0] == 0 or xb.shape[0] == 0:
        return xa[:0], ya[:0], yb[:0]
    # both ascend without repeats: look each step of the shorter one up in the longer one
    if xa.shape[0] <= xb.shape[0]:
        ia, ib = _lookup(xa, xb)
    else:
        ib, ia = _lookup(xb, xa)
    return xa[ia], ya[ia], yb[ib]


def _lookup(short: FloatArray, long: FloatArray) -> tuple[IntArray, IntArray]:
    """Indices (into short, into long) of the steps both hold; both ascend without repeats."""
    at = np.searchsorted(long, short)
    inside = at < long.shape[0]
    hit = np.zeros(short.shape[0], dtype=bool)
    hit[inside] = long[at[inside]] == short[inside]
    return np.flatnonzero(hit), at[hit]


def _last_per_step(xs: FloatArray, ys: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distinct steps, ascending, each with the last value given for it."""
    if xs.shape[0] > 1 and np.all(xs[1:] > xs[:-1]):
        return xs, ys
    rev_x = xs[::-1]
    steps, first_in_reverse = np.unique(rev_x, return_index=True)
    return steps, ys[::-1][first_in_reverse]


def pearson(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Pearson's r over the pairs where both are finite; NaN with under 3 pairs or a constant side."""
    return _pearson(*finite_points(a, b))


def _pearson(xs: FloatArray, ys: FloatArray) -> float:
    """`pearson` of finite pairs; the means are np.mean's floats, as in `_fit`."""
    n = xs.shape[0]
    if n < MIN_CORRELATION_POINTS:
        return _NAN
    dx, dy = xs - float(np.add.reduce(xs)) / n, ys - float(np.add.reduce(ys)) / n
    denom = math.sqrt(_dot(dx, dx) * _dot(dy, dy))
    if denom == 0.0:
        return _NAN
    return max(-1.0, min(1.0, _dot(dx, dy) / denom))


def ranks(values: npt.ArrayLike) -> FloatArray:
    """1-based ranks, ties given the mean of the ranks they span."""
    ys = _as_float(values)
    n = ys.shape[0]
    out = np.empty(n)
    if n == 0:
        return out
    # Ties share one rank, so their order within the sort does not matter: any order that sorts the
    # values gives the same ranks. NaN is the exception (each NaN is its own group, ranked by
    # position): then the stable sort.
    order = _packed_order(ys) if np.isfinite(ys).all() else None
    if order is not None:
        sorted_ys = ys[order]
        if np.any(sorted_ys[1:] < sorted_ys[:-1]):
            order = None
    if order is None:
        order = np.argsort(ys, kind="stable" if np.isnan(ys).any() else None)
        sorted_ys = ys[order]
    # tie groups are runs of equal sorted values (NaN != NaN: each NaN is a group of its own)
    new_value = np.empty(n, dtype=bool)
    new_value[0] = True
    np.not_equal(sorted_ys[1:], sorted_ys[:-1], out=new_value[1:])
    if new_value.all():  # no ties: the group [i, i + 1) has the rank (i + 1 + i + 1) / 2 = i + 1
        out[order] = np.arange(1.0, n + 1.0)
        return out
    starts = np.flatnonzero(new_value)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1] = n
    out[order] = np.repeat((starts + 1 + ends) / 2.0, ends - starts)
    return out


def _packed_order(ys: FloatArray) -> IntArray:
    """The order of ys (finite, not empty) by sorting floats, nearly: the caller checks it.

    np.argsort is not vectorized on AVX2 but np.sort is (20k values: 0.81 ms and 0.29 ms), so the
    lowest bits of each value are replaced by its index, the floats sorted, and the indices read
    back from the low bits. Dropping low bits keeps the order of the floats (the bit patterns order
    them by magnitude on either side of 0) except among values that agree in all their other bits,
    which come out in the order of their indices: hence the check (distinct losses pass it).
    """
    n = ys.shape[0]
    bits = max(1, (n - 1).bit_length())
    mask = (1 << bits) - 1
    packed: IntArray = ys.view(np.int64) & ~mask
    packed |= np.arange(n, dtype=np.int64)
    keys = packed.view(np.float64)  # the exponent bits are kept: still finite
    keys.sort()
    packed &= mask
    return packed


def spearman(a: npt.ArrayLike, b: npt.ArrayLike, b_ranks: Optional[FloatArray] = None) -> float:
    """Spearman's rho over the pairs where both are finite: Pearson's r of their ranks.

    `b_ranks` is `ranks(b)` when the caller has it (one b against several a); used when a and b
    are finite throughout (else the pairs are chosen first and ranked again).
    """
    if b_ranks is not None:
        xs = _as_float(a)
        if np.isfinite(xs).all() and np.isfinite(_as_float(b)).all():
            # ranks are finite
            return _NAN if xs.shape[0] < MIN_CORRELATION_POINTS else _pearson(ranks(xs), _as_float(b_ranks))
    xs, ys = finite_points(a, b)
    if xs.shape[0] < MIN_CORRELATION_POINTS:
        return _NAN
    return _pearson(ranks(xs), ranks(ys))


class Gap(NamedTuple):
    """test - train at matching steps: the latest gap, its mean, and its trend over the last half."""

    points: int
    last: float
    mean: float
    trend: Fit
    widening: bool


def gap(
    steps_train: npt.ArrayLike,
    train: npt.ArrayLike,
    steps_test: npt.ArrayLike,
    test: npt.ArrayLike,
    finite: bool = False,
) -> Gap:
    """The train-test gap (test - train at the steps both have) and whether it is widening.

    Widening: the least-squares slope of the gap over the last half of those steps (at least 3
    points) exceeds its standard error. `finite` as in `match_steps`.
    """
    xs, a, b = match_steps(steps_train, train, steps_test, test, finite)
    n = int(xs.shape[0])
    if n == 0:
        return Gap(0, _NAN, _NAN, Fit(_NAN, _NAN, 0), False)
    g = b - a
    half = math.ceil(n / 2)
    fit = linear_fit(xs[-half:], g[-half:]) if half >= 3 else Fit(_NAN, _NAN, half)
    widening = bool(math.isfinite(fit.stderr) and fit.slope > fit.stderr)
    return Gap(n, float(g[-1]), float(g.mean()), fit, widening)
