"""Whole logs as one table for scripts: CSV always, Parquet when pyarrow is installed.

One row per record (what the log wrote at one step), in the order the logs and their records
came; several records can share a step (console logs print a train line, a test line and the
COCO table at the end of an epoch), so rows are built from the records, not from the store.
Columns: `log` (the label given for each log), `run`, `axis` ("epoch" or "iter"), `step`,
`epoch` (fractional epoch, when the log says) and `wall_time` (Unix seconds, when the log says),
then one column per series, named as the log names it, sorted; a series whose name is one of
those six gets the prefix `series:`.

A series a record does not have is an empty CSV cell (null in Parquet); a non-finite value stays
what it was: `nan`, `inf`, `-inf` in CSV, NaN/Inf in Parquet. Nothing is stitched or smoothed.

This is the only module that imports pyarrow, and only when Parquet is asked for.
"""

from __future__ import annotations

import csv
import math
from array import array
from pathlib import Path
from typing import IO, Any, Iterable, Optional, Union

import numpy as np
import numpy.typing as npt

from detr_watch.errors import DetrWatchError
from detr_watch.records import Record
from detr_watch.store import FloatArray

KEY_COLUMNS = ("log", "run", "axis", "step", "epoch", "wall_time")
PARQUET_HINT = "pip install pyarrow"


def column_name(series: str) -> str:
    """The column of a series: its own name, unless a key column has it."""
    return "series:" + series if series in KEY_COLUMNS else series


class Table:
    """Columns of equal length; `series` holds NaN where `present` is False (no value in the record)."""

    def __init__(
        self,
        logs: list[str],
        runs: npt.NDArray[np.int64],
        axes: list[str],
        steps: FloatArray,
        epochs: FloatArray,
        times: FloatArray,
        series: dict[str, FloatArray],
        present: dict[str, npt.NDArray[np.bool_]],
    ) -> None:
        self.logs = logs
        self.runs = runs
        self.axes = axes
        self.steps = steps
        self.epochs = epochs
        self.times = times
        self.series = series
        self.present = present

    @property
    def columns(self) -> list[str]:
        return [*KEY_COLUMNS, *(column_name(name) for name in self.series)]

    def __len__(self) -> int:
        return int(self.steps.shape[0])


class Collector:
    """Records of one or more logs, kept compactly (one index and one float per value) for export."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self._log = array("i")
        self._run = array("q")
        self._axis: list[str] = []
        self._step = array("d")
        self._epoch = array("d")
        self._time = array("d")
        self._rows: dict[str, array[int]] = {}
        self._values: dict[str, array[float]] = {}

    def __len__(self) -> int:
        return len(self._step)

    def add(self, label: str, records: Iterable[Record]) -> int:
        """Append the records of the log called `label`; returns how many were added."""
        if not self.labels or self.labels[-1] != label:
            self.labels.append(label)
        log = len(self.labels) - 1
        nan = math.nan
        added = 0
        for rec in records:
            if not rec.metrics:
                continue
            row = len(self._step)
            self._log.append(log)
            self._run.append(rec.run)
            self._axis.append(rec.axis)
            self._step.append(float(rec.step))
            self._epoch.append(nan if rec.epoch is None else rec.epoch)
            self._time.append(nan if rec.time is None else rec.time)
            for name, value in rec.metrics.items():
                rows = self._rows.get(name)
                if rows is None:
                    rows = self._rows[name] = array("q")
                    self._values[name] = array("d")
                rows.append(row)
                self._values[name].append(value)
            added += 1
        return added

    def table(self) -> Table:
        """The collected records as columns."""
        n = len(self._step)
        series: dict[str, FloatArray] = {}
        present: dict[str, npt.NDArray[np.bool_]] = {}
        for name in sorted(self._rows):
            rows = np.frombuffer(self._rows[name], dtype=np.int64)
            values = np.full(n, np.nan)
            values[rows] = np.frombuffer(self._values[name], dtype=np.float64)
            mask = np.zeros(n, dtype=bool)
            mask[rows] = True
            series[name] = values
            present[name] = mask
        labels = self.labels
        return Table(
            [labels[i] for i in self._log],
            np.frombuffer(self._run, dtype=np.int64).copy(),
            list(self._axis),
            np.frombuffer(self._step, dtype=np.float64).copy(),
            np.frombuffer(self._epoch, dtype=np.float64).copy(),
            np.frombuffer(self._time, dtype=np.float64).copy(),
            series,
            present,
        )


def _texts(values: FloatArray, present: Optional[npt.NDArray[np.bool_]] = None) -> list[str]:
    """Each value as the shortest text that reads back exactly (repr: `nan`, `inf`, `-inf` included),
    12 rather than 12.0; "" where `present` is False (or, without `present`, where the value is NaN)."""
    texts = [t[:-2] if (t := repr(v)).endswith(".0") else t for v in values.tolist()]
    missing = ~present if present is not None else np.isnan(values)
    for k in np.flatnonzero(missing).tolist():
        texts[k] = ""
    return texts


def write_csv(t: Table, out: IO[str]) -> int:
    """Write the table as CSV (header first); returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(t.columns)
    columns: list[list[str]] = [
        t.logs,
        [str(r) for r in t.runs.tolist()],
        t.axes,
        _texts(t.steps, np.ones(len(t), dtype=bool)),
        _texts(t.epochs),
        _texts(t.times),
    ]
    columns.extend(_texts(values, t.present[name]) for name, values in t.series.items())
    writer.writerows(zip(*columns))
    return len(t)


def require_parquet() -> None:
    """Raise the "install pyarrow" error now, before any log is read, when pyarrow is missing."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DetrWatchError(
            "writing Parquet needs pyarrow, which is not installed", hint=PARQUET_HINT
        ) from None


def write_parquet(t: Table, path: Union[str, Path]) -> int:
    """Write the table as Parquet; without pyarrow, a DetrWatchError that says what to install."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DetrWatchError(
            "writing Parquet needs pyarrow, which is not installed", hint=PARQUET_HINT
        ) from None
    columns: dict[str, Any] = {
        "log": pa.array(t.logs, type=pa.string()),
        "run": pa.array(t.runs, type=pa.int64()),
        "axis": pa.array(t.axes, type=pa.string()),
        "step": pa.array(t.steps, type=pa.float64()),
        "epoch": pa.array(t.epochs, type=pa.float64(), mask=np.isnan(t.epochs)),
        "wall_time": pa.array(t.times, type=pa.float64(), mask=np.isnan(t.times)),
    }
    for name, values in t.series.items():
        columns[column_name(name)] = pa.array(values, type=pa.float64(), mask=~t.present[name])
    pq.write_table(pa.table(columns), str(path))
    return len(t)
