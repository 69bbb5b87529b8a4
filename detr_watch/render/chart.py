"""A chart: a title row, then the plotext picture of its lines, each run of each log a curve of its own.

The newest run of a log is drawn in its colour (the split's for one log, the log's when several are
overlaid); earlier runs of a restarted log are grey and labelled "run N"; a smoothed curve has its raw
points faint beneath it. What is drawn is derived from the whole stored history at render time
(`curves.py`) and cached on the snapshots it came from, the display options and the size.
"""

from __future__ import annotations

import functools
import math
import re
from typing import NamedTuple, Optional, Sequence

from rich.color import Color as RichColor
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from detr_watch import curves
from detr_watch.logs import Board
from detr_watch.memo import grow, latest, memo
from detr_watch.render import fmt, plot
from detr_watch.render.history import run_starts
from detr_watch.roles import smoothable
from detr_watch.store import SeriesData, Snapshot, series_key
from detr_watch.text import clean
from detr_watch.view import View

Color = int  # a 256-colour index: plotext draws it, and rich maps it down on 16/8-colour terminals
CYAN, ORANGE, MAGENTA, GREEN, BLUE, RED, YELLOW, WHITE = 37, 208, 170, 70, 33, 160, 178, 252
# One log: colours follow the split, so "test" has the same colour on every chart.
COLORS: dict[str, Color] = {"train": CYAN, "test": ORANGE, "val": MAGENTA, "ema_test": GREEN}
# Several logs: colours follow the log (its position on the command line), so they stay put.
LOG_COLORS: tuple[Color, ...] = (CYAN, ORANGE, MAGENTA, GREEN, BLUE, RED, YELLOW, WHITE)
# The faint version of each colour, for raw points under a smoothed line.
FAINT: dict[Color, Color] = {
    CYAN: 23,
    ORANGE: 94,
    MAGENTA: 96,
    GREEN: 22,
    BLUE: 24,
    RED: 88,
    YELLOW: 58,
    WHITE: 242,
}
EARLIER_RUN: Color = 244  # grey: runs a restart left behind
# Markers follow the position, so lines stay apart where there is no colour (pipes, NO_COLOR).
MARKERS = ("braille", "hd", "dot", "x")
ASCII_MARKERS = ("*", "o", "x", "+")
GLYPHS = {"braille": "⣿", "hd": "▞", "dot": "•"}  # how a marker looks in the legend
MAX_RUN_LABELS = 3  # more earlier runs than this share one legend entry
DEFAULT_HEIGHT = 12

Lines = list[list[Segment]]


class Entry(NamedTuple):
    """One legend entry: the marker, its colour, the label."""

    marker: str
    color: Color
    label: str


class ChartLine(NamedTuple):
    """One series of one log on a chart. `series` replaces the snapshot's (a derived series)."""

    log: int
    name: str
    label: str
    split: str = ""
    color: Optional[Color] = None
    series: Optional[SeriesData] = None


class ChartDef(NamedTuple):
    title: str
    role: str
    lines: tuple[ChartLine, ...]


class Derived(NamedTuple):
    traces: list[plot.Trace]
    axes: plot.Axes
    unit: str
    notes: str
    legend: tuple[Entry, ...]


class Picture(NamedTuple):
    """A chart's derived content: the x unit, what the header says about the view, the legend, the plot."""

    unit: str
    notes: str
    legend: tuple[Entry, ...]
    text: str


class _Decoded:
    """plotext's ANSI text as lines of segments, cached with the text: decoding it costs more than
    the rest of a frame. Segments of `Text.from_ansi` hold only `Style` objects, so they do not
    depend on the console they were rendered with."""

    def __init__(self) -> None:
        self._lines = functools.lru_cache(maxsize=64)(self._decode)
        self._console: Console | None = None

    def _decode(self, text: str, width: int, height: int) -> tuple[tuple[Segment, ...], ...]:
        fast = _decode_colours(text, width, height)
        if fast is not None:
            return fast
        assert self._console is not None
        decoded = Text.from_ansi(text, no_wrap=True, overflow="crop", end="")
        lines = [
            _fit(list(line.render(self._console)), width) for line in decoded.split("\n", allow_blank=True)
        ]
        return tuple(tuple(line) for line in lines[:height])

    def __call__(
        self, console: Console, text: str, width: int, height: int
    ) -> tuple[tuple[Segment, ...], ...]:
        self._console = console
        return self._lines(text, width, height)


