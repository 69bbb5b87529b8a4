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
from typing import Any, Callable, Iterator, NamedTuple, Optional, Sequence, overload

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
# Lines are read in batches of about this many bytes, which bounds numpy's temporary arrays. The
# tailer's text (`tail.Lines`) comes in reads of up to 4 MiB that are grouped up to this size but
# never cut, so its batches are single reads of up to 4 MiB (peak memory on a 300 MB log: 141 MB).
_BATCH_BYTES = 2 << 20
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


# Where the "eta:" of a console line wrapped in a JSON object is (about 40 bytes in), with room.
_WRAPPED_ETA = 512


def sniff(lines: Sequence[bytes]) -> int:
    """Confidence 0-100 that these first lines are DETR console output."""
    score = 0
    prev = b""
    for line in lines:
        if line[:1].isspace():  # an indented example in a README or a docstring is not a log
            prev = line
            continue
        if line[:2] == b'{"' and line.find(b"eta:", 0, _WRAPPED_ETA) < 0:
            # A JSON object: a log.txt line (a search of its start, not the four below of its 4 KB:
            # 7.7 ms on a log.txt's head), unless it wraps console output (Docker's json-file logs:
            # {"log":"Epoch: [0]  [   0/7393]  eta: ..."}).
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


class _Text:
    """A batch of lines as one buffer: line k is `joined[offsets[k] : offsets[k + 1] - 1]`."""

    def __init__(self, joined: bytes, offsets: IntArray, splits: bool = True) -> None:
        self.joined = joined
        self.u = np.frombuffer(joined, dtype=np.uint8)
        self.offsets = offsets
        self.lengths = np.diff(offsets) - 1
        self.splits = splits  # whether its lines are `joined.split(b"\n")` (no line holds a newline)
        self._starts: Optional[list[int]] = None

    @classmethod
    def of_lines(cls, lines: Sequence[bytes]) -> _Text:
        offsets = np.zeros(len(lines) + 1, dtype=np.int64)
        np.cumsum([len(line) + 1 for line in lines], out=offsets[1:])
        joined = b"\n".join(lines)
        # lines from the tailer hold no newline; lines handed to feed() by anyone else might
        return cls(joined, offsets, splits=joined.count(b"\n") == len(lines) - 1)

    @classmethod
    def of_texts(cls, texts: Sequence[bytes]) -> _Text:
        """From texts of lines joined by newlines (`tail.Lines.parts`): numpy finds the lines."""
        joined = texts[0] if len(texts) == 1 else b"\n".join(texts)
        newlines = np.flatnonzero(np.frombuffer(joined, dtype=np.uint8) == ord("\n"))
        offsets = np.empty(newlines.shape[0] + 2, dtype=np.int64)
        offsets[0] = 0
        offsets[1:-1] = newlines + 1
        offsets[-1] = len(joined) + 1
        return cls(joined, offsets)

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1

    def line(self, k: int) -> bytes:
        if self._starts is None:
            self._starts = self.offsets.tolist()
        return self.joined[self._starts[k] : self._starts[k + 1] - 1]

    def rows(self, starts: IntArray, width: int) -> npt.NDArray[np.uint8]:
        """The `width` bytes from each of `starts`, one row each (copied, C-contiguous), zeros past
        the end of the buffer."""
        u = self.u
        past = starts > u.shape[0] - width
        if not past.any():
            return _windows(u, width)[starts]
        rows = np.zeros((starts.shape[0], width), dtype=np.uint8)
        inside = ~past
        if inside.any():
            rows[inside] = _windows(u, width)[starts[inside]]
        for k in np.flatnonzero(past).tolist():
            tail = u[int(starts[k]) :]
            rows[k, : tail.shape[0]] = tail
        return rows


