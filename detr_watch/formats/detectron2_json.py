"""detectron2 / detrex `metrics.json`: one JSON object per logging step::

    {"data_time": 0.445, "eta_seconds": 3977109.6, "iteration": 19, "loss_class": 0.688, "lr": 0.0001, ...}

- Series: every numeric key under its own name (`total_loss`, `loss_class_0`, `lr`, `time`,
  `data_time`, `bbox/AP` ...). Not series: `iteration` (the step) and `eta_seconds` (a clock
  reading). detectron2 writes NaN for a COCO AP it could not compute (no objects of that size):
  those are missing, so NaN `<task>/AP*`/`AR*` values are dropped.
- Step: `iteration`, axis ITER.
- Runs: a new run starts where the iteration of a training record does not increase. Records
  holding only evaluation results (every name has a `/`, e.g. `bbox/AP`) may repeat the last
  training iteration: they join the current run.
- Recognised: an object with a numeric `iteration`. Such an object with nothing else to keep
  (only `eta_seconds`, or only NaN APs) makes no record and is not skipped; skipped are the
  non-empty lines that are not JSON objects with a numeric `iteration`.
"""

from __future__ import annotations

import math
from typing import Sequence

from detr_watch.formats.base import finite, head_objects, json_object
from detr_watch.records import ITER, Record, RunTracker, numeric_fields

NAME = "detectron2-json"
_BOOKKEEPING = frozenset({"iteration", "eta_seconds"})


def sniff(lines: Sequence[bytes]) -> int:
    """Confidence 0-100 that these first lines are a detectron2 metrics.json."""
    score = 0
    for obj in head_objects(lines):
        if obj is None:
            return 0
        if finite(obj.get("iteration")) is None:
            continue
        losses = "total_loss" in obj or any(k.startswith("loss_") for k in obj)
        score = max(score, 95 if losses else 85)
    return score


def is_missing_ap(name: str, value: float) -> bool:
    """detectron2 reports an AP it could not compute (no objects of that size) as NaN."""
    return math.isnan(value) and "/A" in name and name.rsplit("/", 1)[1].startswith(("AP", "AR"))


class Detectron2JsonParser:
    name = NAME

    def __init__(self) -> None:
        self.skipped = 0
        self._seen = False
        self._runs = RunTracker()

    @property
    def recognised(self) -> bool:
        return self._seen

    def reset(self) -> None:
        self._runs.reset()

    def feed(self, lines: Sequence[bytes]) -> list[Record]:
        out: list[Record] = []
        for line in lines:
            obj = json_object(line)
            step = None if obj is None else finite(obj.get("iteration"))
            if obj is None or step is None:
                if line.strip():
                    self.skipped += 1
                continue
            self._seen = True
            metrics = numeric_fields(obj, _BOOKKEEPING)
            metrics = {k: v for k, v in metrics.items() if not is_missing_ap(k, v)}
            if not metrics:  # bookkeeping only (eta_seconds), or APs that could not be computed
                continue
            if all("/" in k for k in metrics):
                run = self._runs.run
            else:
                run = self._runs.assign(step)
            out.append(Record(step, metrics, run, ITER))
        return out


def create() -> Detectron2JsonParser:
    return Detectron2JsonParser()
