"""JSON output for scripts: non-finite numbers become null, text stays escaped as JSON does."""

from __future__ import annotations

import json
import math
from typing import Any

from detr_watch.records import Record


def _finite_or_none(v: float) -> float | None:
    return v if math.isfinite(v) else None


def record_line(rec: Record) -> str:
    """One `stream` line: {"run": R, "step": S, "metrics": {name: value}}."""
    step: float | int = int(rec.step) if float(rec.step).is_integer() else rec.step
    obj = {
        "run": rec.run,
        "step": step,
        "metrics": {k: _finite_or_none(v) for k, v in rec.metrics.items()},
    }
    return json.dumps(obj, allow_nan=False, separators=(", ", ": "))


def dumps(obj: Any) -> str:
    """Strict JSON (no NaN tokens); control characters in strings are escaped by json itself."""
    return json.dumps(obj, allow_nan=False, indent=2)
