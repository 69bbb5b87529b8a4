"""Numpy-backed series storage: incremental appends, whole history, cheap snapshots.

Records arrive in blocks (`detr_watch.blocks`) and are appended column by column to numpy
arrays that grow by half. A snapshot holds read-only views `[:n]` of those arrays: later
appends write past `n` or into a new array, so a snapshot never changes under a reader.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Optional

import numpy as np
import numpy.typing as npt

from detr_watch.blocks import Block, from_records
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


def owner(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The array that owns `a`'s memory (a snapshot's arrays are views of the store's): the store
    appends to it past what a snapshot shows, so the same owner and length are the same points."""
    return a.base if isinstance(a.base, np.ndarray) else a


def series_key(series: SeriesData) -> tuple[list[object], tuple[object, ...]]:
    """(the store's arrays behind `series`, to hold weakly; a key naming them by id and length), for
    caches of results over a series (`detr_watch.memo.latest` and `grow`).

    The store keeps this true: it appends past a snapshot's end or into new arrays (`_grown`,
    `_Rows.reserve`, a split into rows of their own), and never rewrites what a snapshot shows nor
    moves a series to another slot of the same matrix, so the same arrays and length are the same
    points, whatever snapshot they came in (tests/test_store.py holds it to that)."""
    columns = (series.steps, series.values, series.runs, series.times, series.epochs)
    arrays: list[object] = [owner(a) for a in columns]
    tail = series.steps[-1:].tobytes() + series.values[-1:].tobytes()
    return arrays, (len(series), tuple(id(a) for a in arrays), tail)


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


