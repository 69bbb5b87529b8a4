"""Per-series statistics of a whole log: what `detr-watch summary` prints (numpy only)."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from detr_watch.store import SeriesData, Snapshot


def _num(x: float) -> Optional[float]:
    """JSON-safe: a finite float, or None."""
    return float(x) if math.isfinite(x) else None


def series_stats(s: SeriesData) -> dict[str, Any]:
    """count/nonfinite/first/last/min/max/step_of_min/step_of_max over the finite values."""
    values = s.values
    finite = np.isfinite(values)
    count = int(finite.sum())
    out: dict[str, Any] = {"count": count, "nonfinite": int(values.shape[0] - count)}
    if count == 0:
        out.update(first=None, last=None, min=None, max=None, step_of_min=None, step_of_max=None)
        return out
    fv = values[finite]
    fs = s.steps[finite]
    i_min = int(np.argmin(fv))
    i_max = int(np.argmax(fv))
    out.update(
        first=_num(fv[0]),
        last=_num(fv[-1]),
        min=_num(fv[i_min]),
        max=_num(fv[i_max]),
        step_of_min=_num(fs[i_min]),
        step_of_max=_num(fs[i_max]),
    )
    return out


def summarize(snapshot: Snapshot, path: str, fmt: str) -> dict[str, Any]:
    """The `summary --json` object (schema in the README)."""
    return {
        "path": path,
        "format": fmt,
        "records": snapshot.records,
        "skipped_lines": snapshot.skipped_lines,
        "runs": [
            {"first_step": _num(r.first_step), "last_step": _num(r.last_step), "records": r.records}
            for r in snapshot.runs
        ],
        "series": {name: series_stats(s) for name, s in sorted(snapshot.series.items())},
    }
