"""The whole screen: two status lines, then a page of charts with the table beside or below them (or one
of the DETR panels), and the help box over it on request.

`Dashboard(logs, view, now)` is pure: it reads immutable snapshots (one, or several labelled logs), the
display options and the time it is told, and renders exactly the height it is given
(`options.height`, else `DEFAULT_HEIGHT`), never more: under rich Live a frame taller than the terminal
is duplicated into the scrollback.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Optional, Sequence, Union

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text

from detr_watch.breakdown import coco_groups
from detr_watch.logs import Board, Log, as_board
from detr_watch.memo import latest, memo
from detr_watch.render import layout
from detr_watch.render.chart import Chart, ChartDef, ChartLine, Lines
from detr_watch.render.help import overlay
from detr_watch.render.history import has_history, run_starts
from detr_watch.render.panels import panel_lines
from detr_watch.render.status import HEIGHT as STATUS_HEIGHT
from detr_watch.render.status import NOT_A_LOG, WAITING, StatusBar
from detr_watch.render.table import HEADER_ROWS, MetricsTable, MultiTable
from detr_watch.roles import chart_specs, main_series, parse_name
from detr_watch.store import Snapshot
from detr_watch.text import clean
from detr_watch.view import View, matches, split_free

MIN_WIDTH, MIN_HEIGHT = 60, 16
DEFAULT_HEIGHT = 48  # when printed once with no height given
SIDE_TABLE_FROM = 130  # total width from which the table sits beside the charts
GUTTER = layout.GUTTER


def _axes(snapshot: Snapshot, stitched: bool) -> dict[str, str]:
    """name -> x axis of the series that have points to draw (stitched: that a later run left standing)."""
    if not stitched:
        return {name: s.axis for name, s in snapshot.series.items() if len(s)}
    return {
        name: s.axis for name, s in snapshot.series.items() if has_history(s, run_starts(snapshot, s.axis))
    }


def log_axes(snapshot: Snapshot, stitched: bool) -> dict[str, str]:
    return memo(snapshot, ("axes", stitched), functools.partial(_axes, snapshot, stitched))


def board_axes(board: Board, view: View) -> dict[str, str]:
    """Every series name of every log (that passes the filter) -> its x axis (the first log's wins)."""
    out: dict[str, str] = {}
    for log in board:
        for name, axis in log_axes(log.snapshot, view.stitched).items():
            if name not in out and matches(name, view.metrics):
                out[name] = axis
    return out


def chart_defs(board: Board, view: View) -> list[ChartDef]:
    """The charts of the grid: the default role charts, then one per other main series (per aux copy
    too when a filter asks for it), lines per split and per log."""

    def compute() -> list[ChartDef]:
        axes = board_axes(board, view)
        names = list(axes)
        multi = len(board) > 1
        present = [set(log_axes(log.snapshot, view.stitched)) for log in board]

        def lines(pairs: Sequence[tuple[str, str]]) -> tuple[ChartLine, ...]:
            out = []
            for name, label in pairs:
                split = parse_name(name).split
                for i, log in enumerate(board):
                    if name in present[i]:
                        text = clean(log.label, 30) if multi else label
                        out.append(ChartLine(i, name, text, split))
            return tuple(out)

        specs = chart_specs(names, axes)
        defs = []
        for spec in specs:
            if not multi or len(spec.lines) == 1:
                defs.append(ChartDef(spec.title, spec.role, lines(spec.lines)))
                continue
            # several logs: one chart per split, a line per log (log x split lines would not read)
            for name, label in spec.lines:
                defs.append(ChartDef(f"{spec.title} ({label})", spec.role, lines([(name, label)])))
        charted = {name for spec in specs for name, _ in spec.lines}
        if view.metrics:
            extra = [n for n in sorted(names) if n not in charted]
        else:
            coco = {name for g in coco_groups(names) for _, name in g.stats if name}
            extra = [n for n in main_series(names, axes) if n not in charted and n not in coco]
        groups: dict[tuple[str, str], list[str]] = {}
        for name in extra:
            groups.setdefault((split_free(name), axes[name]), []).append(name)
        for (title, _), members in groups.items():
            pairs = [(n, parse_name(n).split or n) for n in members]
            if multi:
                for pair in pairs:
                    split = parse_name(pair[0]).split
                    defs.append(
                        ChartDef(clean(f"{title} ({split})" if split else title, 80), "", lines([pair]))
                    )
            else:
                defs.append(ChartDef(clean(title, 80), "", lines(pairs)))
        return [d for d in defs if d.lines]

    # the grid depends on which series each log has and their axes, not on their values: a new
    # record keeps it
    key = ("chart_defs", view.metrics, view.stitched, tuple(log.label for log in board))
    return latest(key, (), _names_key(board, view.stitched), compute)


def _names_key(board: Board, stitched: bool) -> tuple[tuple[tuple[str, str], ...], ...]:
    return tuple(tuple(log_axes(log.snapshot, stitched).items()) for log in board)


def table_names(board: Board, view: View) -> list[str]:
    def compute() -> list[str]:
        # the table is computed on the stitched history: a series only a replaced run wrote has none
        axes = board_axes(board, replace(view, stitched=True))
        return main_series(axes.keys(), axes)

    key = ("table_names", view.metrics, view.stitched)
    return latest(key, (), _names_key(board, True), compute)


_ASCII_CHARS = str.maketrans(
    {"…": ".", "·": "|", "↑": "^", "↓": "v", "→": "-", "─": "-", "│": "|", "█": "#", "▏": "|"}
)


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
    """The dashboard of one or more logs at time `now` (for "last record N ago" and the alerts)."""

    def __init__(self, logs: Union[Snapshot, Sequence[Log]], view: View, now: float) -> None:
        self.board = as_board(logs, view.title)
        self.view = view
        self.now = now

    @property
    def snapshot(self) -> Snapshot:
        return self.board[0].snapshot

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height if options.height is not None else DEFAULT_HEIGHT
        lines = self.render_lines(console, options, options.max_width, height)
        if self.view.ascii:
            lines = asciify(lines)
        for line in lines:
            yield from line
            yield Segment.line()

    def pages(self, width: int, height: int) -> tuple[int, int]:
        """(page shown, number of pages) of the chart grid at this size."""
        defs = chart_defs(self.board, self.view)
        charts_w, charts_h = self._chart_area(width, height - STATUS_HEIGHT)
        n = max(1, -(-len(defs) // layout.per_page(charts_w, charts_h)))
        return self.view.page % n, n

    def focused_title(self, width: int, height: int) -> Optional[str]:
        """The title of the chart under the cursor at this size, if there is a cursor."""
        if self.view.focus is None or self.view.panel != "charts":
            return None
        defs = chart_defs(self.board, self.view)
        if not defs:
            return None
        page, _ = self.pages(width, height)
        fit = layout.per_page(*self._chart_area(width, height - STATUS_HEIGHT))
        on_page = defs[page * fit : (page + 1) * fit]
        return on_page[self.view.focus % len(on_page)].title if on_page else None

    def _chart_area(self, width: int, body_h: int) -> tuple[int, int]:
        if width >= SIDE_TABLE_FROM:
            return width - self._side_width(width) - 2 * GUTTER, body_h
        return width, body_h - self._table_height(body_h)

    def _side_width(self, width: int) -> int:
        extra = 12 * (len(self.board) - 1)
        return min(64 + extra, max(48, width * 9 // 25 + extra), width // 2)

    def _table_height(self, body_h: int) -> int:
        wanted = len(table_names(self.board, self.view)) + HEADER_ROWS
        table_h = min(wanted, max(HEADER_ROWS + 3, body_h // 3))
        return max(0, min(table_h, body_h - layout.MIN_CHART_HEIGHT))

    def render_lines(self, console: Console, options: ConsoleOptions, width: int, height: int) -> Lines:
        """Exactly `height` lines of exactly `width` cells."""
        if width < 1 or height < 1:
            return []
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            msg = f"terminal too small: need at least {MIN_WIDTH}x{MIN_HEIGHT}, have {width}x{height}"
            return layout.block(console, options, Text(msg, style="bold red"), width, height)
        view = self.view
        body_h = height - STATUS_HEIGHT
        waiting = all(log.snapshot.records == 0 or not log.snapshot.series for log in self.board)
        pages = None if waiting or view.panel != "charts" else self.pages(width, height)
        status = StatusBar(self.board, view, self.now, pages)
        lines = layout.block(console, options, status, width, STATUS_HEIGHT)
        if waiting:
            body = self._message(console, options, width, body_h)
        elif view.panel != "charts":
            body = panel_lines(console, options, self.board, view, width, body_h)
        else:
            body = self._charts(console, options, width, body_h, pages or (0, 1))
        if view.help:
            body = overlay(body, width, view.ascii)
        return lines + body

    def _table(self) -> Union[MetricsTable, MultiTable]:
        names = table_names(self.board, self.view)
        if len(self.board) > 1:
            return MultiTable(names, self.board, self.view)
        return MetricsTable(names, self.snapshot, self.view)

    def _charts(
        self, console: Console, options: ConsoleOptions, width: int, body_h: int, pages: tuple[int, int]
    ) -> Lines:
        defs = chart_defs(self.board, self.view)
        table = self._table()
        if not defs:
            return table.render_lines(console, options, width, body_h)
        charts_w, charts_h = self._chart_area(width, body_h)
        fit = layout.per_page(charts_w, charts_h)
        page = pages[0]
        on_page = defs[page * fit : (page + 1) * fit]
        focus = None if self.view.focus is None or not on_page else self.view.focus % len(on_page)
        shown = [Chart(d, self.board, self.view, i == focus) for i, d in enumerate(on_page)]
        grid = layout.grid(console, options, shown, charts_w, charts_h)
        if width >= SIDE_TABLE_FROM:
            side = table.render_lines(console, options, self._side_width(width), body_h)
            return layout.hjoin(grid, side, 2 * GUTTER)
        return grid + table.render_lines(console, options, width, body_h - charts_h)

    def _message(self, console: Console, options: ConsoleOptions, width: int, height: int) -> Lines:
        text = Text(justify="center")
        if all(log.snapshot.meta.get("not_a_log") for log in self.board):
            text.append(NOT_A_LOG, style="bold red")
        else:
            text.append(WAITING, style="bold yellow")
        if self.view.title:
            text.append(f"\nin {clean(self.view.title, 200)}", style="dim")
        skipped = sum(log.snapshot.skipped_lines for log in self.board)
        if skipped:
            text.append(
                f"\n{skipped} line{'s' if skipped != 1 else ''} skipped (not metrics of this format)",
                style="dim",
            )
        loading = [log.snapshot.meta.get("loading") for log in self.board if log.snapshot.meta.get("loading")]
        if loading:
            text.append(f"\nloading {clean(str(loading[0]), 20)}", style="dim")
        top = max(0, (height - len(text.plain.splitlines())) // 2)
        body = layout.block(console, options, text, width, height - top)
        return layout.blank(width, top) + body
