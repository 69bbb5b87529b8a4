"""Ultralytics RT-DETR (and YOLO) `results.csv`: a header, then one row per epoch::

    epoch,time,train/giou_loss,train/cls_loss,train/l1_loss,metrics/precision(B),...,lr/pg0
    1,253.069,0.95671,0.77687,0.3488,0.20153,...,0.067218

- Series: the header names with surrounding spaces removed (older releases pad them to a
  fixed width); `time` (seconds since the start of training) is a series like the others.
- Step: the `epoch` column (an integer), axis EPOCH; it is not a series.
- Runs: a new run starts where the epoch does not increase: a restart that kept appending to the
  same file starts again at epoch 1 with no second header.
- A header line met again (a restart that wrote its own header) is read as the new header;
  after `reset()` (file truncated or replaced) the header is read again before any row.
- Ragged rows: the cells that line up with the header are used. Rows before any header, rows
  whose epoch is not a number, and rows with no numeric cell besides the epoch are skipped.
- Recognised: a header with an `epoch` column and a `train/`, `val/` or `metrics/` column.
  Header lines are not skipped.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

from detr_watch.formats.base import to_float
from detr_watch.records import EPOCH, Record, RunTracker

NAME = "ultralytics-csv"
_BOM = b"\xef\xbb\xbf"
_FAMILY = (b"train/", b"val/", b"metrics/")


def _header(line: bytes) -> Optional[list[bytes]]:
    """The column names when this line is an Ultralytics header, else None."""
    cells = [c.strip() for c in line.removeprefix(_BOM).split(b",")]
    if b"epoch" not in cells or not any(c.startswith(_FAMILY) for c in cells):
        return None
    return cells


def sniff(lines: Sequence[bytes]) -> int:
    """Confidence 0-100 that these first lines are an Ultralytics results.csv."""
    for line in lines:
        if line.strip():
            return 95 if _header(line) is not None else 0
    return 0


class UltralyticsCsvParser:
    name = NAME

    def __init__(self) -> None:
        self.skipped = 0
        self._seen = False
        self._runs = RunTracker()
        self._names: Optional[list[Optional[str]]] = None  # None where a column is the epoch
        self._epoch_col = 0

    @property
    def recognised(self) -> bool:
        return self._seen

    def reset(self) -> None:
        self._runs.reset()
        self._names = None

    def feed(self, lines: Sequence[bytes]) -> list[Record]:
        out: list[Record] = []
        for line in lines:
            if not line or line.isspace():
                continue
            header = _header(line)
            if header is not None:
                self._seen = True
                self._epoch_col = header.index(b"epoch")
                self._names = [None if c == b"epoch" else c.decode("utf-8", "replace") for c in header]
                continue
            rec = self._row(line)
            if rec is None:
                self.skipped += 1
            else:
                out.append(rec)
        return out

    def _row(self, line: bytes) -> Optional[Record]:
        if self._names is None:
            return None
        cells = line.split(b",")
        if len(cells) <= self._epoch_col:
            return None
        epoch = to_float(cells[self._epoch_col])
        if epoch is None or not math.isfinite(epoch):
            return None
        metrics: dict[str, float] = {}
        for name, cell in zip(self._names, cells):
            value = to_float(cell) if name else None
            if name and value is not None:
                metrics[name] = value
        if not metrics:
            return None
        step = float(int(epoch))
        return Record(step, metrics, self._runs.assign(step), EPOCH)


def create() -> UltralyticsCsvParser:
    return UltralyticsCsvParser()
