"""Everything that draws: the only rich/plotext imports besides app and cli.

`Dashboard(snapshot, view, now)` is the screen for both live mode and `--once`; `plot` is the only
module that imports plotext.
"""

from __future__ import annotations

from detr_watch.render.chart import Chart
from detr_watch.render.dashboard import MIN_HEIGHT, MIN_WIDTH, Dashboard
from detr_watch.render.status import StatusLine
from detr_watch.render.table import MetricsTable

__all__ = ["MIN_HEIGHT", "MIN_WIDTH", "Chart", "Dashboard", "MetricsTable", "StatusLine"]
