"""The table of main series: latest value, trend over a recent window, best value and its step."""

from __future__ import annotations

import functools
import math
from typing import NamedTuple, Optional, Sequence

import numpy as np
from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text

from detr_watch import analysis
from detr_watch.analysis import FloatArray
from detr_watch.logs import Board
from detr_watch.memo import grow, latest, memo
from detr_watch.render import fmt
from detr_watch.render.history import RunStarts, history, run_starts
from detr_watch.roles import goal
from detr_watch.store import SeriesData, Snapshot, series_key
from detr_watch.text import clean
from detr_watch.view import View

ARROWS = {1: "↑", -1: "↓", 0: "→"}
ASCII_ARROWS = {1: "^", -1: "v", 0: "-"}
HEADER_ROWS = 2  # the header and the rule under it
HEADERS = ("series", "last", "trend", "best @step")


class Row(NamedTuple):
    last: str
    trend: str  # signed change over the window, "" when unknown
    direction: int  # -1, 0, +1
    best: str
    last_finite: bool


def row(series: SeriesData, snapshot: Snapshot, window: int) -> Row:
    """The cells of one series, over its history stitched across restarts."""
    starts = run_starts(snapshot, series.axis)
    steps, values = history(series, starts)
    if values.shape[0] == 0:
        return Row("-", "", 0, "-", True)
    last = float(values[-1])
    # the newest points only: trend and the last finite value look no further back, and a whole
    # history of 100k points a series would cost milliseconds a row
    tail = _finite_tail(steps, values, window)
    change = analysis.trend(steps[-tail:], values[-tail:], window)
    ref, _ = analysis.last_finite(values[-tail:], steps[-tail:])
    mode = goal(series.name)
    best = "-"
    if mode is not None:
        b, at = _best(series, starts, steps, values, mode)
        if not math.isnan(b):
            best = f"{fmt.value(b)} @{fmt.step(at)}"
    return Row(
        fmt.value(last), fmt.change(change), analysis.direction(change, ref), best, math.isfinite(last)
    )


def _finite_tail(steps: FloatArray, values: FloatArray, count: int) -> int:
    """How many of the last points hold the last `count` finite ones (all of them if fewer)."""
    n = int(values.shape[0])
    k = min(n, 2 * count)
    while k < n and np.count_nonzero(np.isfinite(values[-k:]) & np.isfinite(steps[-k:])) < count:
        k = min(n, 4 * k)
    return k


def _best(
    series: SeriesData, starts: RunStarts, steps: FloatArray, values: FloatArray, mode: str
) -> tuple[float, float]:
    """`analysis.best` over the history; when it is the series as stored (no restart cut it), kept
    with the points it covers and extended over the new ones only."""

    def full() -> tuple[float, float]:
        return analysis.best(values, steps, mode)

    if steps is not series.steps or values is not series.values:
        return full()

    def more(covered: int, previous: tuple[float, float]) -> tuple[float, float]:
        b, at = analysis.best(values[covered:], steps[covered:], mode)
        if math.isnan(b):
            return previous
        if math.isnan(previous[0]) or (b < previous[0] if mode == "min" else b > previous[0]):
            return b, at
        return previous  # the earliest on ties

    arrays, key = series_key(series)
    slot = ("best", series.name, mode, key[1])
    return grow(slot, arrays, starts, len(series), full, more)


def cached_row(series: SeriesData, snapshot: Snapshot, window: int) -> Row:
    """`row`, kept while the series' points and the log's runs stay the same (a record of other
    series reuses it; a repaint finds it by snapshot, which is cheaper still)."""
    arrays, key = series_key(series)
    starts = run_starts(snapshot, series.axis)
    slot = ("row", series.name, window, key[1])
    return latest(slot, arrays, (key, starts), functools.partial(row, series, snapshot, window))


def shorten(name: str, width: int, ascii_only: bool = False) -> str:
    """`name` in `width` cells, cut in the middle: both the split prefix and the AP50/AP75 end matter."""
    if cell_len(name) <= width:
        return name
    if width < 5 or not name.isascii():
        return set_cell_size(name, width)
    mark = "~" if ascii_only else "…"
    keep = width - 1
    head = keep // 2
    return name[:head] + mark + name[len(name) - (keep - head) :]


def _fitting(names: Sequence[str], height: int) -> list[str]:
    """The names that fit under the header, keeping a line for "... N more" when some do not."""
    fit = max(0, height - HEADER_ROWS)
    return list(names) if len(names) <= fit else list(names[: max(0, fit - 1)])


