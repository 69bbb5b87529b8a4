"""DETR-family `log.txt`: one JSON object per epoch.

Written by DETR, Deformable/Conditional/DAB/DN-DETR, DINO, RT-DETR (lyuwenyu) and RF-DETR::

    {"train_lr": 0.0001, "train_loss": 25.99, ..., "test_coco_eval_bbox": [0.42, ...], "epoch": 0}

- Series: every numeric key under its own name (`train_loss_ce_0`, `train_loss_vfl_aux_3`,
  `test_loss_bbox_dn_2`, `ema_test_...`); COCO lists expand to `X_coco_eval_bbox/AP` ... `/ARl`
  (-1 = missing, dropped). Strings (`now_time`, `model_type`) are metadata, never series.
  Not series: `epoch` (the step) and constants that only describe the run (parameter counts,
  batch sizes, DINO's `best_ep`).
- Step: `epoch`, axis EPOCH. Lines without a usable `epoch` (the official DETR-R50 log has
  none) continue from the previous line's step + 1, starting at 0.
- Runs: a new run starts where the epoch does not increase (appended restarts).
- Time: DINO's `now_time` ("2023-10-17 18:42:01.279628", local time) when present.
- Recognised: a JSON object with a `train_`/`test_`/`val_`/`ema_test_` key or `n_parameters`.
  Skipped: non-empty lines that are not JSON objects, or objects with no numeric field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional, Sequence

from detr_watch.formats.base import finite, head_objects, json_object
from detr_watch.records import EPOCH, Record, RunTracker, numeric_fields

NAME = "detr-json"
_NOT_SERIES = frozenset(
    {
        "epoch",
        "n_parameters",
        "total_parameters",
        "trainable_parameters",
        "train_batch_size",
        "val_batch_size",
        "best_ep",
    }
)
_PREFIXES = ("train_", "test_", "val_", "ema_test_")


def _is_detr(obj: dict[str, Any]) -> bool:
    return "n_parameters" in obj or any(k.startswith(_PREFIXES) for k in obj)


def sniff(lines: Sequence[bytes]) -> int:
    """Confidence 0-100 that these first lines are a DETR log.txt."""
    score = 0
    for obj in head_objects(lines):
        if obj is None:  # a log.txt holds nothing but JSON objects
            return 0
        if _is_detr(obj):
            score = 90
    return score


def _wall_time(obj: dict[str, Any]) -> Optional[float]:
    text = obj.get("now_time")
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


class DetrJsonParser:
    name = NAME

    def __init__(self) -> None:
        self.skipped = 0
        self._runs = RunTracker()
        self._step: Optional[float] = None
        self._seen = False

    @property
    def recognised(self) -> bool:
        return self._seen

    def reset(self) -> None:
        self._runs.reset()
        self._step = None

    def feed(self, lines: Sequence[bytes]) -> list[Record]:
        out: list[Record] = []
        for line in lines:
            rec = self._parse(line)
            if rec is not None:
                out.append(rec)
            elif line.strip():
                self.skipped += 1
        return out

    def _parse(self, line: bytes) -> Optional[Record]:
        obj = json_object(line)
        if obj is None:
            return None
        if not self._seen and _is_detr(obj):
            self._seen = True
        metrics = numeric_fields(obj, _NOT_SERIES)
        if not metrics:
            return None
        epoch = finite(obj.get("epoch"))
        if epoch is None:
            epoch = 0.0 if self._step is None else self._step + 1
        self._step = epoch
        return Record(epoch, metrics, self._runs.assign(epoch), EPOCH, _wall_time(obj))


def create() -> DetrJsonParser:
    return DetrJsonParser()
