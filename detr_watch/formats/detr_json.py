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

import json
import threading
from array import array
from datetime import datetime
from operator import itemgetter
from typing import Any, Callable, NamedTuple, Optional, Sequence

import numpy as np
import numpy.typing as npt

from detr_watch import blocks
from detr_watch.blocks import Block
from detr_watch.formats.base import finite, head_objects, json_object
from detr_watch.records import EPOCH, Record, RunTracker, coco_series, numeric_fields

try:  # the compiled reader of lines of one layout (setup.py); optional, as compilers are
    from detr_watch import _jsonrows
except ImportError:  # pragma: no cover - depends on the install
    _jsonrows = None  # type: ignore[assignment]

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
_SHAPE_LIMIT = 256
_FLOAT = frozenset((float,))
_NUMBER = frozenset((float, int))
_NUMBER_OR_LIST = frozenset((float, int, list))
_UNKNOWN: Any = object()
# Lines read by `_jsonrows` in one call: the rows buffer stays small (4,096 x ~100 floats).
_BULK_ROWS = 4096
# A text of lines at least this long is read by two threads (`_read_rows`).
_SPLIT_BYTES = 1 << 20
# Lines of a shape the compiled reader may refuse before its plan is given up (`_plan`).
_PLAN_TRIES = 8


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


_COCO_SUFFIXES = ("_coco_eval_bbox", "_coco_eval_segm", "_coco_eval_keypoints")


class _Shape(NamedTuple):
    """Where the series sit in the values of objects with one key order (see `_shape`)."""

    series: tuple[str, ...]  # the series, in the order `numeric_fields` gives them
    scalars: Callable[[list[Any]], list[Any]]  # the numbers
    lists: Callable[[list[Any]], Sequence[Any]]  # the COCO lists
    lengths: tuple[int, ...]  # of each COCO list
    used: tuple[int, ...]  # items of each COCO list that are series (the stats pycocotools names)
    others: Optional[Callable[[list[Any]], Sequence[Any]]]  # values that were no numbers
    coco_others: Optional[Callable[[list[Any]], Sequence[Any]]]  # the same under a COCO key
    order: Optional[npt.NDArray[np.intp]]  # columns [scalars..., list items...] -> `series` order
    timed: bool  # has DINO's now_time
    epoch: Optional[int]  # position of `epoch`
    plain: bool  # no other values than numbers and COCO lists (nothing for `others_hold` to check)
    coco: tuple[tuple[int, int, int], ...]  # position, length and used items of each COCO list

    def others_hold(self, values: list[Any]) -> bool:
        """Whether the values that were no numbers (nor COCO lists) still are not."""
        return (self.others is None or _NUMBER.isdisjoint(map(type, self.others(values)))) and (
            self.coco_others is None or _NUMBER_OR_LIST.isdisjoint(map(type, self.coco_others(values)))
        )

    def kinds_hold(self, values: list[Any]) -> bool:
        """Whether every value has the kind (number, COCO list, other) it had in the planned line."""
        return _NUMBER.issuperset(map(type, self.scalars(values))) and self.others_hold(values)

    def lists_hold(self, lists: Sequence[Any]) -> bool:
        """Whether every COCO list has its length, and floats but no -1 where its series are."""
        for items, length, used in zip(lists, self.lengths, self.used):
            if type(items) is not list or len(items) != length:
                return False
            head = items[:used]
            if not _FLOAT.issuperset(map(type, head)) or -1.0 in head:
                return False
        return True


