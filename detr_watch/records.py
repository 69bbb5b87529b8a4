"""Records (one parsed log entry), series naming and run splitting.

A parser turns lines into `Record`s; everything downstream (store, stream, summary, render)
only sees records. Standard library only.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, NamedTuple, Optional

import numpy as np
import numpy.typing as npt

COCO_STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
# pycocotools summarizes keypoints with 10 stats in another order (no small objects, AR at IoU thresholds).
COCO_KEYPOINT_STATS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")

# The two x-axes a series can live on; series on different axes never share a chart.
EPOCH = "epoch"
ITER = "iter"


class Record(NamedTuple):
    """One entry of a log: the values a training job wrote at one step.

    `metrics` maps series names to floats; non-finite values are kept (NaN/inf) so that
    they can be counted and reported, while "missing" (COCO -1) is simply absent.
    """

    step: float
    metrics: dict[str, float]
    run: int = 0
    axis: str = EPOCH
    time: Optional[float] = None  # wall-clock seconds (Unix time) when the log says so
    epoch: Optional[float] = None  # fractional epoch for iteration logs that know it


def coco_series(prefix: str, stats: Any) -> Iterator[tuple[str, float]]:
    """Expand a pycocotools stats list into `prefix/AP` ... `prefix/ARl`.

    -1 means "no objects of that size" and yields nothing; non-numbers are skipped.
    """
    if not isinstance(stats, (list, tuple)):
        return
    names = COCO_KEYPOINT_STATS if prefix.endswith("_keypoints") else COCO_STATS
    for name, value in zip(names, stats):
        v = as_float(value)
        if v is None or v == -1.0:
            continue
        yield f"{prefix}/{name}", v


def as_float(value: Any) -> Optional[float]:
    """A JSON scalar as a float, or None when it is not a number (bools are not numbers)."""
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return None


def numeric_fields(obj: dict[str, Any], skip: frozenset[str] = frozenset()) -> dict[str, float]:
    """The numeric fields of a JSON object, with COCO stat lists expanded.

    Strings, nested objects and other lists are ignored (they are metadata, not series).
    """
    out: dict[str, float] = {}
    for key, value in obj.items():
        if key in skip or not isinstance(key, str):
            continue
        v = as_float(value)
        if v is not None:
            out[key] = v
        elif isinstance(value, list) and key.endswith(
            ("_coco_eval_bbox", "_coco_eval_segm", "_coco_eval_keypoints")
        ):
            out.update(coco_series(key, value))
    return out


class RunTracker:
    """Assigns run numbers: a new run starts where the step does not increase."""

    def __init__(self) -> None:
        self.run = 0
        self.last_step: Optional[float] = None
        self._force_new = False

    def assign(self, step: float) -> int:
        if self.last_step is not None and (self._force_new or not step > self.last_step):
            self.run += 1
        self._force_new = False
        self.last_step = step
        return self.run

    def assign_many(self, steps: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """`assign` of each of `steps` in turn (at least one), at numpy speed: a new run wherever
        the step does not increase."""
        runs = np.empty(steps.shape[0], dtype=np.int64)
        runs[0] = self.assign(float(steps[0]))
        runs[1:] = runs[0] + np.cumsum(~(steps[1:] > steps[:-1]))
        self.run = int(runs[-1])
        self.last_step = float(steps[-1])
        return runs

    def reset(self) -> None:
        """The file was truncated or replaced: what follows is a new run, whatever its steps."""
        self._force_new = True
