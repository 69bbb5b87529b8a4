"""The table of main series: latest value, trend over a recent window, best value and its step."""

from __future__ import annotations

import functools
import math
import threading
import weakref
from dataclasses import dataclass
from typing import Hashable, NamedTuple, Optional, Sequence, Union

import numpy as np
from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from detr_watch import analysis
from detr_watch.analysis import FloatArray
from detr_watch.logs import Board
from detr_watch.memo import grow, latest, memo
from detr_watch.render import fmt
from detr_watch.render.chart import Lines
from detr_watch.render.history import RunStarts, history, run_starts
from detr_watch.roles import goal
from detr_watch.store import SeriesData, Snapshot, owner, series_key
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
    best_value: float = math.nan  # what `best` says, as numbers (MultiTable compares them across logs)
    best_step: float = math.nan


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
    best, b, at = "-", math.nan, math.nan
    if mode is not None:
        b, at = _best(series, starts, steps, values, mode)
        if not math.isnan(b):
            best = f"{fmt.value(b)} @{fmt.step(at)}"
    return Row(
        fmt.value(last),
        fmt.change(change),
        analysis.direction(change, ref),
        best,
        math.isfinite(last),
        b,
        at,
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


def cached_row(
    series: SeriesData, snapshot: Snapshot, window: int, starts: Optional[RunStarts] = None
) -> Row:
    """`row`, kept while the series' points and the log's runs (`starts`, the log's on the series'
    axis) stay the same: a record of other series reuses it.

    The points are named as `series_key` names them, cheaper: by the arrays the row reads (steps,
    runs, values; not times and epochs), their count and the last value."""
    if starts is None:
        starts = run_starts(snapshot, series.axis)
    values = series.values
    owners = (owner(series.steps), owner(series.runs), owner(values))
    key = (values.shape[0], values[-1:].tobytes(), starts)
    slot = ("row", series.name, window, id(owners[2]))
    return latest(slot, owners, key, functools.partial(row, series, snapshot, window))


def rows(snapshot: Snapshot, names: Sequence[str], window: int) -> list[Row]:
    """`cached_row` of each of `names`, kept for the snapshot (a repaint reuses them in one look-up);
    the run starts are found once per axis, not once per row."""
    shown = tuple(names)
    return memo(snapshot, ("rows", window, shown), functools.partial(_rows, snapshot, shown, window))


def _rows(snapshot: Snapshot, names: Sequence[str], window: int) -> list[Row]:
    starts: dict[str, RunStarts] = {}
    out = []
    for name in names:
        s = snapshot.series[name]
        axis_starts = starts.get(s.axis)
        if axis_starts is None:
            axis_starts = starts[s.axis] = run_starts(snapshot, s.axis)
        out.append(cached_row(s, snapshot, window, axis_starts))
    return out


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


Cell = tuple[str, str]  # (text, style)


class Content(NamedTuple):
    """Everything the lines of a table at one size are drawn from, as strings: equal contents draw
    equal lines, so it is the key of the lines a frame reuses (no float in it: NaN != NaN)."""

    headers: tuple[str, ...]
    names: tuple[str, ...]  # the names shown
    total: int  # the names there are
    cells: tuple[tuple[Cell, ...], ...]  # per name shown, the cells after its name
    ascii_only: bool


def _line(name: Text, cells: Sequence[Text], widths: Sequence[int], name_w: int, width: int) -> Text:
    out = Text(no_wrap=True, overflow="crop", end="")
    name.align("left", name_w)
    out.append_text(name)
    for cell, w in zip(cells, widths):
        cell.align("right", w)
        out.append(" ")
        out.append_text(cell)
    out.truncate(width)
    return out


def _one_cell(text: str) -> bool:
    """Whether every character of `text` takes one cell (no control, wide or combining character)."""
    if text.isascii():
        return text.isprintable()
    return text.isprintable() and all(cell_len(c) == 1 for c in text)


def _offsets(parts: Sequence[Cell]) -> list[int]:
    """Where each part starts in the text of them all."""
    out, pos = [], 0
    for text, _ in parts:
        out.append(pos)
        pos += len(text)
    return out


def _segments(
    console: Console, name: Cell, cells: Sequence[Cell], widths: Sequence[int], name_w: int, width: int
) -> Optional[tuple[Segment, ...]]:
    """The segments rich renders `_line` into (a line of `width` cells), built directly, for text of
    one-cell characters (else None): after a record changes a column's width, every line of the table
    is drawn again, in about 20 µs a line instead of rich's 150. tests/test_table_cache.py holds it to
    rich's output.

    rich crops and pads each cell (crop first), gives a styled cell's padding its style, crops the
    line, makes one segment of each run of unstyled text (null style) and of each styled cell, and
    pads the line with an unstyled segment."""
    if not all(_one_cell(text) for text, _ in (name, *cells)):
        return None
    parts = [(name[0][:name_w].ljust(name_w), name[1])]
    for (text, style), w in zip(cells, widths):
        parts.append((" ", ""))
        parts.append((text[:w].rjust(w), style))
    starts = _offsets(parts)
    total = starts[-1] + len(parts[-1][0])
    n = min(total, width)
    # a styled cell is a span of the line's Text; cropping the line drops the spans past its end
    spans = [bool(style) and (start < n or total <= width) for start, (_, style) in zip(starts, parts)]
    # with no span at all, rich's one segment has no style; otherwise unstyled text has the null style
    plain = Style.null() if any(spans) else None
    out: list[Segment] = []
    run: list[str] = []
    for start, (text, style), span in zip(starts, parts, spans):
        piece = text[: max(0, n - start)]
        if span:
            if run:
                out.append(Segment("".join(run), plain))
                run = []
            if piece:
                out.append(Segment(piece, console.get_style(style)))
        elif piece:
            run.append(piece)
    if run:
        out.append(Segment("".join(run), plain))
    if n < width:
        out.append(Segment(" " * (width - n)))
    return tuple(out)


# A line of the table is named by all it shows (a key of the lines a frame reuses); dataclasses,
# unlike tuples, are never equal to a line of another kind.


@dataclass(frozen=True)
class _Head:
    headers: tuple[str, ...]
    widths: tuple[int, ...]
    name_w: int
    width: int

    def text(self) -> Text:
        bold = [Text(h, style="bold") for h in self.headers]
        return _line(bold[0], bold[1:], self.widths, self.name_w, self.width)

    def segments(self, console: Console) -> Optional[tuple[Segment, ...]]:
        bold = [(h, "bold") for h in self.headers]
        return _segments(console, bold[0], bold[1:], self.widths, self.name_w, self.width)


@dataclass(frozen=True)
class _Rule:
    width: int
    ascii_only: bool

    def text(self) -> Text:
        return Text(("-" if self.ascii_only else "─") * self.width, style="dim", end="")


@dataclass(frozen=True)
class _Row:
    name: str
    cells: tuple[Cell, ...]
    widths: tuple[int, ...]
    name_w: int
    width: int
    ascii_only: bool

    def text(self) -> Text:
        # Text from a log is data: control codes replaced, and a Text (unlike a str in rich's
        # print or Table) is never parsed for markup or :emoji: codes.
        label = Text(self.label())
        cells = [Text(text, style=style) for text, style in self.cells]
        return _line(label, cells, self.widths, self.name_w, self.width)

    def label(self) -> str:
        return shorten(clean(self.name, 200), self.name_w, self.ascii_only)

    def segments(self, console: Console) -> Optional[tuple[Segment, ...]]:
        return _segments(console, (self.label(), ""), self.cells, self.widths, self.name_w, self.width)


@dataclass(frozen=True)
class _More:
    count: int
    width: int  # not in the text, but a line is rendered (padded, or wrapped) at a width

    def text(self) -> Text:
        return Text(f"... {self.count} more", style="dim", end="")


LineKey = Union[_Head, _Rule, _Row, _More]


def _line_keys(width: int, height: int, content: Content) -> list[LineKey]:
    """The lines (at most `height`) of `content` in `width` cells: the name column takes what the
    right-aligned value columns leave."""
    headers, cells = content.headers, content.cells
    widths = tuple(max([cell_len(h)] + [cell_len(c[i][0]) for c in cells]) for i, h in enumerate(headers[1:]))
    name_w = max(8, width - sum(widths) - len(widths))
    keys: list[LineKey] = [_Head(headers, widths, name_w, width), _Rule(width, content.ascii_only)]
    for name, row_cells in zip(content.names, cells):
        keys.append(_Row(name, row_cells, widths, name_w, width, content.ascii_only))
    if len(content.names) < content.total:
        keys.append(_More(content.total - len(content.names), width))
    return keys[:height]


def _layout(width: int, height: int, content: Content) -> list[Text]:
    """Aligned lines, at most `height` of at most `width` cells."""
    return [key.text() for key in _line_keys(width, height, content)]


class _TextLines:
    """Texts one under another, each ended by a new line (as `_Lines` yields them)."""

    def __init__(self, texts: Sequence[Text]) -> None:
        self.texts = texts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for text in self.texts:
            yield text
            yield Segment.line()


class _Drawn(NamedTuple):
    """A table's last frame on one console: what it showed and its lines of segments, whole and by
    line."""

    key: Hashable  # the size, `env` and the content
    env: Hashable
    lines: tuple[tuple[Segment, ...], ...]
    by_line: dict[LineKey, tuple[tuple[Segment, ...], ...]]


_LOCK = threading.Lock()
# per console (held weakly: a frame printed once takes its console with it), per kind of table
_DRAWN: weakref.WeakKeyDictionary[Console, dict[str, _Drawn]] = weakref.WeakKeyDictionary()
_STATS = {"frames": 0, "reused": 0, "lines": 0, "rich": 0}


def render_stats() -> dict[str, int]:
    """Tables asked for (`frames`), of them drawn as the last frame was (`reused`), lines drawn
    (`lines`) and of them by rich (`rich`), since start (for tests and benchmarks)."""
    with _LOCK:
        return dict(_STATS)


def _draw(console: Console, options: ConsoleOptions, key: LineKey) -> tuple[tuple[Segment, ...], ...]:
    """The line `key` names as rich renders it (several lines if it wraps: only "... N more" can, in
    a very narrow table); built directly where `_segments` can (a header or a row fills its width, so
    no justify of the console's options can move its text)."""
    line = key.segments(console) if isinstance(key, (_Head, _Row)) else None
    with _LOCK:
        _STATS["lines"] += 1
        _STATS["rich"] += line is None
    if line is not None:
        return (line,)
    rendered = console.render_lines(_TextLines([key.text()]), options.update(height=None), pad=True)
    return tuple(tuple(line) for line in rendered)


class _Lines:
    """A renderable drawn as `lines(width, height)`, one Text a line; `render_lines` draws the same
    lines of segments for the dashboard, from those of the last frame where they are the same."""

    names: list[str]
    view: View

    def content(self, height: int) -> Content:
        """What the table shows in `height` lines."""
        raise NotImplementedError

    def lines(self, width: int, height: int) -> list[Text]:
        """At most `height` lines, each at most `width` cells."""
        if height < 1 or width < 1:
            return []
        return _layout(width, height, self.content(height))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or (len(self.names) + HEADER_ROWS + 1)
        yield _TextLines(self.lines(options.max_width, height))

    def render_lines(self, console: Console, options: ConsoleOptions, width: int, height: int) -> Lines:
        """The table in exactly `height` lines of `width` cells, as `layout.block` renders it; but a
        repaint (the clock ticking, a key) reuses the last frame's lines, and after a new record only
        the lines whose text changed are drawn (most without rich: see `_segments`). Nothing in the
        table depends on the clock."""
        if height <= 0:
            return []
        opts = options.update_dimensions(width, height)
        if width < 1:
            return console.render_lines(self, opts, pad=True)
        content = self.content(height)
        # what rich's rendering of a Text reads besides the Text (the console's theme and tab size
        # are the console's: lines are kept per console); the colour system and no_color do not
        # change segments (the console applies them as it writes) but cost nothing to name
        env = (opts.justify, opts.overflow, opts.no_wrap, console.color_system, console.no_color)
        key = (width, height, env, content)
        kind = type(self).__name__
        with _LOCK:
            _STATS["frames"] += 1
            drawn = _DRAWN.get(console, {}).get(kind)
            if drawn is not None and drawn.key == key:
                _STATS["reused"] += 1
                return [list(line) for line in drawn.lines]
        before = drawn.by_line if drawn is not None and drawn.env == env else {}
        by_line: dict[LineKey, tuple[tuple[Segment, ...], ...]] = {}
        out: list[tuple[Segment, ...]] = []
        for line_key in _line_keys(width, height, content):
            done = before.get(line_key)
            if done is None:
                done = _draw(console, opts, line_key)
            by_line[line_key] = done
            out.extend(done)
        out = out[:height]
        blank = (Segment(" " * width),)
        out.extend(blank for _ in range(height - len(out)))
        with _LOCK:
            _DRAWN.setdefault(console, {})[kind] = _Drawn(key, env, tuple(out), by_line)
        return [list(line) for line in out]


class MetricsTable(_Lines):
    """Rows for as many of `names` as fit the size it is rendered with.

    Drawn as plain aligned lines (a header, a rule, one line per series) rather than a rich Table:
    the column widths are computed here anyway, and this costs a tenth of the time per frame.
    """

    def __init__(self, names: Sequence[str], snapshot: Snapshot, view: View) -> None:
        self.names = list(names)
        self.snapshot = snapshot
        self.view = view

    def content(self, height: int) -> Content:
        ascii_only = self.view.ascii
        arrows = ASCII_ARROWS if ascii_only else ARROWS
        shown = _fitting(self.names, height)
        window = self.view.trend_window
        cells = []
        for r in rows(self.snapshot, shown, window):
            trend = f"{r.trend} {arrows[r.direction]}" if r.trend else ""
            cells.append(
                (
                    (r.last, "" if r.last_finite else "bold red"),
                    (trend, "dim" if r.direction == 0 else ""),
                    (r.best, ""),
                )
            )
        return Content(HEADERS, tuple(shown), len(self.names), tuple(cells), ascii_only)


class MultiTable(_Lines):
    """Several logs side by side: per series, each log's newest value and trend arrow, then the best value
    over every log with the log and step it came from ("which of my runs is better")."""

    def __init__(self, names: Sequence[str], board: Board, view: View) -> None:
        self.names = list(names)
        self.board = board
        self.view = view

    def content(self, height: int) -> Content:
        ascii_only = self.view.ascii
        arrows = ASCII_ARROWS if ascii_only else ARROWS
        shown = _fitting(self.names, height)
        window = self.view.trend_window
        labels = [shorten(clean(log.label, 40), 12, ascii_only) for log in self.board]
        per_log: list[dict[str, Row]] = []
        for log in self.board:  # each log's rows, as a table of that log alone keeps them
            have = [n for n in shown if len(log.snapshot.series.get(n, ())) > 0]
            per_log.append(dict(zip(have, rows(log.snapshot, have, window))))
        cells: list[tuple[Cell, ...]] = []
        for name in shown:
            row_cells: list[Cell] = []
            best: Optional[tuple[float, str, float]] = None
            mode = goal(name)
            for log_rows, label in zip(per_log, labels):
                r = log_rows.get(name)
                if r is None:
                    row_cells.append(("-", "dim"))
                    continue
                arrow = arrows[r.direction] if r.trend else " "
                row_cells.append((f"{r.last} {arrow}", "" if r.last_finite else "bold red"))
                b = r.best_value  # the best over the history, as `row` found it
                if mode is not None and not math.isnan(b):
                    if best is None or (b < best[0] if mode == "min" else b > best[0]):
                        best = (b, label, r.best_step)
            best_text = "-" if best is None else f"{fmt.value(best[0])} {best[1]}@{fmt.step(best[2])}"
            row_cells.append((best_text, ""))
            cells.append(tuple(row_cells))
        headers = ("series", *labels, "best")
        return Content(headers, tuple(shown), len(self.names), tuple(cells), ascii_only)