def _shape(obj: dict[str, Any]) -> Optional[_Shape]:
    """How `numeric_fields` reads `obj`, as positions in its values; None when it cannot be a plan.

    Objects with the same keys in the same order are read by the same plan as long as every
    value keeps its kind (`kinds_hold`) and every COCO list keeps its length with no -1, as a
    missing value changes the series of that line (`lists_hold`).
    """
    scalars: list[int] = []
    names: list[str] = []
    items: list[str] = []
    lists: list[int] = []
    lengths: list[int] = []
    used: list[int] = []
    others: list[int] = []
    coco_others: list[int] = []
    series: list[str] = []
    epoch: Optional[int] = None
    for i, (key, value) in enumerate(obj.items()):
        if key in _NOT_SERIES:
            if key == "epoch":
                epoch = i
            continue
        kind = type(value)
        coco = key.endswith(_COCO_SUFFIXES)
        if kind is float or kind is int:
            scalars.append(i)
            names.append(key)
            series.append(key)
        elif kind is list and coco:
            stats = [name for name, _ in coco_series(key, [0.0] * len(value))]
            lists.append(i)
            lengths.append(len(value))
            used.append(len(stats))
            items.extend(stats)
            series.extend(stats)
        else:
            (coco_others if coco else others).append(i)
    if not series or len(set(series)) != len(series):
        return None
    columns = names + items
    order = None if columns == series else np.array([columns.index(k) for k in series], dtype=np.intp)
    return _Shape(
        tuple(series),
        _list_picker(scalars),
        _picker(lists),
        tuple(lengths),
        tuple(used),
        _picker(others) if others else None,
        _picker(coco_others) if coco_others else None,
        order,
        "now_time" in obj,
        epoch,
        not others and not coco_others,
        tuple(zip(lists, lengths, used)),
    )


def _picker(idx: Sequence[int]) -> Callable[[list[Any]], Sequence[Any]]:
    """The values at these positions, in order (a slice when they are consecutive, as most are)."""
    if not idx:
        return lambda values: ()
    a, b = idx[0], idx[-1] + 1
    if list(idx) == list(range(a, b)):
        return lambda values: values[a:b]
    pick = itemgetter(*idx)
    if len(idx) == 1:
        return lambda values: (pick(values),)
    return pick


def _list_picker(idx: Sequence[int]) -> Callable[[list[Any]], list[Any]]:
    """`_picker`, giving a list (what `array.fromlist` takes)."""
    if not idx:
        return lambda values: []
    a, b = idx[0], idx[-1] + 1
    if list(idx) == list(range(a, b)):
        return lambda values: values[a:b]
    pick = _picker(idx)
    return lambda values: list(pick(values))


class _Plan(NamedTuple):
    """A shape's lines as text around their numbers, for `_jsonrows.rows` (see `_plan`)."""

    pieces: tuple[bytes, ...]  # the line is pieces[0] number pieces[1] ... number pieces[-1]
    columns: npt.NDArray[np.intp]  # the numbers that are `_Rows` columns, in that order
    coco: tuple[int, ...]  # the numbers that are COCO series (a -1 there: the line has other series)
    epoch: Optional[int]  # the number that is `epoch`
    shortest: int  # bytes of the shortest line it reads (a digit a number) and its newline


def _plan(obj: dict[str, Any], shape: _Shape) -> Optional[_Plan]:
    """How `_jsonrows` reads lines of `obj`'s shape; None where it cannot.

    The text is what `json.dumps` writes (DETR's `json.dumps(log_stats)`): `{"key": value, ...}`
    with ", " and ": ". Only for shapes of numbers and COCO lists of numbers: a string (DINO's
    `now_time`), a boolean or a null changes from line to line, so such lines take the JSON path,
    and so does a list anywhere else (under `epoch`, say, where the JSON path counts positions).
    """
    if _jsonrows is None or not shape.plain or shape.timed:
        return None
    pieces: list[str] = []
    text = ["{"]
    first: list[int] = []  # the first number of each value
    for i, (key, value) in enumerate(obj.items()):
        text.append(", " if i else "")
        text.append(json.dumps(key) + ": ")
        kind = type(value)
        first.append(len(pieces))
        if kind is float or kind is int:
            pieces.append("".join(text))
            text = []
        elif (
            kind is list
            and value
            and key not in _NOT_SERIES
            and key.endswith(_COCO_SUFFIXES)
            and _NUMBER.issuperset(map(type, value))
        ):
            text.append("[")
            for j in range(len(value)):
                pieces.append("".join(text) + (", " if j else ""))
                text = []
            text = ["]"]
        else:
            return None
    text.append("}")
    pieces.append("".join(text))
    # The columns as `_shape` lists them: the numbers that are series, then the COCO items.
    scalars = [
        first[i]
        for i, (key, value) in enumerate(obj.items())
        if key not in _NOT_SERIES and type(value) is not list
    ]
    coco = [first[pos] + j for pos, _, used in shape.coco for j in range(used)]
    encoded = tuple(p.encode("ascii") for p in pieces)
    return _Plan(
        encoded,
        np.array(scalars + coco, dtype=np.intp),
        tuple(coco),
        None if shape.epoch is None else first[shape.epoch],
        sum(map(len, encoded)) + len(encoded),
    )


