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

from array import array
from datetime import datetime
from operator import itemgetter
from typing import Any, Callable, NamedTuple, Optional, Sequence

import numpy as np
import numpy.typing as npt

from detr_watch import blocks
from detr_watch.blocks import Block
from detr_watch.formats.base import finite, head_objects, json_object, loads
from detr_watch.records import EPOCH, Record, RunTracker, as_float, coco_series, numeric_fields

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
    scalars: Callable[[list[Any]], Sequence[Any]]  # the numbers
    lists: Callable[[list[Any]], Sequence[Any]]  # the COCO lists
    lengths: tuple[int, ...]  # of each COCO list
    used: tuple[int, ...]  # items of each COCO list that are series (the stats pycocotools names)
    others: Optional[Callable[[list[Any]], Sequence[Any]]]  # values that were no numbers
    coco_others: Optional[Callable[[list[Any]], Sequence[Any]]]  # the same under a COCO key
    order: Optional[npt.NDArray[np.intp]]  # columns [scalars..., list items...] -> `series` order
    timed: bool  # has DINO's now_time

    def kinds_hold(self, values: list[Any]) -> bool:
        """Whether every value has the kind (number, COCO list, other) it had in the planned line."""
        return (
            _NUMBER.issuperset(map(type, self.scalars(values)))
            and (self.others is None or _NUMBER.isdisjoint(map(type, self.others(values))))
            and (self.coco_others is None or _NUMBER_OR_LIST.isdisjoint(map(type, self.coco_others(values))))
        )

    def lists_hold(self, lists: Sequence[Any]) -> bool:
        """Whether every COCO list has its length, and floats but no -1 where its series are."""
        for items, length, used in zip(lists, self.lengths, self.used):
            head = items[:used]
            if len(items) != length or not _FLOAT.issuperset(map(type, head)) or -1.0 in head:
                return False
        return True


def _shape(obj: dict[str, Any]) -> Optional[_Shape]:
    """How `numeric_fields` reads `obj`, as positions in its values; None when it cannot be a plan.

    Objects with the same keys in the same order are read by the same plan as long as every
    value keeps its kind (`kinds_hold`) and every COCO list is all floats with no -1, as a
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
    for i, (key, value) in enumerate(obj.items()):
        if key in _NOT_SERIES:
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
        _picker(scalars),
        _picker(lists),
        tuple(lengths),
        tuple(used),
        _picker(others) if others else None,
        _picker(coco_others) if coco_others else None,
        order,
        "now_time" in obj,
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


class _Rows:
    """Rows of one shape collected for a block (columns: the scalars, then the COCO items)."""

    def __init__(self, shape: _Shape) -> None:
        self.shape = shape
        self.values = array("d")  # converted as they come: no float object outlives its line
        self.steps: list[float] = []
        self.runs: list[int] = []
        self.times: list[Optional[float]] = []

    def add(self, numbers: Sequence[Any]) -> None:
        try:
            self.values.extend(numbers)
        except OverflowError:  # an integer beyond float range: as_float makes it +-inf
            del self.values[len(self.steps) * len(self.shape.series) :]
            self.values.extend([as_float(v) for v in numbers])  # type: ignore[misc]

    def block(self) -> Block:
        values = np.frombuffer(self.values, dtype=np.float64).reshape(len(self.steps), -1)
        if self.shape.order is not None:
            values = values[:, self.shape.order]
        return blocks.block(self.shape.series, values, self.steps, self.runs, EPOCH, self.times)


class DetrJsonParser:
    name = NAME

    def __init__(self) -> None:
        self.skipped = 0
        self._runs = RunTracker()
        self._step: Optional[float] = None
        self._seen = False
        self._shapes: dict[tuple[str, ...], Optional[_Shape]] = {}
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
        out: list[Block] = []
        rows: Optional[_Rows] = None
        slow: list[Record] = []
        last_keys: tuple[str, ...] = ()
        shape: Optional[_Shape] = None
        for line in lines:
            if line[:1] == b"{" and line[-1:] == b"}":  # nothing for json_object to strip
                try:
                    obj = loads(line)
                except ValueError:
                    obj = None
                if type(obj) is not dict:
                    obj = None
            else:
                obj = json_object(line)
            fits: Optional[_Shape] = None
            if obj is not None:
                if not self._seen and _is_detr(obj):
                    self._seen = True
                keys = tuple(obj)
                if keys != last_keys:
                    shape = self._shapes.get(keys, _UNKNOWN)
                    if shape is _UNKNOWN:
                        if len(self._shapes) >= _SHAPE_LIMIT:
                            self._shapes.clear()
                        shape = self._shapes[keys] = _shape(obj)
                    last_keys = keys
                if shape is not None:
                    values = list(obj.values())
                    if not shape.kinds_hold(values):  # a value changed its kind: plan again
                        shape = self._shapes[keys] = _shape(obj)
                    if shape is not None:
                        lists = shape.lists(values)
                        if not lists or shape.lists_hold(lists):
                            fits = shape
            if fits is None:
                rec = self._record(obj)
                if rec is not None:
                    if rows is not None:
                        out.append(rows.block())
                        rows = None
                    slow.append(rec)
                elif line.strip():
                    self.skipped += 1
                continue
            assert obj is not None
            if slow:
                out.extend(blocks.from_records(slow))
                slow = []
            if rows is None or rows.shape is not fits:
                if rows is not None:
                    out.append(rows.block())
                rows = _Rows(fits)
            rows.add(fits.scalars(values))
            for items, used in zip(lists, fits.used):
                rows.add(items[:used])
            step = self._next_step(obj)
            rows.steps.append(step)
            rows.runs.append(self._runs.assign(step))
            rows.times.append(_wall_time(obj) if fits.timed else None)
        if rows is not None:
            out.append(rows.block())
        if slow:
            out.extend(blocks.from_records(slow))
        return out

    def continue_from(self, lines_before: int) -> None:
        """Read on as if `lines_before` records without an `epoch` had come first."""
        self._step = float(lines_before - 1) if lines_before > 0 else None

    def _next_step(self, obj: dict[str, Any]) -> float:
        epoch = finite(obj.get("epoch"))
        if epoch is None:
            self.positional = True
            epoch = 0.0 if self._step is None else self._step + 1
        self._step = epoch
        return epoch

    def _record(self, obj: Optional[dict[str, Any]]) -> Optional[Record]:
        if obj is None:
            return None
        metrics = numeric_fields(obj, _NOT_SERIES)
        if not metrics:
            return None
        epoch = self._next_step(obj)
        return Record(epoch, metrics, self._runs.assign(epoch), EPOCH, _wall_time(obj))


def create() -> DetrJsonParser:
    return DetrJsonParser()
