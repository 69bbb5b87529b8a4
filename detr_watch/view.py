"""What the user chose to see: the state the keys change and the renderables read. No I/O."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Optional, Sequence

PANELS = ("charts", "losses", "layers", "coco")
PANEL_TITLES = {
    "charts": "charts",
    "losses": "loss composition",
    "layers": "decoder layers",
    "coco": "COCO AP",
}
DEFAULT_SMOOTHING = 0.6  # TensorBoard's default weight
# Smoothing weights the keys step through; TensorBoard's UI also stops short of 1 (which flattens to 0).
SMOOTHING_LEVELS = (0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99, 0.999)
MAX_SMOOTHING = SMOOTHING_LEVELS[-1]
X_MODES = ("step", "epoch", "time")


@dataclass(frozen=True)
class View:
    """Display options. Immutable: a key press makes a new View (`dataclasses.replace`)."""

    title: str = ""  # the file (or files) being watched, as the user named it
    ascii: bool = False  # no Unicode box drawing or braille: plain ASCII only
    paused: bool = False
    mode: str = "live"  # "live" (watching) or "once" (one frame)
    trend_window: int = 10  # points the table's trend is fitted over
    # Smoothing (TensorBoard's debiased EMA) of losses and errors, never of lr or AP/AR: applied to
    # per-iteration series, and to per-epoch ones only with `smooth_epochs` (they are already averages).
    smoothing: float = DEFAULT_SMOOTHING
    smooth_epochs: bool = False
    raw: bool = True  # draw the unsmoothed curve faintly under a smoothed one
    log_y: bool = False  # every chart
    log_charts: frozenset[str] = frozenset()  # titles of the charts whose scale is the other one
    focus: Optional[int] = None  # the chart under the cursor: its position on the page shown
    robust_y: bool = False  # y range from the 5th to the 95th percentile (outliers off the scale)
    x: str = "step"  # "step", "epoch" or "time" (hours since the log's first time stamp)
    zoom: int = 0  # 0: the whole run; k: about the last 1/2^k of it
    stitched: bool = False  # restarted runs as one history (TensorBoard's way) instead of separate curves
    page: int = 0  # which page of charts (taken modulo the number of pages, so -1 is the last)
    panel: str = "charts"
    metrics: tuple[str, ...] = ()  # name patterns ("loss*", "*AP"); empty: every series
    help: bool = False
    prompt: Optional[str] = None  # the filter being typed after "/", None when not typing
    epochs: Optional[int] = None  # the run's length in epochs when the user said (--epochs)

    def log_scale(self, chart: str) -> bool:
        """Whether the chart titled `chart` has a log-scale y."""
        return self.log_y != (chart in self.log_charts)


def parse_patterns(text: str) -> tuple[str, ...]:
    """`'loss*, *AP'` -> ("loss*", "*AP"): comma- or space-separated shell patterns."""
    return tuple(p for p in text.replace(",", " ").split() if p)


def split_free(name: str) -> str:
    """The name without its split prefix (`train_loss_ce` -> `loss_ce`)."""
    for prefix in ("ema_test_", "train_", "test_", "val_", "train/", "test/", "val/", "metrics/"):
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix) :]
    return name


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether `name` passes the filter: a pattern matches the whole name or the name without its
    split prefix (so `loss*` finds `train_loss` and `test_loss_ce`); case-insensitive; no patterns
    pass everything."""
    if not patterns:
        return True
    lowered = (name.lower(), split_free(name).lower())
    return any(fnmatch.fnmatchcase(n, p.lower()) for p in patterns for n in lowered)