def _windows(u: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    """Every `width` bytes of `u` from every position, as rows of a matrix (a view: nothing copied).

    Fancy indexing on its first axis copies whole rows; np.take would copy all of it first.
    """
    return np.lib.stride_tricks.as_strided(
        u, shape=(u.shape[0] - width + 1, width), strides=(1, 1), writeable=False
    )


class _Lines(Sequence[bytes]):
    """Lines `a` to `b` of a `_Text`, each cut out as `bytes` only when asked for (most are read
    in bulk, from the buffer)."""

    __slots__ = ("_text", "_a", "_b")

    def __init__(self, text: _Text, a: int, b: int) -> None:
        self._text, self._a, self._b = text, a, b

    def __len__(self) -> int:
        return self._b - self._a

    @overload
    def __getitem__(self, i: int) -> bytes: ...

    @overload
    def __getitem__(self, i: slice) -> _Lines: ...

    def __getitem__(self, i: int | slice) -> bytes | _Lines:
        n = self._b - self._a
        if isinstance(i, slice):
            start, stop, step = i.indices(n)
            if step != 1:
                raise ValueError("only contiguous slices of lines")
            return _Lines(self._text, self._a + start, self._a + max(start, stop))
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._text.line(self._a + i)

    def __iter__(self) -> Iterator[bytes]:
        if self._b <= self._a:
            return
        if not self._text.splits:
            yield from (self._text.line(k) for k in range(self._a, self._b))
            return
        o = self._text.offsets
        yield from self._text.joined[int(o[self._a]) : int(o[self._b]) - 1].split(b"\n")


# Numbers of one digit count read together: (which numbers, their digit columns, digit-major).
_Groups = tuple[tuple[IntArray, IntArray], ...]


class _Fixed(NamedTuple):
    """A `_Layout` for lines of one length whose digits and dots are where the learnt line has them.

    A line of the learnt line's length with the learnt line's bytes everywhere but at its digits,
    and digits there (a name's digits, e.g. loss_bbox_0, and the dots must be the same bytes), has
    the learnt line's skeleton and its runs at the same offsets: no search for them is needed.
    The check is one pass over the line's bytes (`template`, `limit`), and each value is read from
    its digit columns (`groups`). Exact as `decimals` is: an integer of at most 15 digits over a
    power of ten.
    """

    layout: _Layout
    skeleton: bytes
    length: int
    template: npt.NDArray[np.uint8]  # the learnt line, "0" for its digits, padded to `width`
    limit: npt.NDArray[np.uint8]  # how far a byte may be above `template`: 9 at digits, else 0
    dots: npt.NDArray[np.bool_]  # where the learnt line has dots (tells fixed layouts apart)
    numbers: _Groups  # the digit columns of the values, then of e, i and N in `Epoch: [e]  [i/N]`
    value_div: npt.NDArray[np.float64]  # 10**(digits after the dot) of each value

    @property
    def width(self) -> int:
        """The bytes looked at from a line's start: its length rounded up to 8 (so rows are words)."""
        return int(self.template.shape[0])

    @classmethod
    def of(cls, layout: _Layout, line: bytes, skeleton: bytes) -> Optional[_Fixed]:
        """The fixed layout of `line`, which `layout` reads (None when a number is too long for it)."""
        runs = [r.span() for r in _RUN.finditer(line)]
        if len(runs) != layout.gaps.shape[0]:
            return None
        literal = {c for r in layout.literal.tolist() for c in range(*runs[r])}
        digit_cols = [c for a, b in runs for c in range(a, b) if line[c] != _DOT and c not in literal]
        values, header = layout.values.tolist(), layout.header.tolist()
        by_count: dict[int, tuple[list[int], list[list[int]]]] = {}
        div = []
        for k, r in enumerate(values + header):
            a, b = runs[r]
            digits = [c for c in range(a, b) if line[c] != _DOT]
            dot = line.find(b".", a, b)
            if k < len(values):
                if not 1 <= len(digits) <= MAX_DIGITS or line.count(b".", a, b) > 1:
                    return None
                div.append(10.0 ** (b - 1 - dot) if dot >= 0 else 1.0)
            elif not 1 <= len(digits) <= 9 or dot >= 0:
                return None
            members, cols = by_count.setdefault(len(digits), ([], []))
            members.append(k)
            cols.append(digits)
        # columns digit-major: the q-th digits of all the numbers of a group side by side
        numbers = tuple(
            (np.asarray(members, dtype=np.int64), np.asarray(cols, dtype=np.int64).T.ravel())
            for members, cols in by_count.values()
        )
        width = -(-len(line) // 8) * 8
        template = np.zeros(width, dtype=np.uint8)
        template[: len(line)] = np.frombuffer(line, dtype=np.uint8)
        template[digit_cols] = _ZERO
        limit = np.full(width, 255, dtype=np.uint8)
        limit[: len(line)] = 0
        limit[digit_cols] = 9
        return cls(layout, skeleton, len(line), template, limit, template == _DOT, numbers, np.asarray(div))

    def read(self, rows: npt.NDArray[np.uint8], into: _Parsed, where: IntArray) -> None:
        """Lines of `self.length` bytes, the first `self.width` bytes from each line's start a row
        of `rows` (`_Text.rows`): those that fit get rows `where` of `into`."""
        # Each byte minus the template's, as uint8: 0 where the line has the template's byte, 0 to 9
        # where it has a digit for the template's "0"; anything else is over the limit.
        over = np.greater(np.subtract(rows, self.template), self.limit)
        fit = np.flatnonzero(np.bitwise_or.reduce(over.view(np.uint64), axis=1) == 0)
        if fit.shape[0] < rows.shape[0]:
            rows, where = rows[fit], where[fit]
        k = self.value_div.shape[0]
        numbers = _numbers(rows, self.numbers, k + 3)
        into.values[where] = numbers[:, :k] / self.value_div
        head = numbers[:, k:].astype(np.int64)
        into.epoch[where] = head[:, 0]
        into.iteration[where] = head[:, 1]
        into.per_epoch[where] = head[:, 2]
        into.row[where] = where


def _numbers(rows: npt.NDArray[np.uint8], groups: _Groups, k: int) -> npt.NDArray[np.float64]:
    """The integers whose digits sit in the columns of `groups` (see `_Fixed`), one column each."""
    out = np.empty((rows.shape[0], k))
    for members, cols in groups:
        digits = np.take(rows, cols, axis=1)
        digits -= _ZERO
        d = cols.shape[0] // members.shape[0]
        by_place = digits.reshape(rows.shape[0], d, members.shape[0])
        wide: type[np.signedinteger[Any]] = np.int32 if d <= 9 else np.int64  # 10**9 < 2**31
        acc = by_place[:, 0].astype(wide)
        for q in range(1, d):
            acc *= 10
            acc += by_place[:, q]
        out[:, members] = acc
    return out


def _dispatch(
    fixed: Sequence[_Fixed], u: npt.NDArray[np.uint8], starts: IntArray
) -> list[tuple[_Fixed, IntArray]]:
    """Which of the lines at `starts` of `u` (of one length) each of `fixed` may read: those with
    dots where it has them. Every row is checked by the fixed layout all the same: this only spares
    checking each row against every layout of its length (a dozen in a long log)."""
    if len(fixed) == 1:
        return [(fixed[0], np.arange(starts.shape[0]))]
    cols = np.flatnonzero(np.logical_or.reduce([f.dots for f in fixed]))
    signatures = np.packbits(u[starts[:, None] + cols] == _DOT, axis=1)
    width = signatures.shape[1]
    kinds, kind_of = np.unique(signatures.view(np.dtype((np.void, width))).ravel(), return_inverse=True)
    by_kind: dict[bytes, list[_Fixed]] = {}
    for f in fixed:
        by_kind.setdefault(np.packbits(f.dots[cols]).tobytes(), []).append(f)
    out: list[tuple[_Fixed, IntArray]] = []
    for k, kind in enumerate(kinds):
        candidates = by_kind.get(kind.tobytes(), [])
        if candidates:
            sub = np.flatnonzero(kind_of == k)
            out.extend((f, sub) for f in candidates)
    return out


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
        # tail.Lines: the text as it was read, not yet cut into lines (numpy finds them)
        parts = getattr(lines, "parts", None)
        if isinstance(parts, list):
            group: list[bytes] = []
            size = 0
            for part in parts:
                group.append(part)
                size += len(part) + 1
                if size >= _BATCH_BYTES:
                    self._batch(_Text.of_texts(group), out)
                    group, size = [], 0
            if group:
                self._batch(_Text.of_texts(group), out)
            return out.done()
        start, size = 0, 0
        for k, line in enumerate(lines):
            size += len(line) + 1
            if size >= _BATCH_BYTES:
                self._batch(_Text.of_lines(lines[start : k + 1]), out)
                start, size = k + 1, 0
        if start < len(lines):
            self._batch(_Text.of_lines(lines[start:]), out)
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

    def _batch(self, text: _Text, out: _Out) -> None:
        lines = _Lines(text, 0, len(text))
        skeletons, ahead = self._prefetch(lines, text)
        offsets = text.offsets
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
                self._read_layout(layout, skeleton, text, offsets[k : j + 1], lines[k:j], parsed, out)
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
        text: _Text,
        offsets: IntArray,
        lines: Sequence[bytes],
        parsed: _Parsed,
        out: _Out,
    ) -> None:
        """Lines of one skeleton: those that match `layout` in bulk, the others one by one."""
        self._parse(layout, skeleton, text, offsets, lines, parsed)
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
        text: _Text,
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
                    self._read_fixed(layout, skeleton, text, offsets, lines, which, parsed)
        left = np.flatnonzero(parsed.row < 0)
        if left.shape[0]:
            cuts = np.flatnonzero(np.diff(left) != 1) + 1
            for part in np.split(left, cuts):
                a, b = int(part[0]), int(part[-1]) + 1
                if b - a < _SEARCH_MIN:
                    continue  # a few lines: the plain way costs less than numpy's calls
                got = layout.read(text.joined, offsets[a : b + 1])
                fit = np.flatnonzero(got.row >= 0)
                where = a + fit
                rows = got.row[fit]
                parsed.values[where] = got.values[rows]
                parsed.epoch[where] = got.epoch[rows]
                parsed.iteration[where] = got.iteration[rows]
                parsed.per_epoch[where] = got.per_epoch[rows]
                parsed.row[where] = where

    def _prefetch(
        self, lines: Sequence[bytes], text: _Text
    ) -> tuple[list[bytes], dict[int, tuple[_Layout, _Parsed]]]:
        """The skeleton of every line, and the lines of known layouts read ahead across the whole
        batch (the fewer numpy calls, the faster: the groups of a skeleton are short).

        Lines that a known `_Fixed` reads are found by their length and bytes alone; only the
        others are cut into skeletons, and those of a known layout read by fixed layouts a
        (skeleton, length) at a time, learning new ones.
        """
        n = len(lines)
        out: dict[int, tuple[_Layout, _Parsed]] = {}

        def parsed_of(layout: _Layout) -> _Parsed:
            entry = out.get(id(layout))
            if entry is None:
                entry = out[id(layout)] = (layout, _Parsed.empty(n, len(layout.plan.keys)))
            return entry[1]

        by_length: dict[int, list[_Fixed]] = {}
        for (skeleton, length), fixed in self._fixed.items():
            layout = self._layouts.get(skeleton)
            if layout is not None and layout.current(self._plans):
                by_length.setdefault(length, []).extend(f for f in fixed if f.layout is layout)
        skeletons = np.empty(n, dtype=object)
        read = np.zeros(n, dtype=np.bool_)
        for length, fixed in by_length.items():
            which = np.flatnonzero(text.lengths == length)
            if not which.shape[0]:
                continue
            starts = text.offsets[which]
            for f, sub in _dispatch(fixed, text.u, starts):
                sub = sub[~read[which[sub]]]
                if not sub.shape[0]:
                    continue
                lines_read = which[sub]
                parsed = parsed_of(f.layout)
                f.read(text.rows(starts[sub], f.width), parsed, lines_read)
                lines_read = lines_read[parsed.row[lines_read] >= 0]
                skeletons[lines_read] = f.skeleton
                read[lines_read] = True
        rest = np.flatnonzero(~read)
        if rest.shape[0] == n:
            skeletons[:] = text.joined.translate(None, DIGITS_AND_DOT).split(b"\n")[:n]
        elif rest.shape[0]:
            picked = [lines[k] for k in rest.tolist()]
            skeletons[rest] = b"\n".join(picked).translate(None, DIGITS_AND_DOT).split(b"\n")
        buckets: dict[tuple[bytes, int], list[int]] = {}
        for k in rest.tolist():
            skeleton = skeletons[k]
            layout = self._layouts.get(skeleton)
            if layout is not None and layout.current(self._plans):
                buckets.setdefault((skeleton, int(text.lengths[k])), []).append(k)
        for (skeleton, _), which_list in buckets.items():
            if len(which_list) < _FIXED_MIN:
                continue
            layout = self._layouts[skeleton]
            assert layout is not None
            which = np.asarray(which_list, dtype=np.int64)
            self._read_fixed(layout, skeleton, text, text.offsets, lines, which, parsed_of(layout))
        return skeletons.tolist(), out

    def _read_fixed(
        self,
        layout: _Layout,
        skeleton: bytes,
        text: _Text,
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
                if (
                    tried < _FIXED_VARIANTS
                    and layout.read(text.joined, offsets[first : first + 2]).row[0] >= 0
                ):
                    fixed = _Fixed.of(layout, lines[first], skeleton)
                tried += 1
                if fixed is None:
                    which = which[1:]  # an odd line: the plain way reads it
                    continue
                known.append(fixed)
            else:
                fixed = known[k]
            # (after an odd line k runs ahead of `known`: the layout just learnt is the last one)
            fixed.read(text.rows(offsets[which], fixed.width), parsed, which)
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
        runs = self._runs.assign_many(steps)
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
