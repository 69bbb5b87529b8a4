"""The whole screen: status line, a grid of charts, and the table beside or below them.

`Dashboard(snapshot, view, now)` is pure: it reads an immutable snapshot, the display options and
the time it is told, and renders exactly the height it is given (`options.height`, else
`DEFAULT_HEIGHT`), never more: under rich Live a frame taller than the terminal is duplicated into
the scrollback.
"""

from __future__ import annotations

import functools

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text

from detr_watch.render.chart import Chart, Lines
from detr_watch.render.history import has_history, run_starts
from detr_watch.render.memo import memo
from detr_watch.render.status import WAITING, StatusLine
from detr_watch.render.table import HEADER_ROWS, MetricsTable
from detr_watch.roles import ChartSpec, chart_specs, main_series
from detr_watch.store import Snapshot
from detr_watch.text import clean
from detr_watch.view import View

MIN_WIDTH, MIN_HEIGHT = 60, 16
DEFAULT_HEIGHT = 48  # when printed once with no height given
MIN_CHART_HEIGHT = 8
MIN_CHART_WIDTH = 45  # two columns from 2 * 45 + 1 cells
SIDE_TABLE_FROM = 130  # total width from which the table sits beside the charts
GUTTER = 1


def _axes(snapshot: Snapshot) -> dict[str, str]:
    """name -> x axis of the series that still have points once restarted runs are stitched."""
    return {
        name: s.axis for name, s in snapshot.series.items() if has_history(s, run_starts(snapshot, s.axis))
    }


def _specs(snapshot: Snapshot) -> list[ChartSpec]:
    axes = memo(snapshot, "axes", functools.partial(_axes, snapshot))
    return chart_specs(axes.keys(), axes)


def _main(snapshot: Snapshot) -> list[str]:
    axes = memo(snapshot, "axes", functools.partial(_axes, snapshot))
    return main_series(axes.keys(), axes)


def _blank(width: int, height: int) -> Lines:
    return [[Segment(" " * width)] for _ in range(height)]


def _hjoin(left: Lines, right: Lines, gutter: int) -> Lines:
    pad = [Segment(" " * gutter)] if gutter else []
    return [a + pad + b for a, b in zip(left, right)]


def _split(total: int, parts: int, gutter: int = 0) -> list[int]:
    """`parts` sizes adding up to `total` minus the gutters, the larger ones first."""
    usable = total - gutter * (parts - 1)
    base, extra = divmod(usable, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


_ASCII_CHARS = str.maketrans({"…": ".", "·": "|", "↑": "^", "↓": "v", "→": "-", "─": "-", "│": "|"})


def asciify(lines: Lines) -> Lines:
    """The same lines in ASCII: the last guard for text from a log (names may hold any character)."""
    out: Lines = []
    for line in lines:
        new = []
        for seg in line:
            text = seg.text
            if not text.isascii():
                text = text.translate(_ASCII_CHARS)
                if not text.isascii():
                    text = "".join(c if c.isascii() else "?" * cell_len(c) for c in text)
                seg = Segment(text, seg.style, seg.control)
            new.append(seg)
        out.append(new)
    return out


class Dashboard:
    """The dashboard of one snapshot at time `now` (for "last record N ago")."""

    def __init__(self, snapshot: Snapshot, view: View, now: float) -> None:
        self.snapshot = snapshot
        self.view = view
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height if options.height is not None else DEFAULT_HEIGHT
        lines = self.render_lines(console, options, options.max_width, height)
        if self.view.ascii:
            lines = asciify(lines)
        for line in lines:
            yield from line
            yield Segment.line()

    def render_lines(self, console: Console, options: ConsoleOptions, width: int, height: int) -> Lines:
        """Exactly `height` lines of exactly `width` cells."""
        if width < 1 or height < 1:
            return []
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            msg = f"terminal too small: need at least {MIN_WIDTH}x{MIN_HEIGHT}, have {width}x{height}"
            return self._block(console, options, Text(msg, style="bold red"), width, height)
        lines = self._block(console, options, StatusLine(self.snapshot, self.view, self.now), width, 1)
        body_h = height - 1
        snap = self.snapshot
        if snap.records == 0 or not snap.series:
            return lines + self._message(console, options, width, body_h)
        specs = memo(snap, "specs", functools.partial(_specs, snap))
        names = memo(snap, "main", functools.partial(_main, snap))
        table = MetricsTable(names, snap, self.view)
        if not specs:
            return lines + self._block(console, options, table, width, body_h)
        if width >= SIDE_TABLE_FROM:
            table_w = min(64, max(48, width * 9 // 25))
            charts_w = width - table_w - 2 * GUTTER
            charts = self._grid(console, options, specs, charts_w, body_h)
            side = self._block(console, options, table, table_w, body_h)
            return lines + _hjoin(charts, side, 2 * GUTTER)
        wanted = len(names) + HEADER_ROWS
        table_h = min(wanted, max(HEADER_ROWS + 3, body_h // 3))
        table_h = min(table_h, body_h - MIN_CHART_HEIGHT)
        charts_h = body_h - table_h
        return (
            lines
            + self._grid(console, options, specs, width, charts_h)
            + self._block(console, options, table, width, table_h)
        )

    def _grid(
        self, console: Console, options: ConsoleOptions, specs: list[ChartSpec], width: int, height: int
    ) -> Lines:
        cols = 2 if width >= 2 * MIN_CHART_WIDTH + GUTTER else 1
        fit = max(1, height // MIN_CHART_HEIGHT) * cols
        shown = specs[:fit]
        rows = -(-len(shown) // cols)
        out: Lines = []
        for r, row_h in enumerate(_split(height, rows)):
            row = shown[r * cols : (r + 1) * cols]
            widths = _split(width, len(row), GUTTER)
            block = self._chart(console, options, row[0], widths[0], row_h)
            for spec, w in zip(row[1:], widths[1:]):
                block = _hjoin(block, self._chart(console, options, spec, w, row_h), GUTTER)
            out.extend(block)
        return out

    def _chart(
        self, console: Console, options: ConsoleOptions, spec: ChartSpec, width: int, height: int
    ) -> Lines:
        try:
            return Chart(spec, self.snapshot, self.view).render_lines(console, width, height)
        except Exception as exc:  # noqa: BLE001 - one bad chart must not take the monitor down; say why
            msg = Text(clean(f"{spec.title}: cannot draw: {type(exc).__name__}: {exc}", 200), style="red")
            return self._block(console, options, msg, width, height)

    def _message(self, console: Console, options: ConsoleOptions, width: int, height: int) -> Lines:
        text = Text(justify="center")
        text.append(WAITING, style="bold yellow")
        if self.view.title:
            text.append(f"\nin {clean(self.view.title, 200)}", style="dim")
        if self.snapshot.skipped_lines:
            n = self.snapshot.skipped_lines
            text.append(
                f"\n{n} line{'s' if n != 1 else ''} skipped (not metrics of this format)", style="dim"
            )
        top = max(0, (height - len(text.plain.splitlines())) // 2)
        body = self._block(console, options, text, width, height - top)
        return _blank(width, top) + body

    def _block(
        self, console: Console, options: ConsoleOptions, renderable: RenderableType, width: int, height: int
    ) -> Lines:
        return console.render_lines(renderable, options.update_dimensions(width, height), pad=True)
