"""MMDetection logs as JSON lines: 2.x `<timestamp>.log.json` and mmengine `vis_data/scalars.json`::

    {"mode": "train", "epoch": 1, "iter": 50, "lr": 0.0002, "loss_cls": 1.21, "d0.loss_cls": 1.3, ...}
    {"lr": 0.0001, "loss": 1.71, "time": 0.14, "epoch": 1, "iter": 69, "memory": 3060, "step": 69}

- Series: every numeric key under its own name (`loss_cls`, `d0.loss_cls`, `lr`, `memory`,
  `grad_norm`, `bbox_mAP`, `coco/bbox_mAP` ...); strings (`bbox_mAP_copypaste`) are not series,
  nor are `epoch`, `iter` and `step`.
- Training records, axis ITER, at the global iteration: mmengine's `step`; for mmdet 2.x
  `(epoch - 1) * iters_per_epoch + iter`, where iters_per_epoch is the largest `iter` seen so
  far (the last logged iteration of an epoch, which is the epoch length when the logging
  interval divides it and is short by less than one interval otherwise). A log that starts
  after epoch 1 (a resume) has its first epoch stretched until that epoch ends. An
  IterBasedRunner (named in the header's config, or seen as `iter` not going back when the
  epoch changes) logs the global iteration itself: step = `iter`.
- Evaluation records (2.x `"mode": "val"`; mmengine lines without `iter`), axis EPOCH, at their
  epoch (2.x `epoch`, mmengine `step`). mmengine iteration-based runs (training lines without
  `epoch`) evaluate at an iteration: those land on ITER. A name that training records also use
  (`lr`, `time`, `data_time`, `loss*` ...) is prefixed `val/`, so no series mixes the two axes;
  others keep their native name (`bbox_mAP`, `coco/bbox_mAP`). A COCO value of -1 (no objects of
  that size) is dropped. Evaluation records join the current run.
- Runs: a new run starts where the step of a training record does not increase.
- Recognised: the 2.x header (`env_info`/`config`, no metrics: no record and not skipped), a
  record with `mode`, or an mmengine record with a numeric `step`. Skipped: non-empty lines that
  are not JSON objects, or objects with none of the above.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from detr_watch.formats.base import finite, head_objects, json_object
from detr_watch.records import EPOCH, ITER, Record, RunTracker, numeric_fields

NAME = "mmdet-json"
_STEP_KEYS = frozenset({"epoch", "iter", "step"})
_MODES = ("train", "val", "test")
_TRAIN_LIKE = frozenset({"lr", "base_lr", "time", "data_time", "memory", "grad_norm", "loss"})


def _is_header(obj: dict[str, Any]) -> bool:
    return isinstance(obj.get("env_info"), str) or isinstance(obj.get("config"), str)


def _is_mmengine(obj: dict[str, Any]) -> bool:
    return finite(obj.get("step")) is not None and any(
        k in _TRAIN_LIKE or k.startswith("loss") or "/" in k for k in obj
    )


def sniff(lines: Sequence[bytes]) -> int:
    """Confidence 0-100 that these first lines are an MMDetection log.json / scalars.json."""
    score = 0
    for obj in head_objects(lines):
        if obj is None:
            return 0
        if obj.get("mode") in _MODES and ("epoch" in obj or "iter" in obj):
            score = max(score, 95)
        elif _is_header(obj):
            score = max(score, 90)
        elif _is_mmengine(obj):
            score = max(score, 85)
    return score


def _missing(name: str, value: float) -> bool:
    return value == -1.0 and ("mAP" in name or "AR" in name or "AP" in name)


class MmdetJsonParser:
    name = NAME

    def __init__(self) -> None:
        self.skipped = 0
        self._seen = False
        self._runs = RunTracker()
        self._train_names: set[str] = set()
        self._per_epoch = 0.0  # mmdet 2.x: the largest `iter` seen (iterations per epoch)
        self._global_iter = False  # mmdet 2.x IterBasedRunner: `iter` is already global
        self._epoch: Optional[float] = None  # epoch of the last 2.x training record
        self._iter: Optional[float] = None
        self._step: Optional[float] = None  # step of the last training record
        self._by_epoch = True  # mmengine: training lines carry `epoch`

    @property
    def recognised(self) -> bool:
        return self._seen

    def reset(self) -> None:
        self._runs.reset()
        self._per_epoch = 0.0
        self._global_iter = False
        self._epoch = self._iter = self._step = None
        self._by_epoch = True

    def feed(self, lines: Sequence[bytes]) -> list[Record]:
        out: list[Record] = []
        for line in lines:
            obj = json_object(line)
            if obj is None:
                if line.strip():
                    self.skipped += 1
                continue
            if _is_header(obj) and "mode" not in obj:
                self._seen = True
                if "IterBasedRunner" in str(obj.get("config", "")):
                    self._global_iter = True
                continue
            rec = self._record(obj)
            if rec is None:
                self.skipped += 1
            else:
                out.append(rec)
        return out

    def _record(self, obj: dict[str, Any]) -> Optional[Record]:
        mode = obj.get("mode")
        if mode in _MODES:
            self._seen = True
            if mode == "train":
                return self._train(obj, self._mmdet2_step(obj))
            if self._global_iter and self._step is not None:
                return self._eval(obj, self._step, ITER)
            return self._eval(obj, finite(obj.get("epoch")), EPOCH)
        if not _is_mmengine(obj):
            return None
        self._seen = True
        step = finite(obj.get("step"))
        if "iter" in obj:
            self._by_epoch = "epoch" in obj
            return self._train(obj, finite(obj.get("iter")) if step is None else step)
        return self._eval(obj, step, EPOCH if self._by_epoch else ITER)

    def _mmdet2_step(self, obj: dict[str, Any]) -> Optional[float]:
        epoch, it = finite(obj.get("epoch")), finite(obj.get("iter"))
        if it is None:
            return None
        if epoch is None or self._global_iter:
            return it
        if self._epoch is not None and self._iter is not None and epoch > self._epoch and it > self._iter:
            self._global_iter = True  # the epoch moved on but `iter` did not start again
            return it
        self._epoch, self._iter = epoch, it
        self._per_epoch = max(self._per_epoch, it)
        return (epoch - 1) * self._per_epoch + it

    def _train(self, obj: dict[str, Any], step: Optional[float]) -> Optional[Record]:
        metrics = numeric_fields(obj, _STEP_KEYS)
        if step is None or not metrics:
            return None
        self._train_names.update(metrics)
        self._step = step
        return Record(step, metrics, self._runs.assign(step), ITER)

    def _eval(self, obj: dict[str, Any], step: Optional[float], axis: str) -> Optional[Record]:
        if step is None:
            return None
        metrics: dict[str, float] = {}
        for name, value in numeric_fields(obj, _STEP_KEYS).items():
            if _missing(name, value):
                continue
            if name in self._train_names or name in _TRAIN_LIKE or name.startswith("loss") or ".loss" in name:
                name = "val/" + name
            metrics[name] = value
        if not metrics:
            return None
        return Record(step, metrics, self._runs.run, axis, None, step if axis == EPOCH else None)


def create() -> MmdetJsonParser:
    return MmdetJsonParser()
