"""A chart of one role: title row, then the plotext picture of its train/test/val lines."""

from __future__ import annotations

import functools

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text

from detr_watch.render import plot
from detr_watch.render.history import run_starts
from detr_watch.roles import ChartSpec, parse_name
from detr_watch.store import Snapshot
from detr_watch.text import clean
from detr_watch.view import View

# Colours follow the split, so "test" has the same colour on every chart.
COLORS = {"train": "cyan", "test": "orange", "val": "magenta", "ema_test": "green"}
# Markers follow the position, so lines stay apart where there is no colour (pipes, NO_COLOR).
MARKERS = ("braille", "hd", "dot", "x")
ASCII_MARKERS = ("*", "o", "x", "+")
DEFAULT_HEIGHT = 12

Lines = list[list[Segment]]


class _Decoded:
    """plotext's ANSI text as lines of segments, cached with the text: decoding it costs more than
    the rest of a frame. Segments of `Text.from_ansi` hold only `Style` objects, so they do not
    depend on the console they were rendered with."""

    def __init__(self) -> None:
        self._lines = functools.lru_cache(maxsize=64)(self._decode)
        self._console: Console | None = None

    def _decode(self, text: str, width: int, height: int) -> tuple[tuple[Segment, ...], ...]:
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


class Chart:
    """A chart for `spec` from `snapshot`; it sizes itself from the options it is rendered with."""

    def __init__(self, spec: ChartSpec, snapshot: Snapshot, view: View) -> None:
        self.spec = spec
        self.snapshot = snapshot
        self.view = view

    def plot_lines(self) -> list[plot.PlotLine]:
        markers = ASCII_MARKERS if self.view.ascii else MARKERS
        starts = run_starts(self.snapshot, self.axis())
        out: list[plot.PlotLine] = []
        for name, label in self.spec.lines:
            series = self.snapshot.series.get(name)
            if series is None or len(series) == 0:
                continue
            color = COLORS.get(parse_name(name).split, "cyan")
            marker = markers[len(out) % len(markers)]
            line = plot.PlotLine(series.steps, series.values, label, color, marker, series.runs, starts)
            out.append(line)
        return out

    def axis(self) -> str:
        if self.spec.axis:
            return self.spec.axis
        for name, _ in self.spec.lines:
            series = self.snapshot.series.get(name)
            if series is not None:
                return series.axis
        return self.snapshot.axis

    def render_lines(self, console: Console, width: int, height: int) -> Lines:
        """Exactly `height` lines of exactly `width` cells."""
        title = Text(clean(self.spec.title, 80), style="bold", no_wrap=True, overflow="ellipsis", end="")
        x_label = f"x: {self.axis()}"
        if title.cell_len + len(x_label) + 2 <= width:
            title.append(" " * (width - title.cell_len - len(x_label)))
            title.append(x_label, style="dim")
        lines: Lines = [_fit(list(title.render(console)), width)]
        body_h = height - 1
        if body_h < 1:
            return lines[:height]
        text = plot.plot(self.plot_lines(), width, body_h, ascii=self.view.ascii)
        if not text:
            msg = Text("no finite values yet", style="dim", end="")
            blank: list[Segment] = [Segment(" " * width)]
            body = [list(blank) for _ in range(body_h)]
            body[body_h // 2] = _fit(list(msg.render(console)), width, center=True)
            return lines + body
        lines.extend(list(line) for line in _decoded(console, text, width, body_h))
        while len(lines) < height:
            lines.append([Segment(" " * width)])
        return lines

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
