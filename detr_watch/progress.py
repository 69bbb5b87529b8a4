"""How far a run is and when it will end, from what its log tells (numpy only).

Epochs done: the newest record's epoch (fractional for iteration logs, whose console prints `[i/N]`;
per-epoch logs count epochs from 0 when their first run starts at 0, as DETR's log.txt does, else
from 1, as Ultralytics' results.csv does). The screen shows the epoch as the log numbers it (so it
matches the charts' x axis and the training console): DETR's last epoch of 50 is "epoch 49/50".
The run's length, first found of: what the user said (`--epochs`), what the parser put in the store's
meta (`epochs`), the furthest an earlier run of the same log got (a restart usually resumes the same
schedule).
Time per epoch, first found of: the log's own time stamps over the newest run's last points; the
console's seconds per iteration times the iterations per epoch; arrival times observed live (the
ingest thread puts `epoch_seconds` in the meta).
ETA = epochs left x time per epoch. Anything unknown is None: the status line then leaves it out.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np

from detr_watch.stats import median
from detr_watch.store import SeriesData, Snapshot

RECENT = 10  # points of the newest run the time per epoch is measured over
ITER_TIME_SERIES = ("train_iter_time", "iter_time", "time")  # seconds per iteration (DETR, detectron2)


class Progress(NamedTuple):
    done: Optional[float]  # epochs done (fractional in an iteration log)
    total: Optional[float]  # epochs in the run
    sec_per_epoch: Optional[float]
    eta: Optional[float]  # seconds left
    total_from: str = ""  # "user", "log" or "earlier run"
    rate_from: str = ""  # "log times", "iteration time", "observed"

    shown: Optional[float] = None  # the epoch as the log numbers it (DETR from 0, Ultralytics from 1)


def _meta_float(snapshot: Snapshot, key: str) -> Optional[float]:
    try:
        v = float(snapshot.meta.get(key, ""))
    except ValueError:
        return None
    return v if math.isfinite(v) and v > 0 else None


def _epoch_positions(s: SeriesData) -> np.ndarray:
    return s.steps if s.axis == "epoch" else s.epochs


def _zero_based(snapshot: Snapshot) -> bool:
    firsts = [r.first_step for r in snapshot.runs if r.axis == "epoch"]
    return bool(firsts) and min(firsts) == 0


def epochs_done(snapshot: Snapshot) -> Optional[float]:
    """Epochs done by the newest record (see the module docstring); None when the log has no epochs."""
    rec = snapshot.last_record
    if rec is None:
        return None
    if rec.axis == "epoch":
        return rec.step + 1 if _zero_based(snapshot) else rec.step
    if rec.epoch is not None and math.isfinite(rec.epoch):
        return float(rec.epoch)
    return None


def _longest_earlier_run(snapshot: Snapshot, done: float) -> Optional[float]:
    """Epochs the furthest earlier run reached, when that is further than the newest run is now."""
    if len(snapshot.runs) < 2 or snapshot.last_record is None:
        return None
    newest = snapshot.last_record.run
    best: Optional[float] = None
    for s in snapshot.series.values():
        pos = _epoch_positions(s)
        if not np.isfinite(pos).any():
            continue
        earlier = (s.runs != newest) & np.isfinite(pos)
        if earlier.any():
            reach = float(pos[earlier].max())
            if s.axis == "epoch" and _zero_based(snapshot):
                reach += 1
            best = reach if best is None else max(best, reach)
    return best if best is not None and best > done else None


def _newest_run_points(s: SeriesData, run: int) -> tuple[np.ndarray, np.ndarray]:
    mask = s.runs == run
    return _epoch_positions(s)[mask], s.times[mask]


def seconds_per_epoch_from_times(snapshot: Snapshot) -> Optional[float]:
    """(t_last - t_first) / (epochs between them) over the newest run's last points that have both."""
    rec = snapshot.last_record
    if rec is None:
        return None
    best: Optional[float] = None
    most = 1
    for s in snapshot.series.values():
        pos, times = _newest_run_points(s, rec.run)
        ok = np.isfinite(pos) & np.isfinite(times)
        if int(ok.sum()) <= most:
            continue
        p, t = pos[ok][-RECENT:], times[ok][-RECENT:]
        if p[-1] > p[0] and t[-1] > t[0]:
            best, most = float((t[-1] - t[0]) / (p[-1] - p[0])), int(ok.sum())
    return best


def seconds_per_epoch_from_iterations(snapshot: Snapshot) -> Optional[float]:
    """Median seconds per iteration over the newest points x iterations per epoch (step / epoch)."""
    rec = snapshot.last_record
    for name in ITER_TIME_SERIES:
        s = snapshot.series.get(name)
        if s is None or s.axis != "iter" or len(s) == 0:
            continue
        ok = np.isfinite(s.values) & np.isfinite(s.epochs) & (s.epochs > 0)
        if rec is not None:
            ok &= s.runs == rec.run
        if not ok.any():
            continue
        idx = np.flatnonzero(ok)[-RECENT * 2 :]
        # stats.median: np.median's value, and np.median's first call imports numpy.ma (16 ms)
        per_iter = median(s.values[idx])
        iters_per_epoch = median(s.steps[idx] / s.epochs[idx], overwrite_input=True)
        if per_iter > 0 and iters_per_epoch > 0:
            return per_iter * round(iters_per_epoch)
    return None


def shown_epoch(snapshot: Snapshot) -> Optional[float]:
    rec = snapshot.last_record
    if rec is None:
        return None
    if rec.axis == "epoch":
        return rec.step
    if rec.epoch is not None and math.isfinite(rec.epoch):
        return float(math.floor(rec.epoch))
    return None


def progress(snapshot: Snapshot, total_epochs: Optional[int] = None) -> Progress:
    """Where the run is, how long it is, how fast it goes and when it ends (see the module docstring)."""
    done = epochs_done(snapshot)
    if done is None:
        return Progress(None, None, None, None)
    total: Optional[float] = None
    total_from = ""
    if total_epochs:
        total, total_from = float(total_epochs), "user"
    elif _meta_float(snapshot, "epochs") is not None:
        total, total_from = _meta_float(snapshot, "epochs"), "log"
    else:
        longest = _longest_earlier_run(snapshot, done)
        if longest is not None:
            total, total_from = longest, "earlier run"
    rate: Optional[float] = None
    rate_from = ""
    for source, get in (
        ("log times", seconds_per_epoch_from_times),
        ("iteration time", seconds_per_epoch_from_iterations),
        ("observed", lambda s: _meta_float(s, "epoch_seconds")),
    ):
        rate = get(snapshot)
        if rate is not None:
            rate_from = source
            break
    eta = None
    if total is not None and rate is not None:
        eta = max(0.0, total - done) * rate
    return Progress(done, total, rate, eta, total_from, rate_from, shown_epoch(snapshot))
