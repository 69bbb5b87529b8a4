"""Records in columns: consecutive records with the same series, as numpy arrays.

A full DETR console log holds millions of values; a `Record` (a dict per line) and a Python
float per value cost more than parsing the text. Parsers that know their lines come in runs
of one shape hand out `Block`s instead, the store appends a block column by column, and
`records()` turns a block back into exactly the records it stands for. numpy only.
"""

from __future__ import annotations

import math
from typing import Iterable, NamedTuple, Optional, Sequence

import numpy as np
import numpy.typing as npt

from detr_watch.records import Record

FloatArray = npt.NDArray[np.float64]
RunArray = npt.NDArray[np.int64]


class Block(NamedTuple):
    """`len(steps)` records that all carry exactly the series `keys`, in that order.

    `values[i, j]` is series `keys[j]` of record i. `times`/`epochs` are None when no record
    knows them; in an array, NaN stands for a record's None.
    """

    keys: tuple[str, ...]
    values: FloatArray  # shape (n, len(keys))
    steps: FloatArray
    runs: RunArray
    axis: str
    times: Optional[FloatArray] = None
    epochs: Optional[FloatArray] = None

    def __len__(self) -> int:
        return int(self.steps.shape[0])

    def records(self) -> list[Record]:
        """The records this block stands for, equal to what the per-line parser returns."""
        keys = self.keys
        times = _optional(self.times, len(self))
        epochs = _optional(self.epochs, len(self))
        return [
            Record(step, dict(zip(keys, row)), run, self.axis, t, e)
            for step, row, run, t, e in zip(
                self.steps.tolist(), self.values.tolist(), self.runs.tolist(), times, epochs
            )
        ]

    def last_record(self) -> Record:
        """The newest record (what the status line shows), without converting the others."""
        i = len(self) - 1
        t = None if self.times is None else _none_if_nan(float(self.times[i]))
        e = None if self.epochs is None else _none_if_nan(float(self.epochs[i]))
        metrics = dict(zip(self.keys, self.values[i].tolist()))
        return Record(float(self.steps[i]), metrics, int(self.runs[i]), self.axis, t, e)


def _none_if_nan(v: float) -> Optional[float]:
    return None if math.isnan(v) else v


def _optional(a: Optional[FloatArray], n: int) -> list[Optional[float]]:
    if a is None:
        return [None] * n
    return [None if v != v else v for v in a.tolist()]


def block(
    keys: tuple[str, ...],
    rows: Sequence[Sequence[float]] | FloatArray,
    steps: Sequence[float] | FloatArray,
    runs: Sequence[int] | RunArray,
    axis: str,
    times: Optional[Sequence[Optional[float]]] = None,
    epochs: Optional[Sequence[Optional[float]]] = None,
) -> Block:
    """A block from Python sequences (None in `times`/`epochs` is unknown)."""
    n = len(steps)
    values = np.asarray(rows, dtype=np.float64).reshape(n, len(keys))
    return Block(
        keys,
        values,
        np.asarray(steps, dtype=np.float64),
        np.asarray(runs, dtype=np.int64),
        axis,
        _nan_for_none(times),
        _nan_for_none(epochs),
    )


def _nan_for_none(seq: Optional[Sequence[Optional[float]]]) -> Optional[FloatArray]:
    if seq is None or all(v is None for v in seq):
        return None
    return np.array([math.nan if v is None else v for v in seq], dtype=np.float64)


def from_records(records: Iterable[Record]) -> list[Block]:
    """Records as blocks: each run of consecutive records with the same keys and axis is one block.

    Records without metrics are dropped (the store does not count them).
    """
    out: list[Block] = []
    keys: tuple[str, ...] = ()
    axis = ""
    group: list[Record] = []

    def close() -> None:
        if group:
            out.append(
                block(
                    keys,
                    [list(r.metrics.values()) for r in group],
                    [r.step for r in group],
                    [r.run for r in group],
                    axis,
                    [r.time for r in group],
                    [r.epoch for r in group],
                )
            )

    for rec in records:
        if not rec.metrics:
            continue
        k = tuple(rec.metrics)
        if k != keys or rec.axis != axis:
            close()
            group = []
            keys, axis = k, rec.axis
        group.append(rec)
    close()
    return out


def concatenate(parts: Sequence[Block]) -> Block:
    """One block of blocks with the same keys and axis, in order."""

    def optional(arrays: list[Optional[FloatArray]], n: list[int]) -> Optional[FloatArray]:
        if all(a is None for a in arrays):
            return None
        return np.concatenate([np.full(k, math.nan) if a is None else a for a, k in zip(arrays, n)])

    first = parts[0]
    sizes = [len(b) for b in parts]
    return Block(
        first.keys,
        np.concatenate([b.values for b in parts]),
        np.concatenate([b.steps for b in parts]),
        np.concatenate([b.runs for b in parts]),
        first.axis,
        optional([b.times for b in parts], sizes),
        optional([b.epochs for b in parts], sizes),
    )


def to_records(blocks: Iterable[Block]) -> list[Record]:
    """All records of `blocks`, in order."""
    out: list[Record] = []
    for b in blocks:
        out.extend(b.records())
    return out
