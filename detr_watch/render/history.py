"""One history per series out of restarted runs, as the charts and the table show it."""

from __future__ import annotations

from detr_watch.analysis import FloatArray, stitch
from detr_watch.store import SeriesData, Snapshot

RunStarts = tuple[tuple[int, float], ...]


def run_starts(snapshot: Snapshot, axis: str) -> RunStarts:
    """(run, first step) of every run of the log on this x axis."""
    return tuple((r.run, r.first_step) for r in snapshot.runs if r.axis == axis)


def history(series: SeriesData, starts: RunStarts) -> tuple[FloatArray, FloatArray]:
    """(steps, values) with the points later runs overwrote left out (see `analysis.stitch`)."""
    if len(series) == 0 or (len(starts) < 2 and series.runs[0] == series.runs[-1]):
        return series.steps, series.values
    keep = stitch(series.steps, series.runs, dict(starts))
    if keep.all():
        return series.steps, series.values
    return series.steps[keep], series.values[keep]


def has_history(series: SeriesData, starts: RunStarts) -> bool:
    """Whether any point of `series` survives stitching (a series only a dead run wrote has none)."""
    if len(series) == 0:
        return False
    if not starts or int(series.runs[-1]) >= max(run for run, _ in starts):
        return True  # its newest point is in the newest run: never overwritten
    return bool(stitch(series.steps, series.runs, dict(starts)).any())
