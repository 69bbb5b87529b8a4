"""DETR-family console output (MetricLogger), saved as train.log, nohup.out, slurm-*.out, info.txt::

    Epoch: [3]  [ 40/128]  eta: 0:01:01  lr: 0.000100  class_error: 98.08  loss: 48.3847 (50.9741)  ...

- `Epoch: [e]  [i/N]` lines: one record at step `e * N + i`, axis ITER, epoch `e + i/N`, with
  `train_<name>` = the first number after `name:` (the window median; `lr` has only one).
  `time:`/`data:` become `train_iter_time`/`train_data_time`; `eta:` and `max mem:` are dropped.
  Anything before `Epoch:` (DINO's `[10/17 18:42:01.279]: `, a rank tag) is ignored.
- `Averaged stats:` is printed twice per epoch by DETR's engine: after training (it has `lr:`)
  and after `Test:`. The first gives `train_avg_<name>` (the global average, i.e. what log.txt
  calls `train_<name>`), the second `test_<name>` (the same names as log.txt's test keys). Which
  one it is comes from the block it closes (the last `Epoch:` or `Test:` line); with no such
  line, a line holding `lr:` is taken as the training one.
- pycocotools tables give `test_coco_eval_bbox/AP` ... `/ARl` (or `_segm` after "IoU metric:
  segm"; keypoint tables are not named and are dropped) by line position; -1.000 is missing.
- Averaged stats and tables are evaluation records: step `(e + 1) * N` (the end of the last
  training epoch seen, 0 when there was none), epoch `e + 1`, in the current run.
- `Test:  [i/M]` progress lines carry nothing kept: the Averaged stats after them sum them up.
- Runs: a new run starts where the training step does not increase.
- Recognised: a MetricLogger line, an Averaged stats line, a COCO table line, or one of DETR's
  banners (`git:`, `| distributed init (rank`, `Namespace(...lr_backbone=...)`, `Start training`).
- Not skipped: lines of the MetricLogger/evaluator structure (progress lines, "Total time"
  lines, Averaged stats, "IoU metric:" and table lines). Everything else is skipped, banners
  and pycocotools' own chatter ("Accumulating evaluation results...") included.
"""

from __future__ import annotations

import re
from operator import itemgetter
from typing import Any, Callable, NamedTuple, Optional, Sequence

import numpy as np
import numpy.typing as npt

from detr_watch import blocks
from detr_watch.blocks import Block
from detr_watch.formats.base import NUMBER, to_float
from detr_watch.formats.numbers import DIGITS_AND_DOT, MAX_DIGITS, decimals, digit_runs, integers
from detr_watch.records import COCO_STATS, ITER, Record, RunTracker

NAME = "detr-stdout"

IntArray = npt.NDArray[np.int64]

_TRAIN = re.compile(rb"Epoch: \[(\d+)\]\s+\[\s*(\d+)/(\d+)\]")
_TEST = re.compile(rb"Test:\s+\[\s*\d+/\d+\]")
_NAME = re.compile(rb"[A-Za-z_][\w.]*")
_TABLE_VALUE = re.compile(rb"\] = (" + NUMBER + rb")\s*$")
_IOU_TYPE = re.compile(rb"IoU metric: (\w+)")
# eta is a clock reading and `max mem:` splits into "max" "mem:"; neither is a metric.
_TIMING = {b"eta": "", b"mem": "", b"time": "iter_time", b"data": "data_time"}
_CACHE_LIMIT = 10_000
_PLAN_LIMIT = 64
_TOKEN = re.compile(rb"\S+")  # what bytes.split() splits on is what \s matches
_RUN = re.compile(rb"[0-9.]+")
# Lines are read in batches of about this many bytes, which bounds numpy's temporary arrays.
_BATCH_BYTES = 4 << 20
_LAYOUT_LIMIT = 256
_UNSEEN: Any = object()
# Runs of this many lines of one length or more are tried with a `_Fixed` layout first.
_FIXED_MIN = 4
# Runs of this many lines or more that no `_Fixed` layout reads are searched for their numbers.
_SEARCH_MIN = 32
_FIXED_VARIANTS = 4  # fixed layouts kept for one skeleton and length (digits and dots in other places)
_DOT = ord(".")
_ZERO = ord("0")
_NINE = ord("9")