_decoded = _Decoded()
# a chart's title and legend rows by what they show (see Chart._head_lines)
_HEADS: dict[tuple[object, ...], tuple[bool, tuple[tuple[Segment, ...], ...]]] = {}

_SGR = re.compile("\x1b\\[([0-9;]*)m")
_FG256 = re.compile("38;5;([0-9]{1,3})")


@functools.lru_cache(maxsize=512)
def _sgr_style(params: str) -> Optional[Style]:
    """The style after one SGR code of plotext's charts: a reset, or a 256-colour foreground."""
    if params in ("", "0"):
        return None
    m = _FG256.fullmatch(params)
    if m is None or int(m.group(1)) > 255:
        raise ValueError(params)
    return Style(color=RichColor.from_ansi(int(m.group(1))))


def _decode_colours(text: str, width: int, height: int) -> Optional[tuple[tuple[Segment, ...], ...]]:
    """`Text.from_ansi` for the only codes plotext's charts hold here (reset and 256-colour
    foreground), five times faster; None when the text holds any other escape or control character
    (then rich decodes it)."""
    lines = []
    for line in text.split("\n")[:height]:
        segs = []
        style: Optional[Style] = None
        pos = 0
        try:
            for m in _SGR.finditer(line):
                if m.start() > pos:
                    segs.append(Segment(line[pos : m.start()], style))
                style = _sgr_style(m.group(1))
                pos = m.end()
        except ValueError:
            return None
        if pos < len(line):
            segs.append(Segment(line[pos:], style))
        if any(not seg.text.isprintable() for seg in segs):
            return None
        lines.append(tuple(_fit(segs, width)))
    return tuple(lines)


def _compacted(trace: plot.Trace, curve: curves.Curve, tag: str) -> plot.Trace:
    """`trace` with a long history as its x bins' points (`curves.compact`)."""
    x, y = curves.compact(curve, trace.y, tag)
    return trace if x is trace.x and y is trace.y else trace._replace(x=x, y=y)


def _per_epoch(series: SeriesData) -> bool:
    """`curves.per_epoch`, kept per series arrays and extended over new points (on the iteration
    axis it asks whether every point's epoch is whole)."""
    if series.axis == "epoch":
        return True
    arrays, key = series_key(series)

    def more(a: int, ok: bool) -> bool:
        return ok and curves.whole_epochs(series.epochs[a:])

    n = len(series)
    return n > 0 and grow(("per_epoch", series.name, key[1]), arrays, key[1], n, lambda: more(0, True), more)


def first_time(snapshot: Snapshot) -> float:
    """The log's first wall-clock time (x as time counts hours from it); NaN when it has none."""
    return memo(snapshot, "t0", lambda: curves.first_time(list(snapshot.series.values())))


def newest_run(snapshot: Snapshot, series: SeriesData) -> int:
    """The newest run on this series' axis: its curve is the highlighted one."""
    runs = [r.run for r in snapshot.runs if r.axis == series.axis]
    if runs:
        return max(runs)
    return int(series.runs.max()) if len(series) else 0


def _view_key(view: View, title: str) -> tuple[object, ...]:
    """The display options a chart's picture depends on."""
    return (
        view.smoothing,
        view.smooth_epochs,
        view.raw,
        view.log_scale(title),
        view.robust_y,
        view.x,
        view.zoom,
        view.stitched,
        view.ascii,
    )


