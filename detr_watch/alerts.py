"""What deserves a warning while a run trains (numpy only): non-finite values, a spike, a plateau,
a log gone quiet, a restart.

Each alert has a `key` that names the event (the series and its step, the run, the last arrival), so
the live view rings the bell once per new event, not once per frame.

- non-finite: a series holds NaN/Inf; the alert names the first such series and step.
- spike: one of the newest `RECENT` points of a main loss (total, classification, L1, GIoU) of the
  newest run is more than `SPIKE_K` robust standard deviations (the larger of 1.4826 x median absolute
  deviation and interquartile range / 1.349) above the median of the `SPIKE_WINDOW` points before
  it, and at least `SPIKE_MIN_RISE` above it.
- plateau: the main metric (test/val AP, else the training loss) has improved by less than
  `PLATEAU_TOL` (relative) in its last `window` points over the best before them, where window is
  max(`PLATEAU_MIN_POINTS`, a fifth of the history). Iteration losses are judged on their EMA
  (weight `PLATEAU_SMOOTHING`): the raw minimum of a noisy loss keeps falling by chance.
- quiet: no record for more than `QUIET_FACTOR` times the usual interval (and at least `QUIET_MIN`
  seconds). The usual interval is what the ingest thread observed (meta `interval`), else the median
  gap between the log's own time stamps.
- restart: the newest run is one of several and has at most `RESTART_RECENT` records (a restart that
  just happened).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Hashable, NamedTuple, Optional

import numpy as np
import numpy.typing as npt

from detr_watch.analysis import percentiles, stitch
from detr_watch.curves import smoothed
from detr_watch.memo import grow, latest, memo
from detr_watch.roles import parse_name
from detr_watch.stats import median
from detr_watch.store import FloatArray, IntArray, SeriesData, Snapshot, owner, series_key

Indices = npt.NDArray[np.int64]
RECENT = 5
SPIKE_WINDOW = 30
SPIKE_MIN_POINTS = 10
SPIKE_K = 6.0
SPIKE_MIN_RISE = 0.3  # 30% above the recent median
PLATEAU_TOL = 0.01
PLATEAU_MIN_POINTS = 10
PLATEAU_SMOOTHING = 0.9
QUIET_FACTOR = 5.0
QUIET_MIN = 60.0
RESTART_RECENT = 3
SCAN_ROWS = 4096  # rows of a group of series scanned for NaN/Inf at once: a few MB at most
PLATEAU_BLOCK = 1024  # points per block whose extremes the plateau check keeps
SPIKE_ROLES = ("total", "cls", "bbox", "giou")


class Alert(NamedTuple):
    kind: str  # "nonfinite", "spike", "plateau", "quiet", "restart"
    text: str
    key: tuple[object, ...]
    level: str = "warning"  # "error" or "warning"


def _step(s: float) -> str:
    return str(int(s)) if math.isfinite(s) and s == int(s) else f"{s:g}"


def _value(v: float) -> str:
    return f"{v:.4g}"


def duration(seconds: float) -> str:
    """45s, 14m, 2h 05m, 2d 03h."""
    s = int(max(0.0, seconds)) if math.isfinite(seconds) else 0
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h:02d}h"


def _bad_rows(
    members: list[SeriesData], start: int, previous: Optional[tuple[Indices, Indices]]
) -> tuple[Indices, Indices]:
    """(NaN/Inf count, index of the first or -1) of each series of `members` (series of one length)
    over its points from `start` on, added to `previous` (the same over the points before)."""
    n = len(members[0])
    counts = np.zeros(len(members), dtype=np.int64) if previous is None else previous[0].copy()
    firsts = np.full(len(members), -1, dtype=np.int64) if previous is None else previous[1].copy()
    for a in range(start, n, SCAN_ROWS):
        # one isfinite over a block of rows of every member: a per-series call costs more than its data
        bad = ~np.isfinite(np.stack([s.values[a : a + SCAN_ROWS] for s in members], axis=1))
        counts += np.count_nonzero(bad, axis=0)
        found = (firsts < 0) & bad.any(axis=0)
        firsts[found] = a + np.argmax(bad[:, found], axis=0)
    return counts, firsts


def nonfinite_points(snapshot: Snapshot) -> dict[str, tuple[int, int]]:
    """Series name -> (how many NaN/Inf values it holds, the index of its first one or -1).

    Series that share the store's value matrix and length are scanned together, and over their new
    rows only: a frame after one record costs the same at 1k points as at 200k."""
    return memo(snapshot, "nonfinite points", lambda: _nonfinite_points(snapshot))


def _nonfinite_points(snapshot: Snapshot) -> dict[str, tuple[int, int]]:
    groups: dict[tuple[int, int], list[SeriesData]] = {}
    for s in snapshot.series.values():
        groups.setdefault((id(owner(s.values)), len(s)), []).append(s)
    out: dict[str, tuple[int, int]] = {}
    for (matrix, n), members in groups.items():
        names = tuple(s.name for s in members)
        counts, firsts = grow(
            ("nonfinite", matrix, names),
            [owner(members[0].values)],
            names,
            n,
            partial(_bad_rows, members, 0, None),
            partial(_bad_rows, members),
        )
        for name, count, first in zip(names, counts.tolist(), firsts.tolist()):
            out[name] = (count, first)
    return out


def nonfinite(snapshot: Snapshot) -> Optional[Alert]:
    """The series whose first NaN/Inf comes earliest (in arrival order), and how many others have one."""
    first: Optional[tuple[int, str, float]] = None
    others = 0
    points = nonfinite_points(snapshot)
    for name, s in sorted(snapshot.series.items()):
        count, i = points[name]
        if not count:
            continue
        order = (int(s.runs[i]), float(s.steps[i]))
        if first is None or order < (first[0], first[2]):
            if first is not None:
                others += 1
            first = (order[0], name, order[1])
        else:
            others += 1
    if first is None:
        return None
    _, name, step = first
    s = snapshot.series[name]
    more = f" (+{others} series)" if others else ""
    return Alert(
        "nonfinite", f"NaN/Inf in {name} at {s.axis} {_step(step)}{more}", ("nonfinite", name, step), "error"
    )


def spike_at(values: FloatArray) -> Optional[int]:
    """Index of the newest of the last `RECENT` points that is a spike over the points before it."""
    n = values.shape[0]
    for i in range(n - 1, max(-1, n - 1 - RECENT), -1):
        if _is_spike(values, i):
            return i
    return None


def _is_spike(values: FloatArray, i: int) -> bool:
    """Whether point `i` is a spike over the `SPIKE_WINDOW` points before it: it reads no later
    point, so its answer holds once the point has arrived."""
    y = float(values[i])
    if not math.isfinite(y):
        return False
    prev = values[max(0, i - SPIKE_WINDOW) : i]
    prev = prev[np.isfinite(prev)]
    if prev.shape[0] < SPIKE_MIN_POINTS:
        return False
    q25, med, q75 = percentiles(prev, (25, 50, 75))
    rise, spread = y - med, (q75 - q25) / 1.349
    # the robust deviation below is at least `spread`: a point no higher than that allows is no
    # spike whatever the MAD, and most points are not, so its median is seldom worth taking
    if rise <= SPIKE_MIN_RISE * abs(med) or rise <= SPIKE_K * spread:
        return False
    # MAD is 0 when over half the points are equal (a loss alternating between two values):
    # the interquartile range keeps such a series from crying wolf
    sd = max(1.4826 * median(np.abs(prev - med), overwrite_input=True), spread)
    return bool(rise > SPIKE_K * sd)


def _main_losses(snapshot: Snapshot) -> list[str]:
    """The series `spike` watches, found again only when a series appears (not on every record)."""
    names = tuple(snapshot.series)
    return latest(("main losses",), (), names, partial(_main_losses_of, names))


def _main_losses_of(names: tuple[str, ...]) -> list[str]:
    out = []
    for name in sorted(names):
        info = parse_name(name)
        if info.role in SPIKE_ROLES and info.aux is None and not info.unscaled:
            out.append(name)
    return out


def _run_tails(
    runs: IntArray, start: int, previous: Optional[dict[int, Indices]] = None
) -> dict[int, Indices]:
    """Run -> the indices of its last `RECENT + SPIKE_WINDOW` points (all `spike_at` looks at), over
    `runs[:start]` in `previous`, extended over the points after. Runs need not be contiguous."""
    tails = {} if previous is None else dict(previous)
    new = runs[start:]
    if new.shape[0] == 0:
        return tails
    keep = RECENT + SPIKE_WINDOW
    if np.all(new == new[0]):
        parts = [(int(new[0]), np.arange(max(start, runs.shape[0] - keep), runs.shape[0]))]
    else:
        parts = [(int(r), start + np.flatnonzero(new == r)[-keep:]) for r in np.unique(new).tolist()]
    for run, idx in parts:
        old = tails.get(run)
        tails[run] = idx if old is None else np.concatenate((old, idx))[-keep:]
    return tails


def run_tail(series: SeriesData, run: int) -> Indices:
    """The indices of the last `RECENT + SPIKE_WINDOW` points of `run` in `series` (fewer if it has
    fewer), kept per series and extended over new points only."""
    runs = owner(series.runs)
    tails: dict[int, Indices] = grow(
        ("run tails", id(runs)),
        [runs],
        None,
        len(series),
        partial(_run_tails, series.runs, 0),
        partial(_run_tails, series.runs),
    )
    return tails.get(run, np.zeros(0, dtype=np.int64))


# (point index, (step, value, median of the points before) if it is a spike, else None)
Verdict = tuple[int, Optional[tuple[float, float, float]]]


def _verdicts(s: SeriesData, run: int, start: int, previous: tuple[Verdict, ...] = ()) -> tuple[Verdict, ...]:
    """`_is_spike` of the last `RECENT` points of `run` in `s`: tested for points from index `start`
    on, taken from `previous` (those of the points before `start`) for the others."""
    idx = run_tail(s, run)  # the run's newest points: spike_at looks at no others
    values = s.values[idx]
    new: list[Verdict] = []
    for j in range(max(idx.shape[0] - RECENT, int(idx.searchsorted(start))), idx.shape[0]):
        found = None
        if _is_spike(values, j):
            prev = values[max(0, j - SPIKE_WINDOW) : j]
            found = (float(s.steps[idx[j]]), float(values[j]), float(np.median(prev[np.isfinite(prev)])))
        new.append((int(idx[j]), found))
    return (*previous, *new)[-RECENT:]


def _newest_spike(s: SeriesData, run: int) -> Optional[tuple[float, float, float]]:
    """(step, value, median before) of the newest spike among the last `RECENT` points of `run` in
    `s`, what `spike_at` finds over the run. Kept per series: a series without new points costs a
    look-up, and new points are tested alone (a point's answer never changes)."""
    arrays, key = series_key(s)
    verdicts: tuple[Verdict, ...] = grow(
        ("spike verdicts", s.name, key[1]),
        arrays,
        run,
        len(s),
        partial(_verdicts, s, run, 0),
        partial(_verdicts, s, run),
    )
    for _, found in reversed(verdicts):
        if found is not None:
            return found
    return None


def spike(snapshot: Snapshot) -> Optional[Alert]:
    """The newest spike among the main losses of the newest run."""
    if snapshot.last_record is None:
        return None
    run = snapshot.last_record.run
    found: Optional[tuple[float, str, float, float]] = None
    for name in _main_losses(snapshot):
        got = _newest_spike(snapshot.series[name], run)
        if got is not None and (found is None or got[0] > found[0]):
            found = (got[0], name, got[1], got[2])
    if found is None:
        return None
    step, name, y, med = found
    axis = snapshot.series[name].axis
    return Alert(
        "spike",
        f"spike: {name} {_value(y)} at {axis} {_step(step)} (recent ~{_value(med)})",
        ("spike", name, step),
    )


class _Blocks(NamedTuple):
    """The extremes of a plateau metric's points (as `plateau` judges them: stitched, maybe smoothed)
    per whole block of `PLATEAU_BLOCK` points, so a check reads the blocks and two partial ones
    rather than the history. The ok points have a finite value and step (those `plateau_of` keeps)."""

    picked: int  # points covered (of `raw`, which has one per point of the metric `plateau` keeps)
    points: Indices  # ok points per block
    high: FloatArray  # the largest ok value per block, -inf in a block without one
    low: FloatArray  # the smallest, +inf without one
    last: Indices  # the index of the block's last finite value, -1 without one
    constant: bool  # every finite raw value equals `first`: an EMA returns such values as they are
    first: float  # NaN before the first finite raw value


def _blocks(raw: FloatArray, steps: FloatArray, values: FloatArray, previous: Optional[_Blocks]) -> _Blocks:
    """`previous` (or nothing) extended over the whole blocks of `values` after the ones it has;
    `values` is `raw` or its EMA, `steps` their steps."""
    have = 0 if previous is None else previous.points.shape[0]
    whole = values.shape[0] // PLATEAU_BLOCK
    a, b = have * PLATEAU_BLOCK, whole * PLATEAU_BLOCK
    v = values[a:b].reshape(-1, PLATEAU_BLOCK)
    finite = np.isfinite(v)
    ok = finite & np.isfinite(steps[a:b].reshape(-1, PLATEAU_BLOCK))
    points = np.count_nonzero(ok, axis=1).astype(np.int64)
    high = np.where(ok, v, -np.inf).max(axis=1, initial=-np.inf)
    low = np.where(ok, v, np.inf).min(axis=1, initial=np.inf)
    ends = a + PLATEAU_BLOCK * np.arange(1, whole - have + 1) - 1
    last = np.where(finite.any(axis=1), ends - np.argmax(finite[:, ::-1], axis=1), -1)
    new = raw[0 if previous is None else previous.picked :]
    y = new[np.isfinite(new)]
    first = math.nan if previous is None else previous.first
    if math.isnan(first) and y.shape[0]:
        first = float(y[0])
    constant = (previous is None or previous.constant) and bool(np.all(y == first))
    if previous is not None:
        points = np.concatenate((previous.points, points))
        high = np.concatenate((previous.high, high))
        low = np.concatenate((previous.low, low))
        last = np.concatenate((previous.last, last))
    return _Blocks(raw.shape[0], points, high, low, last, constant, first)


def _ok_points(steps: FloatArray, values: FloatArray, a: int, b: int) -> tuple[FloatArray, FloatArray]:
    """(steps, values) of the points in [a, b) with a finite step and value."""
    xs, ys = steps[a:b], values[a:b]
    ok = np.isfinite(ys) & np.isfinite(xs)
    return xs[ok], ys[ok]


def _plateau_in(
    blocks: _Blocks, steps: FloatArray, values: FloatArray, goal: str
) -> Optional[tuple[float, float, int]]:
    """`plateau_of(steps, values, goal)` from the extremes of the whole blocks and the points of the
    block the window starts in and of the last, partial one: max and min are exact, so the floats
    are the same as over all the points."""
    k = blocks.points.shape[0]
    a = k * PLATEAU_BLOCK
    tx, ty = _ok_points(steps, values, a, values.shape[0])
    cum = np.cumsum(blocks.points)
    done = int(cum[-1]) if k else 0
    n = done + ty.shape[0]
    window = max(PLATEAU_MIN_POINTS, n // 5)
    if n < 2 * window:
        return None
    top, pick = (blocks.high, np.max) if goal == "max" else (blocks.low, np.min)
    cut = n - window  # the first point of the window, counted in ok points
    b = int(np.searchsorted(cum, cut, side="right"))  # the block it lies in (k: the partial one)
    before: tuple[FloatArray, ...]
    recent: tuple[FloatArray, ...]
    if b < k:
        _, ys = _ok_points(steps, values, b * PLATEAU_BLOCK, (b + 1) * PLATEAU_BLOCK)
        j = cut - (int(cum[b - 1]) if b else 0)
        before, recent = (top[:b], ys[:j]), (ys[j:], top[b + 1 :], ty)
    else:
        j = cut - done
        before, recent = (top, ty[:j]), (ty[j:],)
    sign = 1.0 if goal == "max" else -1.0
    low = sign * float(pick(np.concatenate(before)))
    high = sign * float(pick(np.concatenate(recent)))
    scale = abs(low) if low != 0 else 1.0
    if (high - low) / scale >= PLATEAU_TOL:
        return None
    best = pick(np.concatenate((top, ty)))
    hit = np.flatnonzero(top == best)
    if hit.shape[0]:
        b = int(hit[0])
        xs, ys = _ok_points(steps, values, b * PLATEAU_BLOCK, (b + 1) * PLATEAU_BLOCK)
        offset = int(cum[b - 1]) if b else 0
    else:
        xs, ys, offset = tx, ty, done
    j = int(np.argmax(ys) if goal == "max" else np.argmin(ys))
    return float(ys[j]), float(xs[j]), n - 1 - (offset + j)


def plateau_of(steps: FloatArray, values: FloatArray, goal: str) -> Optional[tuple[float, float, int]]:
    """(best value, its step, points since it) when the last `window` points improved on the best
    before them by less than `PLATEAU_TOL`; None when still improving or too short to say.
    Points with a NaN/Inf step or value do not count."""
    return _plateau_in(_blocks(values, steps, values, None), steps, values, goal)


def _last_finite(blocks: _Blocks, values: FloatArray) -> int:
    """The index of the last finite value (-1 if none)."""
    a = int(blocks.points.shape[0]) * PLATEAU_BLOCK
    tail = np.flatnonzero(np.isfinite(values[a:]))
    if tail.shape[0]:
        return a + int(tail[-1])
    return int(blocks.last.max()) if blocks.last.shape[0] else -1


def _plateau_metric(snapshot: Snapshot) -> Optional[tuple[str, str]]:
    """(series, goal): test/val AP if the log evaluates, else the training loss."""
    for role, goal, splits in (
        ("ap", "max", ("test", "val", "ema_test", "")),
        ("total", "min", ("train", "")),
    ):
        for split in splits:
            for name in sorted(snapshot.series):
                info = parse_name(name)
                if info.role == role and info.split == split and info.aux is None and not info.unscaled:
                    return name, goal
    return None


def _plateau_blocks(
    s: SeriesData,
    idx: Optional[npt.NDArray[np.intp]],
    raw: FloatArray,
    steps: FloatArray,
    values: FloatArray,
    smooth: bool,
    starts: Hashable,
) -> _Blocks:
    """The blocks of the plateau metric, kept per series and extended over new points. They are
    rebuilt when an old point left the stitched history (a restart) or when the EMA of a series
    constant so far is recomputed whole (it returned the values themselves until then)."""
    arrays, key = series_key(s)

    def full() -> _Blocks:
        return _blocks(raw, steps, values, None)

    def more(covered: int, previous: _Blocks) -> _Blocks:
        picked = covered if idx is None else int(np.searchsorted(idx, covered))
        if picked != previous.picked:
            return full()
        grown = _blocks(raw, steps, values, previous)
        if smooth and previous.constant and not grown.constant:
            return full()
        return grown

    return grow(("plateau blocks", s.name, key[1]), arrays, (starts, smooth), len(s), full, more)


def plateau(snapshot: Snapshot) -> Optional[Alert]:
    found = _plateau_metric(snapshot)
    if found is None:
        return None
    name, goal = found
    s = snapshot.series[name]
    starts = {r.run: r.first_step for r in snapshot.runs if r.axis == s.axis}
    keep = stitch(s.steps, s.runs, starts)
    idx = None if keep.all() else np.flatnonzero(keep)
    steps, raw = (s.steps, s.values) if idx is None else (s.steps[idx], s.values[idx])
    smooth = s.axis == "iter" and goal == "min"
    given = tuple(sorted(starts.items()))
    values = smoothed(s, raw, idx, PLATEAU_SMOOTHING, "plateau", given) if smooth else raw
    blocks = _plateau_blocks(s, idx, raw, steps, values, smooth, given)
    got = _plateau_in(blocks, steps, values, goal)
    if got is None:
        return None
    best, at, since = got
    span = float(steps[_last_finite(blocks, values)]) - at
    unit = "epochs" if s.axis == "epoch" else "iters"
    return Alert(
        "plateau",
        f"plateau: {name} best {_value(best)} at {s.axis} {_step(at)}, "
        f"<{PLATEAU_TOL:.0%} better in {_step(span)} {unit}",
        ("plateau", name, at),
    )


def _finite_times(
    times: FloatArray, start: int, previous: Optional[tuple[int, FloatArray]] = None
) -> tuple[int, FloatArray]:
    """(how many of `times` are finite, the last 20 of them), over `times[:start]` in `previous`."""
    new = times[start:]
    t = new[np.isfinite(new)]
    if previous is None:
        return int(t.shape[0]), t[-20:].copy()
    return previous[0] + int(t.shape[0]), np.concatenate((previous[1], t))[-20:]


def usual_interval(snapshot: Snapshot) -> Optional[float]:
    """Seconds between records: as observed live (meta `interval`), else from the log's time stamps."""
    try:
        observed = float(snapshot.meta.get("interval", "nan"))
    except ValueError:
        observed = math.nan
    if math.isfinite(observed) and observed > 0:
        return observed
    best: Optional[float] = None
    seen: set[int] = set()
    for s in snapshot.series.values():
        # series written together share one times array (and so one answer): it is read once
        if id(s.times) in seen:
            continue
        seen.add(id(s.times))
        times = owner(s.times)
        count, t = grow(
            ("finite times", id(times)),
            [times],
            None,
            len(s),
            partial(_finite_times, s.times, 0),
            partial(_finite_times, s.times),
        )
        if count >= 3:
            gaps = np.diff(t)
            gaps = gaps[gaps > 0]
            if gaps.shape[0]:
                g = float(np.median(gaps))
                best = g if best is None else min(best, g)
    return best


def quiet(snapshot: Snapshot, now: float, interval: Optional[float]) -> Optional[Alert]:
    last = snapshot.last_arrival
    if last is None or interval is None:
        return None
    age = now - last
    if age <= max(QUIET_FACTOR * interval, QUIET_MIN):
        return None
    return Alert(
        "quiet",
        f"quiet: no new record for {duration(age)} (usually every {duration(interval)})",
        ("quiet", last),
    )


def restart(snapshot: Snapshot) -> Optional[Alert]:
    rec = snapshot.last_record
    if rec is None:
        return None
    runs = [r for r in snapshot.runs if r.axis == rec.axis]
    if len(runs) < 2 or runs[-1].run != rec.run or runs[-1].records > RESTART_RECENT:
        return None
    new, old = runs[-1], runs[-2]
    return Alert(
        "restart",
        f"restart: run {new.run + 1} began at {rec.axis} {_step(new.first_step)} "
        f"(run {old.run + 1} reached {_step(old.last_step)})",
        ("restart", new.run),
    )


def data_alerts(snapshot: Snapshot) -> list[Alert]:
    """The alerts that depend only on the data (cache them per snapshot)."""
    found = [nonfinite(snapshot), spike(snapshot), restart(snapshot), plateau(snapshot)]
    return [a for a in found if a is not None]


def find_alerts(snapshot: Snapshot, now: float) -> list[Alert]:
    """Every current alert, the most urgent first."""
    out = data_alerts(snapshot)
    q = quiet(snapshot, now, usual_interval(snapshot))
    if q is not None:
        out.insert(1 if out and out[0].kind == "nonfinite" else 0, q)
    return out
