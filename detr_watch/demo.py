"""A simulated DETR training run that writes a realistic log.txt, for `detr-watch --demo`.

The numbers follow the shape of a real DETR-R50 run on COCO (losses decaying with noise,
class error falling, AP rising), with every key DETR's `main.py` writes, aux decoder layers
included. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import math
import random
import threading
from pathlib import Path
from typing import Any, Optional

AUX_LAYERS = 5  # DETR's 6 decoder layers: 5 auxiliary outputs + the final one
WEIGHTS = {"loss_ce": 1.0, "loss_bbox": 5.0, "loss_giou": 2.0}
N_PARAMETERS = 41302368


def _curve(epoch: int, start: float, end: float, tau: float) -> float:
    return end + (start - end) * math.exp(-epoch / tau)


def epoch_record(epoch: int, rng: random.Random, total_epochs: int = 50) -> dict[str, Any]:
    """One log.txt line's object for `epoch`, as DETR's main.py writes it."""
    rec: dict[str, Any] = {}
    for split, gap in (("train", 1.0), ("test", 1.06)):
        unscaled = {
            "loss_ce": _curve(epoch, 1.9, 0.45, 9.0) * gap,
            "loss_bbox": _curve(epoch, 0.21, 0.055, 12.0) * gap,
            "loss_giou": _curve(epoch, 0.95, 0.33, 11.0) * gap,
        }
        total = 0.0
        layers: list[tuple[str, float]] = [
            (f"_{i}", 1.0 + 0.05 * (AUX_LAYERS - i)) for i in range(AUX_LAYERS)
        ]
        layers.append(("", 1.0))
        for suffix, worse in layers:
            for name, value in unscaled.items():
                noisy = value * worse * (1.0 + rng.gauss(0.0, 0.03))
                rec[f"{split}_{name}{suffix}_unscaled"] = noisy
                rec[f"{split}_{name}{suffix}"] = noisy * WEIGHTS[name]
                total += noisy * WEIGHTS[name]
            rec[f"{split}_cardinality_error{suffix}_unscaled"] = max(
                0.0, _curve(epoch, 6.0, 1.2, 6.0) + rng.gauss(0, 0.2)
            )
        rec[f"{split}_loss"] = total
        class_error = max(0.0, _curve(epoch, 75.0, 8.0, 7.0) * gap + rng.gauss(0.0, 1.5))
        rec[f"{split}_class_error"] = class_error
        rec[f"{split}_class_error_unscaled"] = class_error
    rec["train_lr"] = 1e-4 if epoch < int(total_epochs * 2 / 3) else 1e-5
    ap = max(0.0, 0.42 * (1.0 - math.exp(-(epoch + 1) / 14.0)) + rng.gauss(0.0, 0.004))
    rec["test_coco_eval_bbox"] = [
        ap,
        ap * 1.48,
        ap * 1.05,
        ap * 0.49,
        ap * 1.09,
        ap * 1.45,
        ap * 0.79,
        ap * 1.27,
        ap * 1.36,
        ap * 0.85,
        ap * 1.42,
        ap * 1.84,
    ]
    rec["epoch"] = epoch
    rec["n_parameters"] = N_PARAMETERS
    return rec


class DemoRun:
    """Writes `initial` epochs at once, then one epoch every `interval` seconds, on a thread."""

    def __init__(
        self,
        folder: Path,
        *,
        initial: int = 8,
        epochs: int = 50,
        interval: float = 3.0,
        seed: int = 0,
    ) -> None:
        self.path = folder / "log.txt"
        self.initial = initial
        self.epochs = epochs
        self.interval = interval
        self._rng = random.Random(seed)
        self._epoch = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def write_epoch(self) -> bool:
        """Append the next epoch's line; False when the run is over."""
        if self._epoch >= self.epochs:
            return False
        line = json.dumps(epoch_record(self._epoch, self._rng, self.epochs))
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        self._epoch += 1
        return True

    def write_initial(self) -> None:
        self.path.touch()
        for _ in range(self.initial):
            self.write_epoch()

    def start(self) -> None:
        self.write_initial()
        self._thread = threading.Thread(target=self._run, name="detr-watch-demo", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self.write_epoch():
                return