class Chart:
    """A chart of `defn` over the logs of `board`; it sizes itself from the options it is rendered with."""

    def __init__(self, defn: ChartDef, board: Board, view: View, focused: bool = False) -> None:
        self.defn = defn
        self.board = board
        self.view = view
        self.focused = focused  # under the cursor: the title is shown reversed
        self._found: Optional[tuple[list[object], tuple[object, ...]]] = None

    def _series(self, line: ChartLine) -> Optional[SeriesData]:
        if line.series is not None:
            return line.series
        if line.log >= len(self.board):
            return None
        s = self.board[line.log].snapshot.series.get(line.name)
        return s if s is not None and len(s) else None

    def smoothing(self, line: ChartLine, series: SeriesData) -> float:
        """The EMA weight for this line: losses and errors only, per-epoch series only on request."""
        v = self.view
        if v.smoothing <= 0 or not smoothable(line.name):
            return 0.0
        if not v.smooth_epochs and _per_epoch(series):
            return 0.0
        return v.smoothing

    def traces(self, plain: bool = True) -> tuple[list[plot.Trace], plot.Axes, str, str, tuple[Entry, ...]]:
        """What plotext draws, its axes, the x unit, the header's notes on zoom and scale, the legend.

        `plain`: the console shows no colours, so lines differ by marker (braille, half blocks, dots,
        crosses); in colour every line is braille, the finest, and the colour tells them apart.
        """
        view = self.view
        log_y = view.log_scale(self.defn.title)
        multi = len(self.board) > 1
        markers = ASCII_MARKERS if view.ascii else MARKERS
        derived: list[tuple[ChartLine, list[curves.Curve], int]] = []
        units: list[str] = []
        for line in self.defn.lines:
            series = self._series(line)
            if series is None:
                continue
            snap = self.board[line.log].snapshot
            got, unit = curves.curves(
                series,
                x_mode=view.x,
                t0=first_time(snap) if view.x == "time" else math.nan,  # over every series: only when used
                smoothing=self.smoothing(line, series),
                stitched=view.stitched,
                run_starts=dict(run_starts(snap, series.axis)),
            )
            if got:
                derived.append((line, got, newest_run(snap, series)))
                if unit not in units:
                    units.append(unit)
        unit = units[0] if len(units) == 1 else "/".join(units) if units else "step"
        notes: list[str] = []
        xs = [c.x for _, cs, _ in derived for c in cs if c.x.shape[0]]
        if xs and view.zoom:
            lo = min(float(x.min()) for x in xs)
            hi = max(float(x.max()) for x in xs)
            window = curves.zoom_window(lo, hi, view.zoom)
            if window is not None:
                derived = [(line, [curves.crop(c, hi - window) for c in cs], nr) for line, cs, nr in derived]
                notes.append(f"last {fmt.step(window)}")
        # earlier runs (grey) first, so the newest run is drawn over them
        # each trace with the curve it draws and which of its values ("y" or "raw")
        earlier: list[tuple[plot.Trace, curves.Curve, str]] = []
        newest: list[tuple[plot.Trace, curves.Curve, str]] = []
        raws: list[tuple[plot.Trace, curves.Curve, str]] = []
        legend: list[Entry] = []
        old_legend: list[Entry] = []
        labelled_runs: set[tuple[int, int]] = set()
        old_runs = sorted(
            {(line.log, c.run) for line, cs, nr in derived for c in cs if c.run not in (nr, curves.STITCHED)}
        )
        many_old = len(old_runs) > MAX_RUN_LABELS
        for line, cs, nr in derived:
            color = (
                line.color
                if line.color is not None
                else (LOG_COLORS[line.log % len(LOG_COLORS)] if multi else COLORS.get(line.split, CYAN))
            )
            has_old = any(c.run not in (nr, curves.STITCHED) for c in cs)
            for c in cs:
                y = curves.log_gaps(c.y) if log_y else c.y
                if c.x.shape[0] == 0:
                    continue
                if c.run in (nr, curves.STITCHED):
                    # one log: by position among the lines; several: by log, so a log keeps its marker
                    marker = markers[(line.log if multi else len(newest)) % len(markers)]
                    if not plain and not view.ascii:
                        marker = "braille"
                    label = line.label + (f" (run {c.run + 1})" if has_old and not multi else "")
                    newest.append((plot.Trace(c.x, y, None, color, marker), c, "y"))
                    legend.append(Entry(marker, color, label))
                    if c.raw is not None and view.raw:
                        raw = curves.log_gaps(c.raw) if log_y else c.raw
                        faint = FAINT.get(color, EARLIER_RUN)
                        raws.append(
                            (plot.Trace(c.x, raw, None, faint, "." if view.ascii else "braille"), c, "raw")
                        )
                    continue
                key = (line.log, c.run)
                run_label: Optional[str] = None
                if key not in labelled_runs:
                    labelled_runs.add(key)
                    prefix = self.board[line.log].label + " " if multi else ""
                    if not many_old:
                        run_label = f"{prefix}run {c.run + 1}"
                    elif key == old_runs[-1]:
                        run_label = f"{prefix}runs {old_runs[0][1] + 1}-{c.run + 1}"
                old_marker = "." if view.ascii else "braille"
                earlier.append((plot.Trace(c.x, y, None, EARLIER_RUN, old_marker), c, "y"))
                if run_label is not None:
                    old_legend.append(Entry(old_marker, EARLIER_RUN, run_label))
        ylim = None
        if view.robust_y and (earlier or raws or newest):
            ylim = curves.robust_range([t.y for t, _, _ in earlier + raws + newest], log=log_y)
            if ylim is not None:
                notes.append("5-95%")
        if log_y:
            notes.append("log")
        traces = [t if log_y else _compacted(t, c, tag) for t, c, tag in earlier + raws + newest]
        return traces, plot.Axes(log_y, ylim), unit, " · ".join(notes), tuple(legend + old_legend)

    def _inputs(self) -> tuple[list[object], tuple[object, ...]]:
        if self._found is None:  # a Chart lives for one frame: its board does not change under it
            self._found = self._find_inputs()
        return self._found

    def _find_inputs(self) -> tuple[list[object], tuple[object, ...]]:
        """What this chart's traces are derived from, as (objects held weakly, key): per line, its
        series' arrays (the store appends past a snapshot's end and never rewrites what a snapshot
        shows, so the same arrays and length are the same points), the runs on its axis and the
        log's first time. A record that does not touch a chart's series leaves its key unchanged."""
        alive: list[object] = []
        parts: list[object] = []
        time_x = self.view.x == "time"
        for line in self.defn.lines:
            if line.log >= len(self.board):
                parts.append(None)
                continue
            snap = self.board[line.log].snapshot
            if line.series is not None:  # derived from the snapshot: keyed on it
                alive.append(snap)
                parts.append(("snapshot", id(snap)))
                continue
            series = self._series(line)
            if series is None:
                parts.append(None)
                continue
            arrays, key = series_key(series)
            alive.extend(arrays)
            parts.append((key, run_starts(snap, series.axis), repr(first_time(snap)) if time_x else None))
        return alive, tuple(parts)

    def _key(self) -> tuple[object, ...]:
        """This chart and the display options its picture depends on (not the data)."""
        lines = tuple(line._replace(series=None) for line in self.defn.lines)
        labels = tuple(log.label for log in self.board) if len(self.board) > 1 else ()
        return (self.defn.title, self.defn.role, lines, labels, _view_key(self.view, self.defn.title))

    def derived(self, plain: bool = True) -> Derived:
        """The traces and what the header says about them. They hold copies of whole series, so one
        is kept per chart, and only while the snapshots it came from live: an unchanged chart gets
        its header and picture from their own caches, without them."""
        alive, inputs = self._inputs()
        snaps = list({id(log.snapshot): log.snapshot for log in self.board}.values())
        key = (self._key(), inputs, tuple(id(s) for s in snaps))
        slot = ("traces", self.defn.title, self.defn.role, plain)
        return latest(slot, alive + snaps, key, lambda: Derived(*self.traces(plain)))

    def header(self, plain: bool = True) -> tuple[str, str, tuple[Entry, ...]]:
        """The x unit, the notes on zoom and scale, the legend: cached on this chart's inputs."""
        alive, inputs = self._inputs()

        def compute() -> tuple[str, str, tuple[Entry, ...]]:
            d = self.derived(plain)
            return d.unit, d.notes, d.legend

        return latest(("header", self._key(), plain), alive, inputs, compute)

    def picture(self, width: int, height: int, plain: bool = True) -> Picture:
        """The derived chart, cached on (this chart's inputs, the view options, the size)."""
        alive, inputs = self._inputs()

        def build() -> Picture:
            d = self.derived(plain)
            fig = plot.figure(d.traces, width, height, axes=d.axes, ascii=self.view.ascii)
            text = ""
            if fig is not None:
                # new data that plotext would draw the same (a point on pixels already drawn): no build
                slot = ("plot", self._key(), width, height, plain)
                text = latest(slot, (), fig.key, functools.partial(plot.draw, fig))
            return Picture(d.unit, d.notes, d.legend, text)

        return latest(("chart", self._key(), width, height, plain), alive, inputs, build)

    def legend_text(self, legend: Sequence[Entry]) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis", end="")
        for k, entry in enumerate(legend):
            if k:
                out.append("  ")
            glyph = entry.marker if len(entry.marker) == 1 else GLYPHS.get(entry.marker, "*")
            out.append(glyph * 2, style=Style(color=RichColor.from_ansi(entry.color)))
            out.append(" " + clean(entry.label, 40))
        return out

    def render_lines(self, console: Console, width: int, height: int) -> Lines:
        """Exactly `height` lines of exactly `width` cells: the title (and legend, when it fits there),
        the legend on a row of its own otherwise, then the plot."""
        plain = console.no_color or console.color_system is None
        unit, notes, entries = self.header(plain)
        key: tuple[object, ...] = (self.defn.title, self.focused, self.view.ascii, unit, notes, entries)
        key += (width, height >= 4, console.color_system, console.no_color)
        got = _HEADS.get(key)
        if got is None:
            got = self._head_lines(console, width, height, unit, notes, entries)
            if len(_HEADS) >= 256:
                _HEADS.clear()
            _HEADS[key] = got
        own_row, head_lines = got
        pic = self.picture(width, max(1, height - (2 if own_row and height >= 4 else 1)), plain)
        lines: Lines = [list(line) for line in head_lines]
        body_h = height - len(lines)
        if body_h < 1:
            return lines[:height]
        if not pic.text:
            msg = Text("no finite values yet", style="dim", end="")
            blank: list[Segment] = [Segment(" " * width)]
            body = [list(blank) for _ in range(body_h)]
            body[body_h // 2] = _fit(list(msg.render(console)), width, center=True)
            return lines + body
        lines.extend(list(line) for line in _decoded(console, pic.text, width, body_h))
        while len(lines) < height:
            lines.append([Segment(" " * width)])
        return lines

    def _title(self) -> Text:
        style = "bold reverse" if self.focused else "bold"
        if self.focused and self.view.ascii:
            return Text(
                "> " + clean(self.defn.title, 78), style=style, no_wrap=True, overflow="ellipsis", end=""
            )
        return Text(clean(self.defn.title, 80), style=style, no_wrap=True, overflow="ellipsis", end="")

    @staticmethod
    def _right(unit: str, notes: str) -> Text:
        return Text(f"x: {unit}" + (f" · {notes}" if notes else ""), style="dim")

    def _head_lines(
        self, console: Console, width: int, height: int, unit: str, notes: str, entries: tuple[Entry, ...]
    ) -> tuple[bool, tuple[tuple[Segment, ...], ...]]:
        """(whether the legend has a row of its own, the title row (with the legend when it fits, and
        the x unit on the right) and that legend row): kept in `_HEADS`, as they change far less
        often than frames."""
        title, right, legend = self._title(), self._right(unit, notes), self.legend_text(entries)
        own_row = bool(entries) and title.cell_len + legend.cell_len + right.cell_len + 4 > width
        head = title.copy()
        if entries and not own_row:
            head.append("  ")
            head.append_text(legend)
        if head.cell_len + right.cell_len + 2 <= width:
            head.append(" " * (width - head.cell_len - right.cell_len))
            head.append_text(right)
        lines = [tuple(_fit(list(head.render(console)), width))]
        if own_row and height >= 4:
            legend.truncate(width, overflow="ellipsis")
            lines.append(tuple(_fit(list(legend.render(console)), width)))
        return own_row, tuple(lines)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or DEFAULT_HEIGHT
        for line in self.render_lines(console, options.max_width, height):
            yield from line
            yield Segment.line()


def _fit(line: list[Segment], width: int, center: bool = False) -> list[Segment]:
    """`line` cropped or padded to exactly `width` cells (centred when asked)."""
    length = Segment.get_line_length(line)
    if center and length < width:
        line = [Segment(" " * ((width - length) // 2))] + line
    return Segment.adjust_line_length(line, width)