class _Plan(NamedTuple):
    """Where the names and values sit in the tokens of a MetricLogger line of one shape."""

    names: tuple[bytes, ...]
    pick_names: Callable[[Sequence[bytes]], Any]
    keys: tuple[str, ...]
    pick_values: Callable[[Sequence[bytes]], Any]
    picks: tuple[int, ...]  # the tokens `pick_values` takes


def _picker(idx: Sequence[int]) -> Callable[[Sequence[bytes]], Any]:
    """itemgetter that always returns a tuple, even for zero or one index."""
    if len(idx) >= 2:
        return itemgetter(*idx)
    return lambda tokens: tuple(tokens[i] for i in idx)


def _is_banner(line: bytes) -> bool:
    s = line.strip()
    return (
        s == b"git:"
        or s.startswith(b"| distributed init (rank")
        or (b"Namespace(" in s and (b"lr_backbone=" in s or b"num_queries=" in s))
        or s.endswith(b"Start training")
    )


def sniff(lines: Sequence[bytes]) -> int:
    """Confidence 0-100 that these first lines are DETR console output."""
    score = 0
    prev = b""
    for line in lines:
        if line[:1].isspace():  # an indented example in a README or a docstring is not a log
            prev = line
            continue
        if b"Epoch: [" in line and b"eta:" in line and _TRAIN.search(line):
            return 95
        if b"Test:" in line and b"eta:" in line and _TEST.search(line):
            score = max(score, 85)
        elif line.startswith(b"Averaged stats:"):
            score = max(score, 80)
        elif b"sha: " in line and prev.strip() == b"git:":
            score = max(score, 60)
        elif b"Namespace(" in line and b"lr_backbone=" in line:
            score = max(score, 60)
        prev = line
    return score


# DETR's main.py prints its arguments once: `Namespace(lr=0.0001, ..., epochs=300, lr_drop=200, ...)`.
_EPOCHS_ARG = re.compile(rb"[(,]\s*epochs=(\d+)\s*[,)]")


class _Parsed(NamedTuple):
    """What `_Layout.read` found in a run of lines."""

    row: IntArray  # per line: its row in the arrays below, -1 when the line does not fit the layout
    values: npt.NDArray[np.float64]  # one column per key of the plan
    epoch: IntArray
    iteration: IntArray
    per_epoch: IntArray

    @classmethod
    def empty(cls, lines: int, keys: int) -> _Parsed:
        """For `lines` lines, none read yet (rows are filled in line order: row k is line k)."""
        zeros = np.zeros(lines, dtype=np.int64)
        return cls(
            np.full(lines, -1, dtype=np.int64), np.empty((lines, keys)), zeros, zeros.copy(), zeros.copy()
        )


def _cut(parsed: _Parsed, a: int, b: int) -> _Parsed:
    """Lines a..b of a line-ordered `_Parsed`, as one of their own (views: writes go through)."""
    return _Parsed(
        np.where(parsed.row[a:b] >= 0, parsed.row[a:b] - a, -1),
        parsed.values[a:b],
        parsed.epoch[a:b],
        parsed.iteration[a:b],
        parsed.per_epoch[a:b],
    )