def _reads_as_python(plan: _Plan, shape: _Shape, obj: dict[str, Any], line: bytes) -> Optional[bool]:
    """Whether `_jsonrows` reads `line` (whose object is `obj`) to the values the JSON path gives;
    None when it does not read it (a number it leaves to Python, a NUL before it, ...)."""
    assert _jsonrows is not None
    row = np.empty((1, len(plan.pieces) - 1))
    if _jsonrows.rows([line], 0, plan.pieces, row)[0] != 1:
        return None
    values = list(obj.values())
    expected = np.array(
        shape.scalars(values)
        + [x for items, used in zip(shape.lists(values), shape.used) for x in items[:used]],
        dtype=np.float64,
    )
    got = row[0, plan.columns]
    same_signs = bool((np.signbit(got) == np.signbit(expected)).all())
    return same_signs and bool(np.array_equal(got, expected, equal_nan=True))


class _Rows:
    """Rows of one shape collected for a block (columns: the scalars, then the COCO items).

    Steps and runs are worked out for the whole block when it closes (`DetrJsonParser._close`).
    """

    def __init__(self, shape: _Shape) -> None:
        self.shape = shape
        self.values = array("d")  # converted as they come: no float object outlives its line
        # To look again at a row that may hold a boolean (None: read by `_jsonrows`, none there).
        self.lines: list[Optional[bytes]] = []
        self.epochs: list[Any] = []  # each row's `epoch` value, as it was
        self.times: list[Optional[float]] = []

    def add(self, values: list[Any], obj: dict[str, Any], line: bytes) -> bool:
        """Append a row whose values are numbers and COCO lists where the plan has them.

        Other kinds raise in `array.fromlist` (a string, None, a list or an object where a number
        was; an integer beyond float range): then nothing is appended and the answer is False.
        A boolean passes as 1.0 or 0.0: `DetrJsonParser._close` looks again at rows with those.
        """
        shape = self.shape
        buf = self.values
        start = len(buf)
        try:
            buf.fromlist(shape.scalars(values))  # twice as fast as extend: it sizes the array once
            for pos, length, used in shape.coco:
                items = values[pos]
                if type(items) is not list or len(items) != length:
                    raise TypeError
                head = items[:used]
                if -1.0 in head:  # missing: that line has other series
                    raise TypeError
                buf.fromlist(head)
        except (TypeError, OverflowError):
            del buf[start:]
            return False
        self.lines.append(line)
        epoch = shape.epoch
        if epoch is not None:
            self.epochs.append(values[epoch])
        if shape.timed:
            self.times.append(_wall_time(obj))
        return True

    def add_many(self, source: Any, start: int, plan: _Plan, split: bool = True) -> int:
        """Append rows for the lines from `start` read by `_jsonrows` while they fit the plan.

        `source` and `start`, and the answer (where the next line starts), as `_jsonrows.rows`
        takes and gives them: a list of lines and an index, or a text and a byte position. Stops
        before a line of another layout, a number it does not convert exactly, or a COCO series
        holding -1 (the line then has other series): the JSON parser takes that line. `split`:
        a long text may be read by two threads (in the first read of this call only).
        """
        end = len(source) + 1 if type(source) is bytes else len(source)  # `start` after the last line
        while start < end:
            got, after = _read_rows(source, start, plan, split)
            split = False  # once: both halves of a clean text are read at once (each has room)
            n = len(got)
            if not n:
                break
            self.values.frombytes(got.take(plan.columns, axis=1).data.cast("B"))  # C order, no tobytes copy
            self.lines.extend([None] * n)  # no boolean can be in a line `_jsonrows` read
            if plan.epoch is not None:
                self.epochs.extend(got[:, plan.epoch].tolist())
            start = after
        return start


