"""Numpy-backed series storage: incremental appends, whole history, cheap snapshots.

Appends go to small Python `array` buffers (fast, no object per value) and are moved into
numpy arrays that grow by doubling. A snapshot holds read-only views `[:n]` of those arrays:
later appends write past `n` or into a new array, so a snapshot never changes under a reader.
"""

from __future__ import annotations

import threading
from array import array
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

import numpy as np
import numpy.typing as npt

from detr_watch.records import Record

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class SeriesData:
    """One series over the whole history; `runs[i]` is the run of point i."""

    name: str
    axis: str
    steps: FloatArray
    values: FloatArray
    runs: IntArray
    times: FloatArray  # wall-clock time from the log, NaN where unknown
    epochs: FloatArray  # fractional epoch, NaN where unknown

    def __len__(self) -> int:
        return int(self.steps.shape[0])

    def run(self, run: int) -> SeriesData:
        """The points of one run."""
        mask = self.runs == run
        return SeriesData(
            self.name,
            self.axis,
            self.steps[mask],
            self.values[mask],
            self.runs[mask],
            self.times[mask],
            self.epochs[mask],
        )


@dataclass(frozen=True)
class RunInfo:
    run: int
    first_step: float
    last_step: float
    records: int
    axis: str


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the store at one version."""

    version: int
    records: int
    series: Mapping[str, SeriesData]
    runs: tuple[RunInfo, ...]
    last_arrival: Optional[float]  # monotonic-free wall time (time.time()) of the newest record
    last_record: Optional[Record]
    skipped_lines: int = 0
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def axis(self) -> str:
        """The axis of the newest record (what the status line counts in)."""
        return self.last_record.axis if self.last_record else "epoch"


class _Column:
    __slots__ = ("axis", "n", "arrays", "pending")

    def __init__(self, axis: str) -> None:
        self.axis = axis
        self.n = 0
        self.arrays: tuple[npt.NDArray[Any], ...] = (
            np.empty(16),
            np.empty(16),
            np.empty(16, dtype=np.int32),
            np.empty(16),
            np.empty(16),
        )
        self.pending: tuple[array[Any], ...] = (
            array("d"),
            array("d"),
            array("i"),
            array("d"),
            array("d"),
        )

    def flush(self) -> None:
        pend = self.pending
        k = len(pend[0])
        if not k:
            return
        need = self.n + k
        cap = self.arrays[0].shape[0]
        if need > cap:
            while cap < need:
                cap *= 2
            grown = []
            for a in self.arrays:
                b = np.empty(cap, dtype=a.dtype)
                b[: self.n] = a[: self.n]
                grown.append(b)
            self.arrays = tuple(grown)
        for a, p in zip(self.arrays, pend):
            a[self.n : need] = np.frombuffer(p, dtype=a.dtype)
        self.n = need
        self.pending = (array("d"), array("d"), array("i"), array("d"), array("d"))

    def view(self, name: str) -> SeriesData:
        self.flush()
        n = self.n
        views = [a[:n] for a in self.arrays]
        for v in views:
            v.flags.writeable = False
        return SeriesData(name, self.axis, views[0], views[1], views[2], views[3], views[4])


class SeriesStore:
    """Thread-safe: one ingest thread appends, the render loop takes snapshots."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._columns: dict[str, _Column] = {}
        self._runs: dict[int, list[float]] = {}  # run -> [first_step, last_step, records]
        self._run_axis: dict[int, str] = {}
        self._records = 0
        self._skipped = 0
        self._version = 0
        self._last_arrival: Optional[float] = None
        self._last_record: Optional[Record] = None
        self._meta: dict[str, str] = {}
        self._snapshot: Optional[Snapshot] = None

    @property
    def version(self) -> int:
        return self._version

    def append(self, records: Iterable[Record], arrived: Optional[float] = None) -> int:
        """Store records; returns how many were added. `arrived` is when they were read."""
        added = 0
        nan = float("nan")
        with self._lock:
            columns = self._columns
            for rec in records:
                if not rec.metrics:
                    continue
                t = nan if rec.time is None else rec.time
                e = nan if rec.epoch is None else rec.epoch
                step = float(rec.step)
                for name, value in rec.metrics.items():
                    col = columns.get(name)
                    if col is None:
                        col = columns[name] = _Column(rec.axis)
                    p = col.pending
                    p[0].append(step)
                    p[1].append(value)
                    p[2].append(rec.run)
                    p[3].append(t)
                    p[4].append(e)
                    if len(p[0]) >= 65536:
                        col.flush()
                info = self._runs.get(rec.run)
                if info is None:
                    self._runs[rec.run] = [step, step, 1]
                    self._run_axis[rec.run] = rec.axis
                else:
                    if rec.axis == self._run_axis[rec.run]:
                        info[0] = min(info[0], step)
                        info[1] = max(info[1], step)
                    info[2] += 1
                self._last_record = rec
                added += 1
            if added:
                self._records += added
                self._version += 1
                self._last_arrival = arrived
        return added

    def add_skipped(self, count: int) -> None:
        if count:
            with self._lock:
                self._skipped += count
                self._version += 1

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._meta[key] = value
            self._version += 1

    def snapshot(self) -> Snapshot:
        """An immutable view; cached until the next change."""
        with self._lock:
            snap = self._snapshot
            if snap is not None and snap.version == self._version:
                return snap
            series = {name: col.view(name) for name, col in self._columns.items()}
            runs = tuple(
                RunInfo(run, v[0], v[1], int(v[2]), self._run_axis[run])
                for run, v in sorted(self._runs.items())
            )
            snap = Snapshot(
                version=self._version,
                records=self._records,
                series=series,
                runs=runs,
                last_arrival=self._last_arrival,
                last_record=self._last_record,
                skipped_lines=self._skipped,
                meta=dict(self._meta),
            )
            self._snapshot = snap
            return snap
