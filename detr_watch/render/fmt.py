"""Numbers, steps and ages as short text for the screen."""

from __future__ import annotations

import math

from detr_watch.alerts import duration


def value(v: float) -> str:
    """A metric value in at most 9 characters: 0.4203, 34.848, 12345, 1.00e-04, nan."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e5 or a < 1e-3:
        return f"{v:.2e}"
    if a < 10:
        return f"{v:.4f}"
    return f"{v:.5g}" if a < 1e4 else f"{v:.0f}"


def change(v: float) -> str:
    """A signed change: +0.0123, -1.20e-05, 0; "" when unknown."""
    if math.isnan(v):
        return ""
    text = value(v)
    return text if text.startswith("-") or text == "0" else "+" + text


def step(s: float) -> str:
    """A step as the log wrote it: 12 rather than 12.0."""
    if math.isfinite(s) and s == int(s):
        return str(int(s))
    return f"{s:g}"


def age(seconds: float) -> str:
    """How long ago: "12s ago", "3m ago", "2h 05m ago", "3d 04h ago"."""
    return f"{duration(seconds)} ago"
