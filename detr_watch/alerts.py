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
from typing import NamedTuple, Optional

import numpy as np

from detr_watch.analysis import percentiles, stitch
from detr_watch.curves import smoothed
from detr_watch.roles import parse_name
from detr_watch.stats import median
from detr_watch.store import FloatArray, Snapshot

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


def nonfinite(snapshot: Snapshot) -> Optional[Alert]:
    """The series whose first NaN/Inf comes earliest (in arrival order), and how many others have one."""
    first: Optional[tuple[int, str, float]] = None
    others = 0
    for name, s in sorted(snapshot.series.items()):
        bad = ~np.isfinite(s.values)
        if not bad.any():
            continue
        i = int(np.argmax(bad))
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
        y = float(values[i])
        if not math.isfinite(y):
            continue
        prev = values[max(0, i - SPIKE_WINDOW) : i]
        prev = prev[np.isfinite(prev)]
        if prev.shape[0] < SPIKE_MIN_POINTS:
            continue
        q25, med, q75 = percentiles(prev, (25, 50, 75))
        # MAD is 0 when over half the points are equal (a loss alternating between two values):
        # the interquartile range keeps such a series from crying wolf
        sd = max(1.4826 * median(np.abs(prev - med), overwrite_input=True), (q75 - q25) / 1.349)
        if y - med > SPIKE_K * sd and y - med > SPIKE_MIN_RISE * abs(med):
            return i
    return None


def _main_losses(snapshot: Snapshot) -> list[str]:
    out = []
    for name in sorted(snapshot.series):
        info = parse_name(name)
        if info.role in SPIKE_ROLES and info.aux is None and not info.unscaled:
            out.append(name)
    return out


def spike(snapshot: Snapshot) -> Optional[Alert]:
    """The newest spike among the main losses of the newest run."""
    if snapshot.last_record is None:
        return None
    run = snapshot.last_record.run
    found: Optional[tuple[float, str, float, float, float]] = None
    for name in _main_losses(snapshot):
        s = snapshot.series[name]
        mask = s.runs == run
        values = s.values[mask]
        i = spike_at(values)
        if i is None:
            continue
        step = float(s.steps[mask][i])
        prev = values[max(0, i - SPIKE_WINDOW) : i]
        med = float(np.median(prev[np.isfinite(prev)]))
        if found is None or step > found[0]:
            found = (step, name, float(values[i]), med, 0.0)
    if found is None:
        return None
    step, name, y, med, _ = found
    axis = snapshot.series[name].axis
    return Alert(
        "spike",
        f"spike: {name} {_value(y)} at {axis} {_step(step)} (recent ~{_value(med)})",
        ("spike", name, step),
    )


def plateau_of(steps: FloatArray, values: FloatArray, goal: str) -> Optional[tuple[float, float, int]]:
    """(best value, its step, points since it) when the last `window` points improved on the best
    before them by less than `PLATEAU_TOL`; None when still improving or too short to say."""
    ok = np.isfinite(values) & np.isfinite(steps)
    xs, ys = steps[ok], values[ok]
    n = ys.shape[0]
    window = max(PLATEAU_MIN_POINTS, n // 5)
    if n < 2 * window:
        return None
    sign = 1.0 if goal == "max" else -1.0
    before = sign * float(ys[:-window].max() if goal == "max" else ys[:-window].min())
    recent = sign * float(ys[-window:].max() if goal == "max" else ys[-window:].min())
    scale = abs(before) if before != 0 else 1.0
    if (recent - before) / scale >= PLATEAU_TOL:
        return None
    i = int(np.argmax(ys) if goal == "max" else np.argmin(ys))
    return float(ys[i]), float(xs[i]), n - 1 - i


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


def plateau(snapshot: Snapshot) -> Optional[Alert]:
    found = _plateau_metric(snapshot)
    if found is None:
        return None
    name, goal = found
    s = snapshot.series[name]
    starts = {r.run: r.first_step for r in snapshot.runs if r.axis == s.axis}
    keep = stitch(s.steps, s.runs, starts)
    idx = None if keep.all() else np.flatnonzero(keep)
    steps, values = (s.steps, s.values) if idx is None else (s.steps[idx], s.values[idx])
    if s.axis == "iter" and goal == "min":
        values = smoothed(s, values, idx, PLATEAU_SMOOTHING, "plateau", tuple(sorted(starts.items())))
    got = plateau_of(steps, values, goal)
    if got is None:
        return None
    best, at, since = got
    span = float(steps[np.isfinite(values)][-1]) - at
    unit = "epochs" if s.axis == "epoch" else "iters"
    return Alert(
        "plateau",
        f"plateau: {name} best {_value(best)} at {s.axis} {_step(at)}, "
        f"<{PLATEAU_TOL:.0%} better in {_step(span)} {unit}",
        ("plateau", name, at),
    )


def usual_interval(snapshot: Snapshot) -> Optional[float]:
    """Seconds between records: as observed live (meta `interval`), else from the log's time stamps."""
    try:
        observed = float(snapshot.meta.get("interval", "nan"))
    except ValueError:
        observed = math.nan
    if math.isfinite(observed) and observed > 0:
        return observed
    best: Optional[float] = None
    for s in snapshot.series.values():
        t = s.times[np.isfinite(s.times)]
        if t.shape[0] >= 3:
            gaps = np.diff(t[-20:])
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
