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

from detr_watch.formats.base import NUMBER, to_float
from detr_watch.records import COCO_STATS, ITER, Record, RunTracker

NAME = "detr-stdout"

_TRAIN = re.compile(rb"Epoch: \[(\d+)\]\s+\[\s*(\d+)/(\d+)\]")
_TEST = re.compile(rb"Test:\s+\[\s*\d+/\d+\]")
_NAME = re.compile(rb"[A-Za-z_][\w.]*")
_TABLE_VALUE = re.compile(rb"\] = (" + NUMBER + rb")\s*$")
_IOU_TYPE = re.compile(rb"IoU metric: (\w+)")
# eta is a clock reading and `max mem:` splits into "max" "mem:"; neither is a metric.
_TIMING = {b"eta": "", b"mem": "", b"time": "iter_time", b"data": "data_time"}
_CACHE_LIMIT = 10_000
_PLAN_LIMIT = 64


class _Plan(NamedTuple):
    """Where the names and values sit in the tokens of a MetricLogger line of one shape."""

    names: tuple[bytes, ...]
    pick_names: Callable[[Sequence[bytes]], Any]
    keys: tuple[str, ...]
    pick_values: Callable[[Sequence[bytes]], Any]


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


class DetrStdoutParser:
    name = NAME

    def __init__(self) -> None:
        self.skipped = 0
        self._seen = False
        self._runs = RunTracker()
        self._names: dict[tuple[str, bytes], str] = {}
        self._plans: dict[tuple[str, int], _Plan] = {}  # lines of a run share one shape
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
        out: list[Record] = []
        for line in lines:
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
                self.skipped += 1
        return out

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
        return metrics, _Plan(tuple(tokens[i] for i in names), _picker(names), tuple(keys), _picker(picks))

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