def _grown(a: npt.NDArray[Any], n: int, need: int) -> npt.NDArray[Any]:
    """`a` with room for `need` items, its first `n` kept; the same array when it has the room.

    Capacity grows by half: the slack stays below a third of the data, and `np.empty` pages that
    were never written cost no memory.
    """
    cap = a.shape[0]
    if need <= cap:
        return a
    b = np.empty(max(need, cap + cap // 2, 64), dtype=a.dtype)
    b[:n] = a[:n]
    return b


def _readonly(a: npt.NDArray[Any], n: int) -> npt.NDArray[Any]:
    v = a[:n]
    v.flags.writeable = False
    return v


class _Rows:
    """Columns that were always appended together: their x-data (step, run, time, epoch) once, and
    their values side by side in one column-major matrix.

    The series of one line shape share it, so a console log of 48 series keeps one copy of its
    steps instead of 48, and appending a block of them is a few array copies, not one per series.
    Appending to only some of its columns moves those to rows of their own.
    """

    __slots__ = ("n", "members", "steps", "runs", "times", "epochs", "values", "_views")

    def __init__(self, width: int, cap: int = 0) -> None:
        self.n = 0
        self.members: list[_Column] = []  # the column in slot k is the one whose `slot` is k
        self.steps: FloatArray = np.empty(cap)
        self.runs: IntArray = np.empty(cap, dtype=np.int32)
        self.times: FloatArray = np.empty(cap)
        self.epochs: FloatArray = np.empty(cap)
        self.values: FloatArray = np.empty((cap, width), order="F")  # a column's values are contiguous
        self._views: Optional[tuple[npt.NDArray[Any], ...]] = None

    def reserve(self, need: int) -> None:
        """Room for `need` rows; a new matrix keeps only the slots of the current members."""
        n, cap = self.n, self.steps.shape[0]
        if need <= cap:
            return
        cap = max(need, cap + cap // 2, 64)
        self.steps = _grown(self.steps, n, cap)
        self.runs = _grown(self.runs, n, cap)
        self.times = _grown(self.times, n, cap)
        self.epochs = _grown(self.epochs, n, cap)
        values = np.empty((cap, len(self.members)), order="F")
        slots = [col.slot for col in self.members]
        if slots == list(range(self.values.shape[1])):
            values[:n] = self.values[:n]
        else:
            values[:n] = self.values[:n, slots]
            for k, col in enumerate(self.members):
                col.slot = k
        self.values = values

    def extend(
        self, b: Block, x: tuple[FloatArray, IntArray, FloatArray, FloatArray], cols: list[int]
    ) -> None:
        """Block `b`'s rows, its columns `cols` going to the members in their order."""
        n, m = self.n, len(b)
        self.reserve(n + m)
        columns: tuple[npt.NDArray[Any], ...] = (self.steps, self.runs, self.times, self.epochs)
        for a, new in zip(columns, x):
            a[n : n + m] = new
        slots = [col.slot for col in self.members]
        if slots == list(range(self.values.shape[1])) and cols == list(range(len(b.keys))):
            self.values[n : n + m] = b.values
        else:
            self.values[n : n + m, slots] = b.values[:, cols]
        self.n = n + m
        self._views = None

    def split(self, moving: list[_Column]) -> _Rows:
        """New rows for `moving` (some of the members), with the history they have so far."""
        n = self.n
        other = _Rows(len(moving), n)
        columns: tuple[npt.NDArray[Any], ...] = (other.steps, other.runs, other.times, other.epochs)
        for a, old in zip(columns, self.x()):
            a[:n] = old
        other.n = n
        for k, col in enumerate(moving):
            other.values[:n, k] = self.values[:n, col.slot]
            self.members.remove(col)
            col.rows, col.slot = other, k
            other.members.append(col)
        self._views = None
        return other

    def x(self) -> tuple[FloatArray, IntArray, FloatArray, FloatArray]:
        n = self.n
        return self.steps[:n], self.runs[:n], self.times[:n], self.epochs[:n]

    def views(self) -> tuple[npt.NDArray[Any], ...]:
        """Read-only views of the first n rows, shared by every snapshot until the next append."""
        if self._views is None:
            n = self.n
            self._views = tuple(_readonly(a, n) for a in (self.steps, self.runs, self.times, self.epochs))
        return self._views


class _Column:
    __slots__ = ("axis", "rows", "slot")

    def __init__(self, axis: str, rows: _Rows) -> None:
        self.axis = axis
        self.rows = rows
        self.slot = len(rows.members)
        rows.members.append(self)

    def view(self, name: str) -> SeriesData:
        rows = self.rows
        steps, runs, times, epochs = rows.views()
        return SeriesData(
            name, self.axis, steps, _readonly(rows.values[:, self.slot], rows.n), runs, times, epochs
        )


class SeriesStore:
    """Thread-safe: one ingest thread appends, the render loop takes snapshots.

    A big log is shown from its tail first: append the tail, then `stage()`. Appends from then on
    (the history, read from the top) go to a hidden store while snapshots keep showing the tail;
    `commit_stage()` swaps the history in. The meta is shared throughout, so progress written
    there while staging is seen at once ("partial": what the tail is, "loading": how far the
    history is read).
    """

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
        self._staged: Optional[SeriesStore] = None
        # keys of a block -> the rows whose members were exactly their columns, in that order
        self._shapes: dict[tuple[str, ...], tuple[_Rows, list[_Column]]] = {}

    @property
    def version(self) -> int:
        return self._version

    def expect(self, factor: float) -> None:
        """Make room for `factor` times the rows stored so far (a one-shot read knows the file's size).

        Growing by half copies each column about twice over and briefly holds the old copy beside
        the new; room made at once costs nothing until it is written (untouched pages are not
        resident), so the peak memory of a whole-file read stays that of its data.
        """
        with self._lock:
            target = self._staged if self._staged is not None else self
            groups = {id(c.rows): c.rows for c in target._columns.values()}
            for rows in groups.values():
                rows.reserve(int(rows.n * factor) + 64)

    @property
    def staging(self) -> bool:
        """Whether appends go to a hidden store (see `stage`)."""
        return self._staged is not None

    def stage(self) -> None:
        """Keep showing what is stored now; collect what is appended from now on apart."""
        with self._lock:
            if self._staged is None:
                self._staged = SeriesStore()

    def commit_stage(self) -> None:
        """Show what was appended since `stage()` instead of what was shown (the meta stays)."""
        with self._lock:
            staged, self._staged = self._staged, None
            if staged is None:
                return
            with staged._lock:
                self._columns = staged._columns
                self._shapes = staged._shapes
                self._runs = staged._runs
                self._run_axis = staged._run_axis
                self._records = staged._records
                self._skipped = staged._skipped
                self._last_arrival = staged._last_arrival
                self._last_record = staged._last_record
            self._version += 1

    def append(self, records: Iterable[Record], arrived: Optional[float] = None) -> int:
        """Store records; returns how many were added. `arrived` is when they were read."""
        staged = self._staged
        if staged is not None:
            return staged.append(records, arrived)
        last: Optional[Record] = None

        def counted() -> Iterator[Record]:
            nonlocal last
            for rec in records:
                if rec.metrics:
                    last = rec
                    yield rec

        blocks = from_records(counted())
        return self.append_blocks(blocks, arrived, last_record=last)

    def append_blocks(
        self,
        blocks: Iterable[Block],
        arrived: Optional[float] = None,
        *,
        last_record: Optional[Record] = None,
    ) -> int:
        """Store blocks of records column by column; returns how many records were added.

        The same as `append(to_records(blocks))`, without a Python object per value.
        `last_record`, when given, is the newest record itself (else it is rebuilt from the last block).
        """
        staged = self._staged
        if staged is not None:
            return staged.append_blocks(blocks, arrived, last_record=last_record)
        added = 0
        newest: Optional[Block] = None
        with self._lock:
            for b in blocks:
                n = len(b)
                if n == 0 or not b.keys:
                    continue
                self._extend(b)
                self._count_runs(b)
                added += n
                newest = b
            if newest is not None:
                self._records += added
                self._version += 1
                self._last_arrival = arrived
                self._last_record = last_record if last_record is not None else newest.last_record()
        return added

    def _extend(self, b: Block) -> None:
        n = len(b)
        nan = np.full(n, np.nan) if b.times is None or b.epochs is None else None
        x = (
            b.steps,
            b.runs.astype(np.int32),
            b.times if b.times is not None else nan,
            b.epochs if b.epochs is not None else nan,
        )
        known = self._shapes.get(b.keys)
        if known is not None and known[0].members == known[1]:
            # A block of the keys of the last one (a console log's every block): no lookups.
            known[0].extend(b, x, list(range(len(b.keys))))  # type: ignore[arg-type]
            return
        columns = self._columns
        fresh: list[int] = []
        by_rows: dict[int, tuple[_Rows, list[int]]] = {}
        for j, name in enumerate(b.keys):
            col = columns.get(name)
            if col is None:
                fresh.append(j)
            else:
                by_rows.setdefault(id(col.rows), (col.rows, []))[1].append(j)
        for rows, cols in by_rows.values():
            if len(cols) != len(rows.members):
                # Only some of the columns that shared these rows get new ones: they part ways.
                rows = rows.split([columns[b.keys[j]] for j in cols])
            order = {id(col): k for k, col in enumerate(rows.members)}
            cols.sort(key=lambda j: order[id(columns[b.keys[j]])])
            rows.extend(b, x, cols)  # type: ignore[arg-type]
        if fresh:
            rows = _Rows(len(fresh))
            for j in fresh:
                columns[b.keys[j]] = _Column(b.axis, rows)
            rows.extend(b, x, fresh)  # type: ignore[arg-type]
        mine = [columns[name] for name in b.keys]
        if mine[0].rows.members == mine:
            if len(self._shapes) >= 64:
                self._shapes.clear()
            self._shapes[b.keys] = (mine[0].rows, mine)

    def _count_runs(self, b: Block) -> None:
        runs = b.runs
        if runs[0] == runs[-1] and (len(runs) < 3 or np.all(runs[1:] >= runs[:-1])):
            parts = [(int(runs[0]), b.steps)]
        else:
            parts = [(int(r), b.steps[runs == r]) for r in np.unique(runs).tolist()]
        for run, steps in parts:
            lo, hi = float(steps.min()), float(steps.max())
            info = self._runs.get(run)
            if info is None:
                self._runs[run] = [lo, hi, len(steps)]
                self._run_axis[run] = b.axis
                continue
            if b.axis == self._run_axis[run]:
                info[0] = min(info[0], lo)
                info[1] = max(info[1], hi)
            info[2] += len(steps)

    def add_skipped(self, count: int) -> None:
        staged = self._staged
        if staged is not None:
            staged.add_skipped(count)
            return
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