class _Layout(NamedTuple):
    """How the training lines of one skeleton (a line without its digits and dots) are read in bulk.

    Lines with one skeleton differ only in their runs of digits and dots. Where those runs sit at
    the same places (`gaps`, in bytes of the skeleton), the runs inside metric names hold the same
    bytes (`literal`), the epoch and iteration runs are integers and the value runs are numbers,
    a line has exactly the tokens, names and number tokens of the line the layout was learnt from:
    the plan of that line reads it, and `read` checks all of this for many lines at once.
    """

    shape: tuple[str, int]
    plan: _Plan
    gaps: IntArray  # per run
    header: IntArray  # the runs of e, i and N in `Epoch: [e]  [i/N]`
    values: IntArray  # the run of each key of the plan
    literal: IntArray  # the runs inside metric names ...
    literal_lengths: IntArray  # ... their lengths ...
    literal_run: IntArray  # ... and, byte by byte, which run, where in it, and what it holds
    literal_offset: IntArray
    literal_bytes: npt.NDArray[np.uint8]

    @classmethod
    def of(
        cls,
        line: bytes,
        runs: Sequence[tuple[int, int]],
        header: Sequence[int],
        values: Sequence[int],
        literal: Sequence[int],
        shape: tuple[str, int],
        plan: _Plan,
    ) -> _Layout:
        gaps, before = [], 0
        for a, b in runs:
            gaps.append(a - before)
            before += b - a
        lit_run = [r for r in literal for _ in range(runs[r][1] - runs[r][0])]
        lit_offset = [o for r in literal for o in range(runs[r][1] - runs[r][0])]
        lit_bytes = b"".join(line[runs[r][0] : runs[r][1]] for r in literal)

        def ints(seq: Sequence[int]) -> IntArray:
            return np.asarray(seq, dtype=np.int64)

        return cls(
            shape,
            plan,
            ints(gaps),
            ints(header),
            ints(values),
            ints(literal),
            ints([runs[r][1] - runs[r][0] for r in literal]),
            ints(lit_run),
            ints(lit_offset),
            np.frombuffer(lit_bytes, dtype=np.uint8),
        )

    def current(self, plans: dict[tuple[str, int], _Plan]) -> bool:
        """Whether the plain path would read these lines with this layout's plan right now."""
        return plans.get(self.shape) is self.plan

    def read(self, joined: bytes, offsets: IntArray) -> _Parsed:
        """The lines of `joined` that start at `offsets[:-1]` (`offsets[-1]` is one past the last line)."""
        first_byte = int(offsets[0])
        u = np.frombuffer(joined, np.uint8, int(offsets[-1]) - 1 - first_byte, first_byte)
        line_starts = offsets[:-1] - first_byte
        starts, ends = digit_runs(u)
        n_runs = self.gaps.shape[0]
        first = np.searchsorted(starts, line_starts)
        counts = np.diff(np.append(first, starts.shape[0]))
        good = np.flatnonzero(counts == n_runs)
        idx = first[good, None] + np.arange(n_runs)
        s, e = starts[idx], ends[idx]
        length = e - s
        ok = np.all(s - line_starts[good, None] - (np.cumsum(length, axis=1) - length) == self.gaps, axis=1)
        if self.literal.shape[0]:
            ok &= np.all(length[:, self.literal] == self.literal_lengths, axis=1)
            pos = np.minimum(s[:, self.literal_run] + self.literal_offset, u.shape[0] - 1)
            ok &= np.all(u[pos] == self.literal_bytes, axis=1)
        header, header_ok = integers(u, e[:, self.header].ravel(), length[:, self.header].ravel())
        header = header.reshape(-1, 3)
        ok &= header_ok.reshape(-1, 3).all(axis=1)
        k = self.values.shape[0]
        values, values_ok = decimals(u, e[:, self.values].ravel(), length[:, self.values].ravel())
        values = values.reshape(-1, k)
        ok &= values_ok.reshape(-1, k).all(axis=1)
        row = np.full(line_starts.shape[0], -1, dtype=np.int64)
        fit = good[ok]
        row[fit] = np.arange(fit.shape[0])
        return _Parsed(row, values[ok], header[ok, 0], header[ok, 1], header[ok, 2])