def _layout(
    width: int,
    height: int,
    headers: Sequence[str],
    names: Sequence[str],
    total: int,
    cells: Sequence[Sequence[Text]],
    ascii_only: bool,
) -> list[Text]:
    """Aligned lines: the name column takes what the right-aligned value columns leave."""
    widths = [max([cell_len(h)] + [c[i].cell_len for c in cells]) for i, h in enumerate(headers[1:])]
    name_w = max(8, width - sum(widths) - len(widths))

    def line(name: Text, row_cells: Sequence[Text]) -> Text:
        out = Text(no_wrap=True, overflow="crop", end="")
        name.align("left", name_w)
        out.append_text(name)
        for cell, w in zip(row_cells, widths):
            cell.align("right", w)
            out.append(" ")
            out.append_text(cell)
        out.truncate(width)
        return out

    out = [
        line(Text(headers[0], style="bold"), [Text(h, style="bold") for h in headers[1:]]),
        Text(("-" if ascii_only else "─") * width, style="dim", end=""),
    ]
    for name, row_cells in zip(names, cells):
        # Text from a log is data: control codes replaced, and a Text (unlike a str in rich's
        # print or Table) is never parsed for markup or :emoji: codes.
        out.append(line(Text(shorten(clean(name, 200), name_w, ascii_only)), row_cells))
    if len(names) < total:
        out.append(Text(f"... {total - len(names)} more", style="dim", end=""))
    return out[:height]


class _Lines:
    """A renderable drawn as `lines(width, height)`, one Text a line."""

    names: list[str]

    def lines(self, width: int, height: int) -> list[Text]:
        raise NotImplementedError

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or (len(self.names) + HEADER_ROWS + 1)
        for text in self.lines(options.max_width, height):
            yield text
            yield Segment.line()


class MetricsTable(_Lines):
    """Rows for as many of `names` as fit the size it is rendered with.

    Drawn as plain aligned lines (a header, a rule, one line per series) rather than a rich Table:
    the column widths are computed here anyway, and this costs a tenth of the time per frame.
    """

    def __init__(self, names: Sequence[str], snapshot: Snapshot, view: View) -> None:
        self.names = list(names)
        self.snapshot = snapshot
        self.view = view

    def lines(self, width: int, height: int) -> list[Text]:
        """At most `height` lines, each at most `width` cells."""
        if height < 1 or width < 1:
            return []
        ascii_only = self.view.ascii
        arrows = ASCII_ARROWS if ascii_only else ARROWS
        shown = _fitting(self.names, height)
        window = self.view.trend_window
        snap = self.snapshot
        rows = [
            memo(snap, ("row", n, window), functools.partial(cached_row, snap.series[n], snap, window))
            for n in shown
        ]
        cells = [
            [
                Text(r.last, style="" if r.last_finite else "bold red"),
                Text(
                    f"{r.trend} {arrows[r.direction]}" if r.trend else "",
                    style="dim" if r.direction == 0 else "",
                ),
                Text(r.best),
            ]
            for r in rows
        ]
        return _layout(width, height, HEADERS, shown, len(self.names), cells, ascii_only)


class MultiTable(_Lines):
    """Several logs side by side: per series, each log's newest value and trend arrow, then the best value
    over every log with the log and step it came from ("which of my runs is better")."""

    def __init__(self, names: Sequence[str], board: Board, view: View) -> None:
        self.names = list(names)
        self.board = board
        self.view = view

    def lines(self, width: int, height: int) -> list[Text]:
        if height < 1 or width < 1:
            return []
        ascii_only = self.view.ascii
        arrows = ASCII_ARROWS if ascii_only else ARROWS
        shown = _fitting(self.names, height)
        window = self.view.trend_window
        labels = [shorten(clean(log.label, 40), 12, ascii_only) for log in self.board]
        cells: list[list[Text]] = []
        for name in shown:
            row_cells: list[Text] = []
            best: Optional[tuple[float, str, float]] = None
            mode = goal(name)
            for log, label in zip(self.board, labels):
                snap = log.snapshot
                s = snap.series.get(name)
                if s is None or len(s) == 0:
                    row_cells.append(Text("-", style="dim"))
                    continue
                r = memo(snap, ("row", name, window), functools.partial(cached_row, s, snap, window))
                arrow = arrows[r.direction] if r.trend else " "
                row_cells.append(Text(f"{r.last} {arrow}", style="" if r.last_finite else "bold red"))
                if mode is not None:
                    steps, values = history(s, run_starts(snap, s.axis))
                    b, at = analysis.best(values, steps, mode)
                    if not math.isnan(b) and (
                        best is None or (b < best[0] if mode == "min" else b > best[0])
                    ):
                        best = (b, label, at)
            best_text = "-" if best is None else f"{fmt.value(best[0])} {best[1]}@{fmt.step(best[2])}"
            row_cells.append(Text(best_text))
            cells.append(row_cells)
        headers = ["series", *labels, "best"]
        return _layout(width, height, headers, shown, len(self.names), cells, ascii_only)
