"""Deterministic DETR logs of any size, for the benchmark: a console log and a log.txt.

    python scripts/gen_logs.py console train.log --mb 300
    python scripts/gen_logs.py logtxt log.txt --lines 20000

The console log is what DETR's `main.py` prints on COCO with 8 GPUs x 2 images: 7393 iterations
per epoch logged every 10 (740 `Epoch:` lines), the epoch's `Averaged stats`, 5 `Test:` lines, the
test `Averaged stats` and a pycocotools table; 46 metrics a line (every loss with its 5 auxiliary
decoder layers, scaled and `_unscaled`), printed as `median (global_avg)`. The log.txt has DETR's
key set: `train_*` and `test_*` of the same losses, `test_coco_eval_bbox`, `epoch`, `n_parameters`,
numbers written by Python's json module at full precision (about 4.5 KB a line, like the official
DETR-R50 log). `nan_every` puts a bare NaN (what a diverged run writes) on one line in that many.

The same arguments always give the same bytes (seeded numpy generator, no clock).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

ITERS = 7393  # COCO train2017 at 16 images per step
PRINT_FREQ = 10
TEST_ITERS = 313
TEST_PRINT_FREQ = 100
AUX = 5
WEIGHTS = {"loss_ce": 1.0, "loss_bbox": 5.0, "loss_giou": 2.0}
COCO_TABLE = (
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = {:.3f}",
    " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = {:.3f}",
    " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = {:.3f}",
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = {:.3f}",
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = {:.3f}",
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = {:.3f}",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = {:.3f}",
)
COCO_SHAPE = (1.0, 1.48, 1.05, 0.49, 1.09, 1.45, 0.79, 1.27, 1.36, 0.85, 1.42, 1.84)


def loss_names(aux: int = AUX) -> list[tuple[str, str, float]]:
    """(printed name, base loss, weight) of DETR's loss dict, in the order MetricLogger prints it.

    `aux` auxiliary decoder layers (DETR has 5); the dict has 2 + 7 * (aux + 1) entries.
    """
    layers = [""] + [f"_{i}" for i in range(aux)]
    out: list[tuple[str, str, float]] = [("loss", "", 0.0)]
    for base in ("loss_bbox", "loss_ce", "loss_giou"):
        out += [(base + s, base, WEIGHTS[base]) for s in layers]
    out += [(f"cardinality_error{s}_unscaled", "cardinality", 1.0) for s in layers]
    out.append(("class_error_unscaled", "class_error", 1.0))
    for base in ("loss_bbox", "loss_ce", "loss_giou"):
        out += [(f"{base}{s}_unscaled", base, 1.0) for s in layers]
    return out


NAMES = loss_names()
_BASE = {"loss_ce": (1.9, 0.45, 9.0), "loss_bbox": (0.21, 0.055, 12.0), "loss_giou": (0.95, 0.33, 11.0)}


def _values(
    rng: np.random.Generator, t: np.ndarray, gap: float = 1.0, names: list[tuple[str, str, float]] = NAMES
) -> np.ndarray:
    """Rows of the loss dict at fractional epochs `t` (one row per element), columns as `names`."""
    n = t.shape[0]
    cols = np.empty((n, len(names)))
    total = np.zeros(n)
    for j, (name, base, weight) in enumerate(names):
        if base in _BASE:
            start, end, tau = _BASE[base]
            layer = int(name.split("_")[2]) if name.count("_") >= 2 and name.split("_")[2].isdigit() else AUX
            unscaled = (end + (start - end) * np.exp(-t / tau)) * gap * (1.0 + 0.05 * (AUX - layer))
            v = unscaled * (1.0 + rng.normal(0.0, 0.05, n)) * weight
            if not name.endswith("_unscaled"):
                total += v
        elif base == "cardinality":
            v = np.maximum(0.0, 1.2 + 4.8 * np.exp(-t / 6.0) + rng.normal(0, 0.3, n))
        else:  # class_error
            v = np.clip(8.0 + 67.0 * np.exp(-t / 7.0) * gap + rng.normal(0.0, 4.0, n), 0.0, 100.0)
        cols[:, j] = v
    cols[:, 0] = total
    return cols


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _metric_fmt(names: list[tuple[str, str, float]]) -> str:
    return "  ".join(f"{name}: %.4f (%.4f)" for name, _, _ in names)


def _pairs(median: np.ndarray, avg: np.ndarray) -> tuple[float, ...]:
    both = np.empty(median.shape[0] * 2)
    both[0::2] = median
    both[1::2] = avg
    return tuple(both.tolist())


class _Writer:
    """Writes lines until `limit` bytes, then refuses more (the log ends where the budget does)."""

    def __init__(self, f: BinaryIO, limit: int) -> None:
        self.f = f
        self.limit = limit
        self.size = 0

    def full(self) -> bool:
        return self.size >= self.limit

    def line(self, text: str) -> None:
        if self.full():
            return
        data = (text + "\n").encode()
        self.f.write(data)
        self.size += len(data)


def write_console(
    path: str | os.PathLike[str], size: int, *, seed: int = 0, iters: int = ITERS, aux: int = AUX
) -> int:
    """A DETR console log of about `size` bytes (it stops at the first line past it); returns its size.

    `aux` auxiliary decoder layers set how many metrics a line has (46 for DETR's 5).
    """
    rng = np.random.default_rng(seed)
    names = loss_names(aux)
    fmt = _metric_fmt(names)
    class_col = len(names) - 1 - 3 * (aux + 1)
    width = len(str(iters))
    test_width = len(str(TEST_ITERS))
    logged = sorted(set(range(0, iters, PRINT_FREQ)) | {iters - 1})
    with open(path, "wb") as f:
        w = _Writer(f, size)
        for line in (
            "| distributed init (rank 0): env://",
            "git:",
            "  sha: 0000000000000000000000000000000000000000, status: clean, branch: main",
            "",
            "Namespace(lr=0.0001, lr_backbone=1e-05, batch_size=2, weight_decay=0.0001, epochs=500, "
            "lr_drop=400, clip_max_norm=0.1, num_queries=100, aux_loss=True, dataset_file='coco', "
            "output_dir='output', device='cuda', seed=42, world_size=8, dist_url='env://')",
            "number of params: 41302368",
            "loading annotations into memory...",
            "Done (t=18.61s)",
            "creating index...",
            "index created!",
            "Start training",
        ):
            w.line(line)
        epoch = 0
        while not w.full():
            lr = 1e-4 if epoch < 200 else 1e-5
            t = epoch + np.asarray(logged, dtype=np.float64) / iters
            median = _values(rng, t, names=names)
            avg = (median + np.roll(median, 1, axis=0)) / 2.0
            iter_time = 0.55 + rng.random(len(logged)) * 0.1
            class_error = median[:, class_col]
            for k, i in enumerate(logged):
                eta = _clock((iters - i) * 0.6)
                head = f"Epoch: [{epoch}]  [{i:>{width}}/{iters}]  eta: {eta}  lr: {lr:.6f}  "
                head += f"class_error: {class_error[k]:.2f}  "
                tail = f"  time: {iter_time[k]:.4f}  data: {iter_time[k] / 40:.4f}  max mem: 4586"
                w.line(head + fmt % _pairs(median[k], avg[k]) + tail)
                if w.full():
                    return w.size
            w.line(f"Epoch: [{epoch}] Total time: {_clock(iters * 0.6)} (0.6021 s / it)")
            w.line(
                f"Averaged stats: lr: {lr:.6f}  class_error: {class_error[-1]:.2f}  "
                + fmt % _pairs(median[-1], avg[-1])
            )
            test_logged = sorted(set(range(0, TEST_ITERS, TEST_PRINT_FREQ)) | {TEST_ITERS - 1})
            test = _values(rng, np.full(len(test_logged), epoch + 1.0), gap=1.06, names=names)
            for k, i in enumerate(test_logged):
                w.line(
                    f"Test:  [{i:>{test_width}}/{TEST_ITERS}]  eta: {_clock((TEST_ITERS - i) * 0.4)}  "
                    f"class_error: {test[k, class_col]:.2f}  "
                    + fmt % _pairs(test[k], test[k])
                    + "  time: 0.4012  data: 0.0113  max mem: 4586"
                )
            w.line(f"Test: Total time: {_clock(TEST_ITERS * 0.4)} (0.4010 s / it)")
            w.line(
                f"Averaged stats: class_error: {test[-1, class_col]:.2f}  " + fmt % _pairs(test[-1], test[-1])
            )
            w.line("Accumulating evaluation results...")
            w.line("DONE (t=11.52s).")
            w.line("IoU metric: bbox")
            ap = max(0.0, 0.42 * (1.0 - math.exp(-(epoch + 1) / 14.0)) + float(rng.normal(0.0, 0.004)))
            for row, shape in zip(COCO_TABLE, COCO_SHAPE):
                w.line(row.format(min(ap * shape, 1.0)))
            epoch += 1
        return w.size


def logtxt_records(lines: int, rng: np.random.Generator, nan_every: int = 0) -> list[dict[str, Any]]:
    """`lines` log.txt objects as DETR's main.py writes them (train_ + test_ keys, COCO stats, epoch)."""
    epochs = np.arange(lines, dtype=np.float64)
    train = _values(rng, epochs).tolist()
    test = _values(rng, epochs + 1.0, gap=1.06).tolist()
    ap = np.maximum(0.0, 0.42 * (1.0 - np.exp(-(epochs + 1) / 14.0)) + rng.normal(0.0, 0.004, lines))
    coco = np.minimum(np.outer(ap, COCO_SHAPE), 1.0).tolist()
    train_keys = ["train_" + name for name, _, _ in NAMES]
    test_keys = ["test_" + name for name, _, _ in NAMES]
    out = []
    for epoch in range(lines):
        rec: dict[str, Any] = {"train_lr": 9.999999999999782e-05 if epoch < 200 else 9.999999999999974e-06}
        rec["train_class_error"] = train[epoch][-19]
        rec.update(zip(train_keys, train[epoch]))
        if nan_every > 0 and epoch % nan_every == nan_every - 1:
            rec["train_loss"] = math.nan
        rec["test_class_error"] = test[epoch][-19]
        rec.update(zip(test_keys, test[epoch]))
        rec["test_coco_eval_bbox"] = coco[epoch]
        rec["epoch"] = epoch
        rec["n_parameters"] = 41302368
        out.append(rec)
    return out


def write_logtxt(path: str | os.PathLike[str], lines: int, *, seed: int = 0, nan_every: int = 0) -> int:
    """A DETR log.txt of `lines` lines (one epoch each); returns its size in bytes."""
    rng = np.random.default_rng(seed)
    size = 0
    with open(path, "wb") as f:
        for rec in logtxt_records(lines, rng, nan_every):
            data = (json.dumps(rec) + "\n").encode()
            f.write(data)
            size += len(data)
    return size


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=("console", "logtxt"))
    p.add_argument("path", type=Path)
    p.add_argument("--mb", type=float, default=300.0, help="console log size in MB (default 300)")
    p.add_argument("--lines", type=int, default=20_000, help="log.txt lines (default 20000)")
    p.add_argument("--nan-every", type=int, default=0, help="log.txt: a NaN loss on one line in N")
    p.add_argument("--aux", type=int, default=AUX, help="console: auxiliary decoder layers (DETR: 5)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.kind == "console":
        size = write_console(args.path, int(args.mb * 1e6), seed=args.seed, aux=args.aux)
    else:
        size = write_logtxt(args.path, args.lines, seed=args.seed, nan_every=args.nan_every)
    print(f"{args.path}: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
