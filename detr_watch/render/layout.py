"""Putting blocks of exact size side by side and one under another (lines of segments)."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

from detr_watch.render.chart import Chart, Lines
from detr_watch.text import clean

MIN_CHART_HEIGHT = 8
MIN_CHART_WIDTH = 45  # two columns from 2 * 45 + 1 cells
GUTTER = 1


def blank(width: int, height: int) -> Lines:
    return [[Segment(" " * width)] for _ in range(height)]


def hjoin(left: Lines, right: Lines, gutter: int) -> Lines:
    pad = [Segment(" " * gutter)] if gutter else []
    return [a + pad + b for a, b in zip(left, right)]


def split(total: int, parts: int, gutter: int = 0) -> list[int]:
    """`parts` sizes adding up to `total` minus the gutters, the larger ones first."""
    usable = total - gutter * (parts - 1)
    base, extra = divmod(usable, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def block(
    console: Console, options: ConsoleOptions, renderable: RenderableType, width: int, height: int
) -> Lines:
    """`renderable` in exactly `height` lines of `width` cells."""
    if height <= 0:
        return []
    return console.render_lines(renderable, options.update_dimensions(width, height), pad=True)


def chart_block(console: Console, options: ConsoleOptions, chart: Chart, width: int, height: int) -> Lines:
    try:
        return chart.render_lines(console, width, height)
    except Exception as exc:  # noqa: BLE001 - one bad chart must not take the monitor down; say why
        msg = Text(clean(f"{chart.defn.title}: cannot draw: {type(exc).__name__}: {exc}", 200), style="red")
        return block(console, options, msg, width, height)


def columns_for(width: int) -> int:
    return 2 if width >= 2 * MIN_CHART_WIDTH + GUTTER else 1


def per_page(width: int, height: int) -> int:
    """How many charts fit in `width` x `height`."""
    return max(1, height // MIN_CHART_HEIGHT) * columns_for(width)


def grid(console: Console, options: ConsoleOptions, charts: list[Chart], width: int, height: int) -> Lines:
    """`charts` (at most `per_page`) in rows of one or two, filling exactly width x height."""
    if height <= 0:
        return []
    if not charts:
        return blank(width, height)
    cols = min(columns_for(width), len(charts))
    rows = -(-len(charts) // cols)
    out: Lines = []
    for r, row_h in enumerate(split(height, rows)):
        row = charts[r * cols : (r + 1) * cols]
        widths = split(width, cols, GUTTER)
        lines = chart_block(console, options, row[0], widths[0], row_h)
        for i in range(1, cols):
            right = (
                chart_block(console, options, row[i], widths[i], row_h)
                if i < len(row)
                else blank(widths[i], row_h)
            )
            lines = hjoin(lines, right, GUTTER)
        out.extend(lines)
    return out