class _Fixed(NamedTuple):
    """A `_Layout` for lines of one length whose digits and dots are where the learnt line has them.

    Lines of one skeleton and one length, whose bytes at the learnt line's digit and dot
    positions are digits and dots again, have their runs at the same offsets: no search for them
    is needed, the check is one gather, and each value is a weighted sum of its digit columns.
    Exact as `decimals` is: at most 15 digits, one division by a power of ten.
    """

    layout: _Layout
    length: int
    digit_cols: IntArray  # where the learnt line has digits
    dot_cols: IntArray  # and dots
    literal_cols: IntArray
    literal_bytes: npt.NDArray[np.uint8]
    value_cols: IntArray  # the digit columns of the values, value after value
    value_weights: npt.NDArray[np.float64]  # 10**k of each
    value_starts: IntArray  # where each value's columns start in `value_cols`
    value_div: npt.NDArray[np.float64]  # 10**(digits after the dot) of each value
    header_cols: IntArray
    header_weights: npt.NDArray[np.float64]
    header_starts: IntArray

    @classmethod
    def of(cls, layout: _Layout, line: bytes) -> Optional[_Fixed]:
        """The fixed layout of `line`, which `layout` reads (None when a number is too long for it)."""
        runs = [r.span() for r in _RUN.finditer(line)]
        if len(runs) != layout.gaps.shape[0]:
            return None
        digit_cols = [c for a, b in runs for c in range(a, b) if line[c] != _DOT]
        dot_cols = [c for a, b in runs for c in range(a, b) if line[c] == _DOT]
        literal_cols = [c for r in layout.literal.tolist() for c in range(*runs[r])]

        def sums(
            which: Sequence[int], max_digits: int
        ) -> Optional[tuple[list[int], list[float], list[int], list[float]]]:
            cols: list[int] = []
            weights: list[float] = []
            starts: list[int] = []
            div: list[float] = []
            for r in which:
                a, b = runs[r]
                digits = [c for c in range(a, b) if line[c] != _DOT]
                dot = line.find(b".", a, b)
                if not 1 <= len(digits) <= max_digits or line.count(b".", a, b) > 1:
                    return None
                starts.append(len(cols))
                cols.extend(digits)
                weights.extend(10.0 ** (len(digits) - 1 - k) for k in range(len(digits)))
                div.append(10.0 ** (b - 1 - dot) if dot >= 0 else 1.0)
            return cols, weights, starts, div

        values = sums(layout.values.tolist(), MAX_DIGITS)
        header = sums(layout.header.tolist(), 9)
        if values is None or header is None:
            return None

        def ints(seq: Sequence[int]) -> IntArray:
            return np.asarray(seq, dtype=np.int64)

        raw = np.frombuffer(line, dtype=np.uint8)
        return cls(
            layout,
            len(line),
            ints(digit_cols),
            ints(dot_cols),
            ints(literal_cols),
            raw[literal_cols].copy(),
            ints(values[0]),
            np.asarray(values[1]),
            ints(values[2]),
            np.asarray(values[3]),
            ints(header[0]),
            np.asarray(header[1]),
            ints(header[2]),
        )

    def read(self, view: npt.NDArray[np.uint8], into: _Parsed, where: IntArray) -> None:
        """Lines of `self.length` bytes, one per row of `view`: those that fit get rows `where` of `into`.

        With the skeleton and the length the same, digits and dots where the learnt line has them
        put every other byte where it has it too. (np.take on columns: several times faster here
        than fancy indexing; min/max: no temporary arrays.)
        """
        digits = np.take(view, self.digit_cols, axis=1)
        ok = (digits.min(axis=1, initial=255) >= _ZERO) & (digits.max(axis=1, initial=0) <= _NINE)
        if self.dot_cols.shape[0]:
            dots = np.take(view, self.dot_cols, axis=1)
            ok &= (dots.min(axis=1) == _DOT) & (dots.max(axis=1) == _DOT)
        if self.literal_cols.shape[0]:
            ok &= np.all(np.take(view, self.literal_cols, axis=1) == self.literal_bytes, axis=1)
        rows = np.flatnonzero(ok)
        view = view[rows]
        where = where[rows]
        values = np.take(view, self.value_cols, axis=1).astype(np.float64)
        values -= _ZERO
        values *= self.value_weights
        into.values[where] = np.add.reduceat(values, self.value_starts, axis=1) / self.value_div
        head = np.take(view, self.header_cols, axis=1).astype(np.float64)
        head -= _ZERO
        head *= self.header_weights
        e, i, per = np.add.reduceat(head, self.header_starts, axis=1).astype(np.int64).T
        into.epoch[where] = e
        into.iteration[where] = i
        into.per_epoch[where] = per
        into.row[where] = where


