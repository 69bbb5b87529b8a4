"""DETR-family `log.txt`: one JSON object per epoch (DETR, Deformable, Conditional, DAB/DN, DINO, RT-DETR)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional, Sequence

from detr_watch.formats.base import loads
from detr_watch.records import EPOCH, Record, RunTracker, as_float, numeric_fields

NAME = "detr-json"
_NOT_SERIES = frozenset({"epoch", "n_parameters"})


def sniff(lines: Sequence[bytes]) -> int:
    """Confidence 0-100 that these first lines are a DETR log.txt."""
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if not s.startswith(b"{"):
            return 0
        if b'"train_' in s or b'"test_' in s or b'"n_parameters"' in s:
            return 90
        return 0
    return 0


def _wall_time(obj: dict[str, Any]) -> Optional[float]:
    """DINO writes `now_time` as "2023-10-17 18:42:01.279628" (local time of the training box)."""
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
            if rec is None:
                if line.strip():
                    self.skipped += 1
            else:
                out.append(rec)
        return out

    def _parse(self, line: bytes) -> Optional[Record]:
        try:
            obj = loads(line)
        except ValueError:
            return None
        if not isinstance(obj, dict):
            return None
        self._seen = True
        metrics = numeric_fields(obj, _NOT_SERIES)
        if not metrics:
            return None
        epoch = as_float(obj.get("epoch"))
        if epoch is None or epoch != epoch:
            epoch = 0.0 if self._step is None else self._step + 1
        self._step = epoch
        run = self._runs.assign(epoch)
        return Record(epoch, metrics, run, EPOCH, _wall_time(obj))


def create() -> DetrJsonParser:
    return DetrJsonParser()