def _read_rows(source: Any, start: int, plan: _Plan, split: bool) -> tuple[npt.NDArray[np.float64], int]:
    """Rows `_jsonrows` reads from `start` (a batch), and where the next line starts.

    With `split`, a long text is read by two threads at once, one from its middle (the reader lets
    go of the GIL), each with room for every line its half can hold: if the first stops before the
    middle, what the other read is dropped (so a caller splits a text only until that happens).
    """
    assert _jsonrows is not None
    slots = len(plan.pieces) - 1
    if type(source) is not bytes:
        first = np.empty((min(len(source) - start, _BULK_ROWS), slots))
        n, after = _jsonrows.rows(source, start, plan.pieces, first, len(source), plan.coco)
        return first[:n], after
    middle = source.find(b"\n", start + (len(source) - start) // 2) + 1
    if not split or len(source) - start < _SPLIT_BYTES or middle <= 0:
        first = np.empty((_BULK_ROWS, slots))
        n, after = _jsonrows.rows(source, start, plan.pieces, first, len(source) + 1, plan.coco)
        return first[:n], after
    first = np.empty(((middle - start) // plan.shortest + 1, slots))
    second = np.empty(((len(source) + 1 - middle) // plan.shortest + 1, slots))
    later: list[tuple[int, int]] = []

    def read_second_half() -> None:
        try:
            later.append(_jsonrows.rows(source, middle, plan.pieces, second, len(source) + 1, plan.coco))
        except Exception:  # noqa: BLE001 - (MemoryError) the first thread's reading stands alone
            pass

    worker = threading.Thread(target=read_second_half, name="detr-json rows", daemon=True)
    worker.start()
    try:
        n, after = _jsonrows.rows(source, start, plan.pieces, first, middle, plan.coco)
    finally:
        worker.join()
    if after != middle or not later:
        return first[:n], after
    m, after = later[0]
    return np.concatenate((first[:n], second[:m])), after


class _Feed:
    """One `DetrJsonParser.feed_blocks` call: the blocks so far, the rows of the current shape
    being collected, and the records of lines read without a plan since."""

    def __init__(self, parser: DetrJsonParser) -> None:
        self.parser = parser
        self.out: list[Block] = []
        self.rows: Optional[_Rows] = None
        self.slow: list[Record] = []
        self.keys: tuple[str, ...] = ()  # of the last object, and its shape
        self.shape: Optional[_Shape] = None

    def line(self, line: bytes, more: bool) -> Optional[_Plan]:
        """Read one line through the JSON parser. When it joins `rows` and `more` lines follow,
        the plan by which `_jsonrows` may read them (None when it has none)."""
        p = self.parser
        obj = json_object(line)
        if obj is None:
            if line.strip():
                p.skipped += 1
            return None
        if not p._seen and _is_detr(obj):
            p._seen = True
        keys = tuple(obj)
        if keys != self.keys:
            shape = p._shapes.get(keys, _UNKNOWN)
            if shape is _UNKNOWN:
                if len(p._shapes) >= _SHAPE_LIMIT:
                    p._shapes.clear()
                shape = p._shapes[keys] = _shape(obj)
            self.keys, self.shape = keys, shape
        shape = self.shape
        if shape is not None:
            values = list(obj.values())
            if not shape.plain and not shape.others_hold(values):
                shape = self.shape = p._shapes[keys] = _shape(obj)  # a value changed its kind: plan again
        if shape is not None:
            if self.rows is None or self.rows.shape is not shape:
                self._close_rows()
                self.rows = _Rows(shape)
            if self.rows.add(values, obj, line):
                return p._plan(shape, obj, line) if more and _jsonrows is not None else None
            if not shape.kinds_hold(values):
                self.shape = p._shapes[keys] = _shape(obj)
        record = p._record(obj, close=self.rows, out=self.out)
        if record is None:
            p.skipped += 1
            return None
        self.rows = None
        self.slow.append(record)
        return None

    def _close_rows(self) -> None:
        """The rows collected so far, and then the records read alone, into `out`."""
        if self.rows is not None:
            self.parser._close(self.rows, self.out)
            self.rows = None
        if self.slow:
            self.out.extend(blocks.from_records(self.slow))
            self.slow = []

    def done(self) -> list[Block]:
        self._close_rows()
        return self.out


class DetrJsonParser:
    name = NAME

    def __init__(self) -> None:
        self.skipped = 0
        self._runs = RunTracker()
        self._step: Optional[float] = None
        self._seen = False
        self._shapes: dict[tuple[str, ...], Optional[_Shape]] = {}
        # By id of the shape: its plan, and how many of its lines `_jsonrows` refused to check it on
        # (-1 once it read one as the JSON path does).
        self._plans: dict[int, tuple[_Shape, Optional[_Plan], int]] = {}
        # Whether a step was the line's position (no `epoch`): reading from the middle of a file
        # then needs `continue_from`.
        self.positional = False

    @property
    def recognised(self) -> bool:
        return self._seen

    def reset(self) -> None:
        self._runs.reset()
        self._step = None

    def feed(self, lines: Sequence[bytes]) -> list[Record]:
        return blocks.to_records(self.feed_blocks(lines))

    def feed_blocks(self, lines: Sequence[bytes]) -> list[Block]:
        """The records of `lines` as blocks: lines with the same keys and value types in one."""
        feed = _Feed(self)
        # A `tail.Lines` is read as its texts (no `bytes` a line for lines `_jsonrows` reads).
        parts = getattr(lines, "parts", None) if _jsonrows is not None else None
        sources: list[Any] = parts if parts is not None else [lines if type(lines) is list else list(lines)]
        for source in sources:
            text = type(source) is bytes  # a text of lines, or a list of lines
            stop = len(source) + 1 if text else len(source)  # a text ends with a line (maybe empty)
            i = 0
            split = True  # two threads may read this text: once, if a line stops them before its end
            while i < stop:
                if text:
                    nl = source.find(b"\n", i)
                    nl = len(source) if nl < 0 else nl
                    line, i = source[i:nl], nl + 1
                else:
                    line, i = source[i], i + 1
                plan = feed.line(line, more=i < stop)
                if plan is not None:  # the lines after it, as long as they are alike
                    assert feed.rows is not None
                    i = feed.rows.add_many(source, i, plan, split)
                    split = split and i >= stop
        return feed.done()

    def _plan(self, shape: _Shape, obj: dict[str, Any], line: bytes) -> Optional[_Plan]:
        """The plan for lines of `shape` (`obj` is the object of `line`, one of them), once it has
        read a line of the shape to the values the JSON path gave for it.

        A line it does not read (a number it leaves to Python, a NUL before the text) says nothing
        of the plan: the next lines are tried, up to `_PLAN_TRIES`, before the shape is given up.
        """
        known = self._plans.get(id(shape))
        if known is None or known[0] is not shape:
            if len(self._plans) >= _SHAPE_LIMIT:
                self._plans.clear()
            known = self._plans[id(shape)] = (shape, _plan(obj, shape), 0)
        _, plan, refused = known
        if plan is None or refused < 0:
            return plan
        same = _reads_as_python(plan, shape, obj, line)
        if same is None and refused + 1 < _PLAN_TRIES:
            self._plans[id(shape)] = (shape, plan, refused + 1)
            return None
        if not same:  # (False: never seen, a line it reads otherwise than the JSON path)
            self._plans[id(shape)] = (shape, None, 0)
            return None
        self._plans[id(shape)] = (shape, plan, -1)
        return plan

    def continue_from(self, lines_before: int) -> None:
        """Read on as if `lines_before` records without an `epoch` had come first."""
        self._step = float(lines_before - 1) if lines_before > 0 else None

    def _next_step(self, value: Any) -> float:
        epoch = finite(value)
        if epoch is None:
            self.positional = True
            epoch = 0.0 if self._step is None else self._step + 1
        self._step = epoch
        return epoch

    def _steps(self, shape: _Shape, epochs: list[Any], n: int) -> npt.NDArray[np.float64]:
        """The steps of `n` rows with these `epoch` values, as `_next_step` gives them one by one."""
        steps: Optional[npt.NDArray[np.float64]] = None
        if shape.epoch is None:  # every step is the line's position
            self.positional = True
            steps = np.ones(n, dtype=np.float64)
            steps[0] = 0.0 if self._step is None else self._step + 1
            steps = np.add.accumulate(steps)  # one addition after another, as the line loop adds
        elif _NUMBER.issuperset(map(type, epochs)):  # no bool, None or string among them
            try:
                steps = np.array(epochs, dtype=np.float64)
            except OverflowError:
                steps = None
            if steps is not None and not np.isfinite(steps).all():
                steps = None
        if steps is None:
            steps = np.array([self._next_step(e) for e in epochs], dtype=np.float64)
        self._step = float(steps[-1])
        return steps

    def _close(self, rows: _Rows, out: list[Block]) -> None:
        """Append the records of `rows` to `out`: blocks, and records for rows that do not fit after all.

        A row with a 0.0 or 1.0 may have had a boolean there: if its line holds `true` or `false`, it
        is parsed again and checked.
        """
        n = len(rows.lines)
        if not n:
            return
        shape = rows.shape
        values = np.frombuffer(rows.values, dtype=np.float64).reshape(n, -1)
        start = 0
        # rows that may hold a boolean: none when `_jsonrows` read them all (no line kept)
        maybe = (
            []
            if rows.lines.count(None) == n
            else np.flatnonzero(((values == 0.0) | (values == 1.0)).any(axis=1)).tolist()
        )
        for i in maybe:
            line = rows.lines[i]
            if line is None or (b"true" not in line and b"false" not in line):
                continue  # no boolean anywhere: a byte search instead of parsing it again
            obj = json_object(line)
            assert obj is not None
            items = list(obj.values())
            if shape.kinds_hold(items) and shape.lists_hold(shape.lists(items)):
                continue  # no boolean there
            if start < i:
                out.append(self._block(rows, values, start, i))
            start = i + 1
            record = self._record(obj)
            if record is None:
                self.skipped += 1
            else:
                out.extend(blocks.from_records([record]))
        if start < n:
            out.append(self._block(rows, values, start, n))

    def _block(self, rows: _Rows, values: npt.NDArray[np.float64], a: int, b: int) -> Block:
        """Rows a to b (exclusive) of `rows` as a block, with their steps and runs."""
        shape = rows.shape
        steps = self._steps(shape, rows.epochs[a:b], b - a)
        runs = self._runs.assign_many(steps)
        part = values[a:b]
        if shape.order is not None:
            part = part[:, shape.order]
        times = rows.times[a:b] if shape.timed else None
        return blocks.block(shape.series, part, steps, runs, EPOCH, times)

    def _record(
        self, obj: dict[str, Any], close: Optional[_Rows] = None, out: Optional[list[Block]] = None
    ) -> Optional[Record]:
        """The record of an object read without a plan; None when it has no series.

        Rows in `close` come before it: they are closed into `out` before its step is taken.
        """
        metrics = numeric_fields(obj, _NOT_SERIES)
        if not metrics:
            return None
        if close is not None and out is not None:
            self._close(close, out)
        epoch = self._next_step(obj.get("epoch"))
        return Record(epoch, metrics, self._runs.assign(epoch), EPOCH, _wall_time(obj))


def create() -> DetrJsonParser:
    return DetrJsonParser()