class _Out:
    """Records and blocks in the order they were read; blocks of one kind in a row become one."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self._blocks: list[Block] = []
        self._same: list[Block] = []  # consecutive blocks of the same keys, not joined yet

    def add(self, block: Block) -> None:
        self._flush()
        if self._same and (self._same[0].keys, self._same[0].axis) != (block.keys, block.axis):
            self._join()
        self._same.append(block)

    def done(self) -> list[Block]:
        self._flush()
        self._join()
        return self._blocks

    def _flush(self) -> None:
        if self.records:
            self._join()
            self._blocks.extend(blocks.from_records(self.records))
            self.records = []

    def _join(self) -> None:
        same, self._same = self._same, []
        if len(same) == 1:
            self._blocks.append(same[0])
        elif same:
            self._blocks.append(blocks.concatenate(same))


class DetrStdoutParser:
    name = NAME

    def __init__(self) -> None:
        self.skipped = 0
        self._seen = False
        # What the log says about the run, not a series: `epochs` from DETR's printed arguments.
        self.meta: dict[str, str] = {}
        self._runs = RunTracker()
        self._names: dict[tuple[str, bytes], str] = {}
        self._plans: dict[tuple[str, int], _Plan] = {}  # lines of a run share one shape
        self._layouts: dict[bytes, Optional[_Layout]] = {}  # line skeleton -> how to read it in bulk
        self._fixed: dict[tuple[bytes, int], list[_Fixed]] = {}  # (skeleton, length) -> faster still
        self._epoch: Optional[int] = None  # last training epoch seen
        self._per_epoch = 0  # N of `[i/N]`
        self._block = ""  # "train" or "test": what the next Averaged stats line closes
        self._table_kind = "bbox"
        self._table: list[Optional[float]] = []

    @property
    def recognised(self) -> bool:
        return self._seen

    def reset(self) -> None:
        self._runs.reset()
        self._epoch = None
        self._per_epoch = 0
        self._block = ""
        self._table_kind = "bbox"
        self._table = []

    def feed(self, lines: Sequence[bytes]) -> list[Record]:
        return blocks.to_records(self.feed_blocks(lines))

    def feed_blocks(self, lines: Sequence[bytes]) -> list[Block]:
        """The records of `lines`; training lines of one shape come as one block.

        Runs of training lines that look alike (`_Layout`) are read all at once with numpy;
        every other line, and any line that differs from its layout, is read by `_line`.
        """
        out = _Out()
        start, size = 0, 0
        for k, line in enumerate(lines):
            size += len(line) + 1
            if size >= _BATCH_BYTES:
                self._batch(lines[start : k + 1], out)
                start, size = k + 1, 0
        if start < len(lines):
            self._batch(lines[start:], out)
        return out.done()

    def _line(self, line: bytes, out: list[Record]) -> None:
        """One line, the plain way."""
        is_table = b"Average Precision" in line or b"Average Recall" in line
        if self._table and not is_table:
            self._flush_table(out)
        i = line.find(b"Epoch: [")
        m = _TRAIN.match(line, i) if i >= 0 else None
        if m is not None:
            rec = self._train(line, m)
            if rec is not None:
                out.append(rec)
        elif is_table and self._table_line(line, out):
            pass
        elif b"Averaged stats:" in line and self._averaged(line, out):
            pass
        elif b"Test:" in line and (b"Test: Total time" in line or _TEST.search(line)):
            self._seen = True
            self._block = "test"
        elif b"IoU metric:" in line and self._iou_type(line):
            pass
        elif i >= 0 and b"Total time" in line:
            self._block = "train"
        elif line and not line.isspace():
            if not self._seen and _is_banner(line):
                self._seen = True
            if b"Namespace(" in line:
                epochs = _EPOCHS_ARG.search(line)
                if epochs:
                    self.meta["epochs"] = epochs.group(1).decode()
            self.skipped += 1

    def _batch(self, lines: Sequence[bytes], out: _Out) -> None:
        joined = b"\n".join(lines)
        skeletons = joined.translate(None, DIGITS_AND_DOT).split(b"\n")
        offsets = np.zeros(len(lines) + 1, dtype=np.int64)
        np.cumsum([len(line) + 1 for line in lines], out=offsets[1:])
        ahead = self._prefetch(lines, skeletons, joined, offsets)
        k, n = 0, len(lines)
        while k < n:
            skeleton = skeletons[k]
            j = k + 1
            while j < n and skeletons[j] == skeleton:
                j += 1
            layout = self._layouts.get(skeleton, _UNSEEN)
            if layout is _UNSEEN or (layout is not None and not layout.current(self._plans)):
                self._line(lines[k], out.records)
                layout = self._learn(lines[k], skeleton)
                k += 1
            if layout is None:
                for line in lines[k:j]:
                    self._line(line, out.records)
            elif k < j:
                done = ahead.get(id(layout))
                if done is not None and done[0] is layout:
                    parsed = _cut(done[1], k, j)
                else:
                    parsed = _Parsed.empty(j - k, len(layout.plan.keys))
                self._read_layout(layout, skeleton, joined, offsets[k : j + 1], lines[k:j], parsed, out)
            k = j

    def _learn(self, line: bytes, skeleton: bytes) -> Optional[_Layout]:
        """The layout of a training line the plain path just read, if lines like it can be read in bulk.

        What cannot be read in bulk is remembered as None: lines of that skeleton are read the plain way.
        """
        if len(self._layouts) >= _LAYOUT_LIMIT:
            self._layouts.clear()
        layout = self._layouts[skeleton] = self._layout(line)
        return layout

    def _layout(self, line: bytes) -> Optional[_Layout]:
        i = line.find(b"Epoch: [")
        m = _TRAIN.match(line, i) if i >= 0 else None
        if m is None or b"Average Precision" in line or b"Average Recall" in line:
            return None
        spans = [t.span() for t in _TOKEN.finditer(line, m.end())]
        tokens = [line[a:b] for a, b in spans]
        shape = ("train_", len(tokens))
        plan = self._plans.get(shape)
        if plan is None or not plan.keys or plan.pick_names(tokens) != plan.names:
            return None
        names = [t for t, tok in enumerate(tokens) if len(tok) >= 2 and tok.endswith(b":")]
        if [t + 1 for t in names if self._key("train_", tokens[t][:-1])] != list(plan.picks):
            return None  # a metric whose value was no number: the plan does not cover every name
        runs = [r.span() for r in _RUN.finditer(line)]
        index = {span: r for r, span in enumerate(runs)}
        header = [index.get(m.span(g)) for g in (1, 2, 3)]
        values = [index.get(spans[t]) for t in plan.picks]
        if None in header or None in values:
            return None
        literal = [
            r for r, (a, b) in enumerate(runs) if any(spans[t][0] <= a and b <= spans[t][1] for t in names)
        ]
        return _Layout.of(line, runs, header, values, literal, shape, plan)  # type: ignore[arg-type]

    def _read_layout(
        self,
        layout: _Layout,
        skeleton: bytes,
        joined: bytes,
        offsets: IntArray,
        lines: Sequence[bytes],
        parsed: _Parsed,
        out: _Out,
    ) -> None:
        """Lines of one skeleton: those that match `layout` in bulk, the others one by one."""
        self._parse(layout, skeleton, joined, offsets, lines, parsed)
        k, n = 0, len(lines)
        while k < n:
            if parsed.row[k] < 0:
                self._line(lines[k], out.records)
                k += 1
                continue
            j = k + 1
            while j < n and parsed.row[j] >= 0:
                j += 1
            if not layout.current(self._plans):  # a line read the plain way replaced the plan
                for line in lines[k:j]:
                    self._line(line, out.records)
            else:
                if self._table:
                    self._flush_table(out.records)
                out.add(self._train_block(layout, parsed, parsed.row[k:j]))
            k = j

    def _parse(
        self,
        layout: _Layout,
        skeleton: bytes,
        joined: bytes,
        offsets: IntArray,
        lines: Sequence[bytes],
        parsed: _Parsed,
    ) -> None:
        """Every line of a skeleton group not parsed yet: lines of one length through a `_Fixed`
        layout, the rest (and what does not fit it) through `layout`."""
        todo = np.flatnonzero(parsed.row < 0)
        if todo.shape[0] >= _FIXED_MIN:
            lengths = (np.diff(offsets) - 1)[todo]
            order = np.argsort(lengths, kind="stable")
            sorted_lengths = lengths[order]
            cuts = np.flatnonzero(sorted_lengths[1:] != sorted_lengths[:-1]) + 1
            for which in np.split(todo[order], cuts):
                if which.shape[0] >= _FIXED_MIN:
                    self._read_fixed(layout, skeleton, joined, offsets, lines, which, parsed)
        left = np.flatnonzero(parsed.row < 0)
        if left.shape[0]:
            cuts = np.flatnonzero(np.diff(left) != 1) + 1
            for part in np.split(left, cuts):
                a, b = int(part[0]), int(part[-1]) + 1
                if b - a < _SEARCH_MIN:
                    continue  # a few lines: the plain way costs less than numpy's calls
                got = layout.read(joined, offsets[a : b + 1])
                fit = np.flatnonzero(got.row >= 0)
                where = a + fit
                rows = got.row[fit]
                parsed.values[where] = got.values[rows]
                parsed.epoch[where] = got.epoch[rows]
                parsed.iteration[where] = got.iteration[rows]
                parsed.per_epoch[where] = got.per_epoch[rows]
                parsed.row[where] = where

    def _prefetch(
        self, lines: Sequence[bytes], skeletons: Sequence[bytes], joined: bytes, offsets: IntArray
    ) -> dict[int, tuple[_Layout, _Parsed]]:
        """The lines of known layouts, read by fixed layouts a (skeleton, length) at a time across
        the whole batch: the fewer numpy calls, the faster (the groups of a skeleton are short)."""
        buckets: dict[tuple[bytes, int], list[int]] = {}
        previous, usable = b"", False
        for k, skeleton in enumerate(skeletons):
            if skeleton != previous:
                layout = self._layouts.get(skeleton)
                usable = layout is not None and layout.current(self._plans)
                previous = skeleton
            if usable:
                buckets.setdefault((skeleton, len(lines[k])), []).append(k)
        out: dict[int, tuple[_Layout, _Parsed]] = {}
        for (skeleton, _), which in buckets.items():
            if len(which) < _FIXED_MIN:
                continue
            layout = self._layouts[skeleton]
            assert layout is not None
            entry = out.get(id(layout))
            if entry is None:
                entry = out[id(layout)] = (layout, _Parsed.empty(len(lines), len(layout.plan.keys)))
            self._read_fixed(
                layout, skeleton, joined, offsets, lines, np.asarray(which, dtype=np.int64), entry[1]
            )
        return out

    def _read_fixed(
        self,
        layout: _Layout,
        skeleton: bytes,
        joined: bytes,
        offsets: IntArray,
        lines: Sequence[bytes],
        which: IntArray,
        parsed: _Parsed,
    ) -> None:
        """Lines of one length (`which`) through the fixed layouts known for their length, learning
        another from the first line none of them reads while enough lines are left."""
        key = (skeleton, len(lines[int(which[0])]))
        known = [f for f in self._fixed.get(key, []) if f.layout is layout]
        tried = 0
        for k in range(len(known) + _FIXED_VARIANTS):
            if which.shape[0] < _FIXED_MIN:
                break
            if k >= len(known):
                first = int(which[0])
                fixed = None
                if tried < _FIXED_VARIANTS and layout.read(joined, offsets[first : first + 2]).row[0] >= 0:
                    fixed = _Fixed.of(layout, lines[first])
                tried += 1
                if fixed is None:
                    which = which[1:]  # an odd line: the plain way reads it
                    continue
                known.append(fixed)
            # the lines gathered into a matrix by the C join, not by an index per byte
            flat = np.frombuffer(b"".join([lines[i] for i in which.tolist()]), dtype=np.uint8)
            known[k].read(flat.reshape(which.shape[0], -1), parsed, which)
            which = which[parsed.row[which] < 0]
        if len(self._fixed) >= _LAYOUT_LIMIT:
            self._fixed.clear()
        self._fixed[key] = known[-_FIXED_VARIANTS:]

    def _train_block(self, layout: _Layout, parsed: _Parsed, rows: IntArray) -> Block:
        """What `_train` gives for these lines, as one block (state updated as it would be)."""
        self._seen = True
        self._block = "train"
        e, i, n = parsed.epoch[rows], parsed.iteration[rows], parsed.per_epoch[rows]
        steps = (e * n + i).astype(np.float64)
        epochs = e.astype(np.float64) + np.divide(i, n, out=np.zeros(len(rows)), where=n > 0)
        self._epoch, self._per_epoch = int(e[-1]), int(n[-1])
        runs = np.empty(len(rows), dtype=np.int64)
        runs[0] = self._runs.assign(float(steps[0]))
        # RunTracker.assign for the others: a new run wherever the step does not increase
        runs[1:] = runs[0] + np.cumsum(~(steps[1:] > steps[:-1]))
        self._runs.run = int(runs[-1])
        self._runs.last_step = float(steps[-1])
        return Block(layout.plan.keys, parsed.values[rows], steps, runs, ITER, None, epochs)

    def _key(self, prefix: str, raw: bytes) -> str:
        """The series name of `raw:` in a line of this prefix ("" when it is not a metric)."""
        key = self._names.get((prefix, raw))
        if key is not None:
            return key
        timing = _TIMING.get(raw)
        if timing is None:
            key = prefix + raw.decode("ascii") if _NAME.fullmatch(raw) else ""
        else:
            key = prefix + timing if timing and prefix == "train_" else ""
        if len(self._names) < _CACHE_LIMIT:
            self._names[(prefix, raw)] = key
        return key

    def _scan(
        self, tokens: list[bytes], prefix: str, average: bool
    ) -> tuple[dict[str, float], Optional[_Plan]]:
        """Metrics of `name: value [avg]` tokens, and the plan that reads lines of this shape."""
        metrics: dict[str, float] = {}
        names: list[int] = []
        keys: list[str] = []
        picks: list[int] = []
        n = len(tokens)
        for i, tok in enumerate(tokens):
            if len(tok) < 2 or not tok.endswith(b":"):
                continue
            names.append(i)
            key = self._key(prefix, tok[:-1])
            j = i + 1
            # `median (global_avg)`: the average is what log.txt keeps
            after = tokens[j + 1] if average and j + 1 < n else b":"
            if not after.endswith(b":") and to_float(after) is not None:
                j += 1
            value = to_float(tokens[j]) if key and j < n else None
            if value is not None:
                metrics[key] = value
                keys.append(key)
                picks.append(j)
        if len(set(keys)) != len(keys):  # a repeated name: only the slow path keeps the last one
            return metrics, None
        plan = _Plan(
            tuple(tokens[i] for i in names), _picker(names), tuple(keys), _picker(picks), tuple(picks)
        )
        return metrics, plan

    def _metrics(self, tokens: list[bytes], prefix: str, average: bool = False) -> dict[str, float]:
        """Like `_scan`, but reuses the plan of the last line of the same shape (most lines)."""
        shape = (prefix, len(tokens))
        plan = self._plans.get(shape)
        if plan is not None and plan.pick_names(tokens) == plan.names:
            try:
                return dict(zip(plan.keys, map(float, plan.pick_values(tokens))))
            except ValueError:  # same names, but a value that is not a number this time
                return self._scan(tokens, prefix, average)[0]
        metrics, plan = self._scan(tokens, prefix, average)
        if plan is not None:
            if len(self._plans) >= _PLAN_LIMIT:
                self._plans.clear()
            self._plans[shape] = plan
        return metrics

    def _train(self, line: bytes, m: re.Match[bytes]) -> Optional[Record]:
        self._seen = True
        self._block = "train"
        e, i, n = int(m.group(1)), int(m.group(2)), int(m.group(3))
        self._epoch, self._per_epoch = e, n
        metrics = self._metrics(line[m.end() :].split(), "train_")
        if not metrics:
            return None
        step = float(e * n + i)
        epoch = e + i / n if n > 0 else float(e)
        return Record(step, metrics, self._runs.assign(step), ITER, None, epoch)

    def _eval_record(self, metrics: dict[str, float]) -> Record:
        if self._epoch is None:
            step, epoch = 0.0, 0.0
        else:
            step, epoch = float((self._epoch + 1) * self._per_epoch), float(self._epoch + 1)
        return Record(step, metrics, self._runs.run, ITER, None, epoch)

    def _averaged(self, line: bytes, out: list[Record]) -> bool:
        region = line[line.find(b"Averaged stats:") + 15 :]
        tokens = region.replace(b"(", b" ").replace(b")", b" ").split()
        block = self._block or ("train" if b"lr:" in tokens else "test")
        metrics = self._metrics(tokens, "train_avg_" if block == "train" else "test_", average=True)
        if not metrics:
            return False
        self._seen = True
        self._block = ""
        out.append(self._eval_record(metrics))
        return True

    def _iou_type(self, line: bytes) -> bool:
        m = _IOU_TYPE.search(line)
        if m is None:
            return False
        self._seen = True
        self._table_kind = m.group(1).decode("ascii")
        return True

    def _table_line(self, line: bytes, out: list[Record]) -> bool:
        m = _TABLE_VALUE.search(line)
        if m is None:
            return False
        self._seen = True
        value = float(m.group(1))
        self._table.append(None if value == -1.0 else value)
        if len(self._table) == len(COCO_STATS):
            self._flush_table(out)
        return True

    def _flush_table(self, out: list[Record]) -> None:
        values, self._table = self._table, []
        if self._table_kind not in ("bbox", "segm"):
            return
        prefix = f"test_coco_eval_{self._table_kind}/"
        metrics = {prefix + name: v for name, v in zip(COCO_STATS, values) if v is not None}
        if metrics:
            out.append(self._eval_record(metrics))


def create() -> DetrStdoutParser:
    return DetrStdoutParser()
