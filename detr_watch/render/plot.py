"""The only plotext import: line charts as text, one figure at a time.

Traces arrive already derived (runs, smoothing, zoom: `curves.py`); here each is cut at its NaN gaps
and decimated to min/max per column (plotext raises on Inf, and the cost of a chart grows with its
points). The result is plotext's ANSI text, which `render.chart` reads into rich segments, so a
console without colours gets plain text.

`figure` says what a chart looks like before it is drawn: its `key` is the same for two figures
exactly when plotext would draw the same characters (the pixels each line covers, the tick labels
and where they go), so a chart whose new point lands on pixels already drawn, or a flat lr that just
got longer, is not drawn again (`render.chart` keeps the pictures).

The pixels the key is made of are also what a chart without a legend (every chart of the live view,
linear or log y) is drawn from: `_draw_here` puts plotext's picture together from them in numpy and
a few list operations, ~1 ms where plotext's build takes 6-20 ms, and the tests hold its text to
plotext's, code for code. plotext builds the rest (a legend in the plot) and remains the reference:
it keeps one global figure, so a build happens under `_LOCK` on a cleared main figure (clearing a
subplot would leave data piling up in the others).
"""

from __future__ import annotations

import math
import threading
from typing import NamedTuple, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt
import plotext as plt
from plotext import _utility as ut

from detr_watch.analysis import FloatArray, decimate_minmax, group_starts
from detr_watch.errors import DetrWatchError
from detr_watch.text import clean

if not str(getattr(plt, "__version__", "")).startswith("5."):
    # 6.x is a rewrite without plot/plotsize/build that aborts the interpreter on NaN.
    raise DetrWatchError(
        f"plotext {getattr(plt, '__version__', '?')} is installed; detr-watch needs plotext 5.x",
        "pip install 'plotext>=5.3,<6'",
    )

_LOCK = threading.Lock()
_STATS = {"builds": 0, "plotext": 0}
MAX_SEGMENTS = 200  # gaps beyond this many (log scale over a sign-changing series) are joined

# plotext's frame and tick characters, and what they become in ASCII mode.
_ASCII = str.maketrans(
    {
        "─": "-",
        "│": "|",
        "┌": "+",
        "┐": "+",
        "└": "+",
        "┘": "+",
        "┤": "+",
        "├": "+",
        "┬": "+",
        "┴": "+",
        "┼": "+",
    }
)

Color = Union[str, int]  # a plotext colour name or a 256-colour index


class Trace(NamedTuple):
    """One line of a chart. NaN in `y` is a gap; a trace without a label stays out of the legend."""

    x: FloatArray
    y: FloatArray
    label: Optional[str]
    color: Color
    marker: str  # a plotext marker name ("braille", "hd", ...) or one character


class Axes(NamedTuple):
    log_y: bool = False
    ylim: Optional[tuple[float, float]] = None


LINEAR = Axes()


def segments(x: FloatArray, y: FloatArray) -> list[tuple[FloatArray, FloatArray]]:
    """The finite stretches of a line, split where y is NaN (a gap); +-Inf points are dropped."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.all():  # the usual line, which `curves` made finite: no copy
        return [(x, y)] if x.shape[0] else []
    gap = np.isnan(y)
    if not gap.any():
        return [(x[keep], y[keep])] if keep.any() else []
    # a run of kept points between gaps is one segment; starts where a kept point follows a gap
    seg_id = np.cumsum(gap)
    out = []
    for k in np.unique(seg_id[keep]).tolist():
        sel = keep & (seg_id == k)
        out.append((x[sel], y[sel]))
    if len(out) > MAX_SEGMENTS:
        return [(x[keep], y[keep])]
    return out


def prepare(trace: Trace, width: int) -> list[tuple[FloatArray, FloatArray]]:
    """The points plotext gets for `trace` in a plot `width` characters wide: finite, per segment,
    decimated to min/max per column (each segment gets the columns its x extent covers)."""
    segs = segments(trace.x, trace.y)
    if not segs:
        return []
    extents = [(float(sx.min()), float(sx.max())) for sx, _ in segs]
    lo = min(a for a, _ in extents)
    span = max(b for _, b in extents) - lo
    out = []
    for (sx, sy), (a, b) in zip(segs, extents):
        share = (b - a) / span if span > 0 else 1.0
        # Min and max per character column keeps every spike; finer buckets (one per braille dot
        # column) would double plotext's build time for no visible difference.
        out.append(decimate_minmax(sx, sy, max(1, round(width * share)), finite=True))
    return out


Prepared = list[tuple[Trace, list[tuple[FloatArray, FloatArray]]]]


class Canvas(NamedTuple):
    """Where plotext puts a chart's lines: the data limits (of log10(y) on a log scale), the size of
    the area inside the axes in characters, per trace the pixels each of its segments covers
    (`line_pixels`), and the y tick labels."""

    xlim: tuple[float, float]
    ylim: tuple[float, float]  # of log10(y) on a log scale, as plotext has them
    width: int
    height: int
    pixels: list[list[npt.NDArray[np.int64]]]
    ylabels: list[str]


class Figure(NamedTuple):
    """A chart as plotext will get it. Figures with equal keys are drawn as the same text."""

    prepared: Prepared
    width: int
    height: int
    axes: Axes
    ascii: bool
    xticks: Optional[tuple[list[float], list[str]]]
    key: tuple[object, ...]
    canvas: Optional[Canvas] = None  # the pixels plotext would draw: `draw` uses them


def plot(
    traces: Sequence[Trace], width: int, height: int, *, axes: Axes = LINEAR, ascii: bool = False
) -> str:
    """The chart as ANSI text of `height` lines of `width` characters; "" when no trace has a finite
    point. Not cached here: callers cache whole charts (`render.chart`)."""
    fig = figure(traces, width, height, axes=axes, ascii=ascii)
    return draw(fig) if fig is not None else ""


def figure(
    traces: Sequence[Trace], width: int, height: int, *, axes: Axes = LINEAR, ascii: bool = False
) -> Optional[Figure]:
    """What plotext gets for these traces at this size, and the key of the picture it will draw;
    None when no trace has a finite point (nothing to draw)."""
    prepared = [(t, prepare(t, width)) for t in traces]
    prepared = [p for p in prepared if p[1]]
    if width < 1 or height < 1 or not prepared:
        return None
    if axes.ylim is not None:
        # What lies beyond the range is drawn at its edge: plotext draws a line to a far-off point
        # pixel by pixel, so a 1e20 spike outside the range would take it minutes.
        lo, hi = axes.ylim
        prepared = [(t, [(x, np.clip(y, lo, hi)) for x, y in segs]) for t, segs in prepared]
    xs = np.concatenate([x for _, segs in prepared for x, _ in segs])
    xticks = None
    if np.all(xs == np.round(xs)):
        ticks = integer_ticks(float(xs.min()), float(xs.max()), max(2, width // 10))
        xticks = (ticks, [tick_label(t) for t in ticks])
    key, canvas = _picture_key(prepared, width, height, axes, xticks)
    if key is None:  # what plotext gets, exactly: the same input draws the same picture
        key = (
            "input",
            width,
            height,
            axes,
            xticks,
            tuple(
                (t.label, t.color, t.marker, tuple((x.tobytes(), y.tobytes()) for x, y in segs))
                for t, segs in prepared
            ),
        )
    return Figure(prepared, width, height, axes, ascii, xticks, (ascii, *key), canvas)


def _lim(values: FloatArray) -> tuple[float, float]:
    """plotext's axis limits of the data (`ut.get_lim`)."""
    m, big = float(values.min()), float(values.max())
    if m != big:
        return m, big
    return (0.5 * m, 1.5 * m) if m != 0 else (-1.0, 1.0)


_E8 = 10**8
_E_8 = 10 ** (-8)


def matrix_data(
    data: FloatArray, lim: tuple[float, float], bins: Union[int, npt.NDArray[np.int64]]
) -> npt.NDArray[np.int64]:
    """plotext's `ut.get_matrix_data` (value -> pixel) with the same float operations, in numpy."""
    change = 0.5 + (bins - 1) * (data - lim[0]) / (lim[1] - lim[0])
    n = change * _E8  # plotext's own round(., 8): halves go up
    f = np.floor(n)
    r = np.where(n - f < 0.5, f, np.ceil(n))
    return np.floor(r * _E_8).astype(np.int64)


def line_pixels(px: npt.NDArray[np.int64], py: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The pixels plotext's `ut.get_lines` covers joining these points (as x * 2**32 + y, sorted,
    unique): each segment is the first `a - 1` of `a = max(|dx|, |dy|) + 1` points of `linspace`,
    truncated, and the line's last point ends it."""
    dx, dy = px[1:] - px[:-1], py[1:] - py[:-1]  # np.diff's own overhead is 10 us a call
    xs, ys, _ = _joins(px, py, dx, dy, np.maximum(np.abs(dx), np.abs(dy)))
    return _first_of_each(np.concatenate([xs * 2**32 + ys, px[-1:] * 2**32 + py[-1:]]))


def _joins(
    px: npt.NDArray[np.int64],
    py: npt.NDArray[np.int64],
    dx: npt.NDArray[np.int64],
    dy: npt.NDArray[np.int64],
    k: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """The pixels from each point to the next but the next itself: `k[j]` of them from point j
    (`max(|dx|, |dy|)`, or 0 for no line), as plotext's `linspace` and `int()` place them; and the
    point each pixel starts from."""
    src = np.arange(k.shape[0]).repeat(k)
    i = (np.arange(src.shape[0]) - (np.cumsum(k) - k).repeat(k)).astype(np.float64)
    div = np.maximum(k, 1).astype(np.float64)
    sx = np.where(k > 0, dx / div, 0.0)
    sy = np.where(k > 0, dy / div, 0.0)
    xs = np.trunc(px[:-1][src] + i * sx[src]).astype(np.int64)
    ys = np.trunc(py[:-1][src] + i * sy[src]).astype(np.int64)
    return xs, ys, src


def _first_of_each(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """`codes` sorted and unique: np.unique's result without np.unique (its first call imports
    numpy.ma: 16 ms)."""
    codes.sort()
    first = np.ones(codes.shape[0], dtype=bool)
    first[1:] = codes[1:] != codes[:-1]
    return codes[first]


def lines_pixels(
    px: npt.NDArray[np.int64], py: npt.NDArray[np.int64], starts: npt.NDArray[np.int64]
) -> list[npt.NDArray[np.int64]]:
    """`line_pixels` of each segment of these points (segment i starts at `starts[i]`), in one pass:
    the joins between segments are left out, and each segment's pixels come out on their own."""
    n = px.shape[0]
    if n == 0 or starts.shape[0] >= _SEGS or max(int(np.abs(px).max()), int(np.abs(py).max())) >= _OFF:
        bounds = [*starts.tolist(), n]
        return [line_pixels(px[a:b], py[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    ends = np.empty_like(starts)  # each segment's last point
    ends[:-1] = starts[1:] - 1
    ends[-1:] = n - 1
    dx, dy = px[1:] - px[:-1], py[1:] - py[:-1]
    k = np.maximum(np.abs(dx), np.abs(dy))
    k[ends[:-1]] = 0  # from the last point of a segment to the first of the next: no line
    xs, ys, src = _joins(px, py, dx, dy, k)
    xs = np.concatenate([xs, px[ends]])
    ys = np.concatenate([ys, py[ends]])
    seg = np.concatenate([np.searchsorted(starts, src, side="right"), np.arange(1, starts.shape[0] + 1)])
    # sorted by segment, then as line_pixels sorts (x, then y); pixels sit well inside +-2**24
    codes = _first_of_each((seg << 50) | ((xs + _OFF) << 25) | (ys + _OFF))
    cuts = np.searchsorted(codes, np.arange(1, starts.shape[0] + 1) << 50)
    x = ((codes >> 25) & _MASK) - _OFF
    y = (codes & _MASK) - _OFF
    out = x * 2**32 + y
    return [out[a:b] for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist())] + [out[cuts[-1] :]]


_OFF = 2**24
_MASK = 2**25 - 1
_SEGS = 2**12  # segment numbers stay below 2**13: seg << 50 within int64


def _picture_key(
    prepared: Prepared,
    width: int,
    height: int,
    axes: Axes,
    xticks: Optional[tuple[list[float], list[str]]],
) -> tuple[Optional[tuple[object, ...]], Optional[Canvas]]:
    """What plotext 5's `build_plot` puts on the screen for a chart: the y tick labels and
    their rows, the x tick labels and their columns, and per line (a segment is a line of its own)
    its colour, marker and the pixels it covers; and those pixels. (None, None) when the canvas
    would be empty."""
    ys = np.concatenate([y for _, segs in prepared for _, y in segs])
    xs = np.concatenate([x for _, segs in prepared for x, _ in segs])
    limits = axes.ylim
    if (
        axes.log_y
    ):  # plotext's `apply_scale`, math.log10 a value at a time (numpy's may differ in the last bit)
        if not np.all(ys > 0):
            return None, None
        ys = np.array([math.log10(v) for v in ys.tolist()])
        limits = None if limits is None else (math.log10(limits[0]), math.log10(limits[1]))
    ylim = (min(limits), max(limits)) if limits is not None else _lim(ys)
    xlim = _lim(xs)
    yticks = ut.linspace(*ylim, 7)  # plotext's default y frequency
    ylabels = ut.add_extra_spaces(ut.get_labels(ut.reverse_scale(yticks, axes.log_y)), "left")
    width_canvas = width - 2 - ut.max_length(ylabels)  # two y axes and the labels on the left
    height_canvas = height - 3  # two x axes and the labels below
    if width_canvas < 1 or height_canvas < 1:
        return None, None
    if xticks is not None:
        xt, xl = xticks
    else:
        xt = ut.linspace(*xlim, 5)  # plotext's default x frequency
        xl = ut.get_labels(xt)
    # every segment of every line at once: per-point bins (a marker's dots per character) and one
    # pass of `lines_pixels`, which is the per-segment `line_pixels` (a numpy call costs ~5 us)
    markers = [_marker(trace.marker) for trace, _ in prepared]
    seg_sizes = [x.shape[0] for _, segs in prepared for x, _ in segs]
    fx = np.repeat(
        [ut.marker_factor(m, 2, 2, 2) for m, (_, segs) in zip(markers, prepared) for _ in segs], seg_sizes
    )
    fy = np.repeat(
        [ut.marker_factor(m, 2, 3, 4) for m, (_, segs) in zip(markers, prepared) for _ in segs], seg_sizes
    )
    starts = np.cumsum([0] + seg_sizes[:-1])
    covered_all = lines_pixels(
        matrix_data(xs, xlim, width_canvas * fx), matrix_data(ys, ylim, height_canvas * fy), starts
    )
    lines: list[tuple[object, ...]] = []
    pixels = []
    k = 0
    for (trace, segs), marker in zip(prepared, markers):
        covered = covered_all[k : k + len(segs)]
        k += len(segs)
        lines.extend((trace.color, marker, trace.label, c.tobytes()) for c in covered)
        pixels.append(covered)
    key = (
        "pixels",
        width,
        height,
        tuple(ylabels),
        tuple(ut.get_matrix_data(yticks, ylim, height_canvas)),
        tuple(xl),
        tuple(ut.get_matrix_data(xt, xlim, width_canvas)),
        tuple(lines),
    )
    return key, Canvas(xlim, ylim, width_canvas, height_canvas, pixels, ylabels)


def _marker(name: str) -> str:
    """plotext's `check_marker`: a marker name ("braille", "hd", "dot", ...) or its first character."""
    marker = str(ut.marker_codes.get(name, name))
    return marker if marker in ut.hd_symbols else marker[0]


def draw(fig: Figure) -> str:
    """plotext's text of `fig`: drawn here (`_draw_here`) when it has no legend in the plot (every
    chart of the live view), by plotext otherwise."""
    text = _draw_here(fig) if fig.canvas is not None else None
    with _LOCK:
        _STATS["builds"] += 1
        return text if text is not None else _build(fig)


def draw_plotext(fig: Figure) -> str:
    """plotext's text of `fig`, drawn by plotext (what `draw` must equal, character for character)."""
    with _LOCK:
        return _build(fig)


def _build(fig: Figure) -> str:
    """Called under _LOCK."""
    _STATS["plotext"] += 1
    axes = fig.axes
    plt.main()  # left clear by the last build
    try:
        plt.limitsize(False, False)  # after clf (which resets it) and before plotsize
        plt.plotsize(fig.width, fig.height)
        plt.theme("clear")
        for trace, segs in fig.prepared:
            # plotext wants plain lists; a label with no data raises, so empty traces were dropped above
            label = clean(trace.label, 40) if trace.label else None
            for i, (x, y) in enumerate(segs):
                first = label if i == 0 else None
                plt.plot(x.tolist(), y.tolist(), label=first, color=trace.color, marker=trace.marker)
        if axes.log_y:
            plt.yscale("log")
        if axes.ylim is not None:
            # on a log scale plotext takes the limits as powers of ten
            plt.ylim(*(math.log10(v) for v in axes.ylim) if axes.log_y else axes.ylim)
        if fig.xticks is not None:
            plt.xticks(*fig.xticks)
        text = str(plt.build())
    finally:
        plt.clf()  # leave no data behind in the global figure, even when plotext raised
    text = text.rstrip("\n")
    if fig.ascii:
        text = text.translate(_ASCII)
    return text


def _draw_here(fig: Figure) -> Optional[str]:
    """What plotext 5's `build_plot` and `set_canvas` make of a chart (linear or log y) with the
    "clear" theme and no legend, drawn from the pixels the figure's key was computed from; None for
    a chart with a legend (plotext draws it). plotext spends ~4 ms a chart on its frame and ~15 us
    a pixel joining and packing points in Python: here the lines are numpy (`line_pixels`,
    `_cells`) and the frame a few list operations, about 1 ms a chart. Each step below is the
    plotext step of the same name, with plotext's own helpers for labels, tick positions and colour
    codes; the tests hold the text to plotext's for hundreds of random charts."""
    canvas = fig.canvas
    if canvas is None or any(t.label for t, _ in fig.prepared):
        return None
    width, height = fig.width, fig.height
    xlim, ylim = canvas.xlim, canvas.ylim
    yticks = ut.linspace(*ylim, 7)
    ylabels = canvas.ylabels
    if fig.xticks is not None:  # plt.xticks: labels as strings, pairs through a set (`ut.brush`)
        xticks, xlabels = ut.brush(list(fig.xticks[0]), [str(v) for v in fig.xticks[1]])
    else:
        xticks = ut.linspace(*xlim, 5)
        xlabels = ut.get_labels(xticks)
    width_ylabels = ut.max_length(ylabels)
    height_xlabels = 1 if xlabels else 0
    width_canvas = width - 2 - width_ylabels
    height_canvas = height - 2 - height_xlabels
    if (width_canvas, height_canvas) != (canvas.width, canvas.height):
        return None
    col_start, row_start = width_ylabels + 1, height_xlabels + 1
    col_end, row_end = col_start + width_canvas, row_start + height_canvas
    grid = [[" "] * width for _ in range(height)]  # row 0 is the bottom, as in plotext
    paint: list[list[Color]] = [[ut.no_color] * width for _ in range(height)]

    def put(col: int, row: int, char: str) -> None:
        if 0 <= col < width and 0 <= row < height:
            grid[row][col] = char

    # Add Lower X Ticks: a label that would touch another is left out, and so is its tick
    cticks = ut.get_matrix_data(xticks, xlim, width_canvas)
    row_xticks = min(row_start - 2, height - 1)
    inserted = []
    for c, label in zip(cticks, xlabels):
        tick_row = grid[row_xticks]
        col = ut.correct_coord(tick_row, label, col_start + c)
        b, e = max(col - 1, 0), min(col + len(label) + 1, width)
        if all(tick_row[k] == " " for k in range(b, e)) and col >= 0 and col + len(label) <= width:
            tick_row[col : col + len(label)] = label
            inserted.append(c)
    # Add Upper X Axes
    for i in range(width_canvas):
        put(col_start + i, row_end, "─")
    # Add Left Y Ticks
    rticks = ut.get_matrix_data(yticks, ylim, height_canvas)
    for r, label in zip(rticks, ylabels):
        for i, char in enumerate(label):
            put(i, r + row_start, char)
    # Add Left Y Axis, Right Y Axis
    for i in range(height_canvas):
        put(width_ylabels, row_start + i, "┤" if i in rticks else "│")
        if width >= width_ylabels + 2:
            put(col_end, row_start + i, "│")
    # Add Frame 4 Corners
    put(col_start - 1, row_start - 1, "└")
    put(col_end, row_start - 1, "┘")
    put(col_start - 1, row_end, "┌")
    put(col_end, row_end, "┐")
    # Add Lower X Axes
    for i in range(width_canvas):
        put(col_start + i, row_start - 1, "┬" if i in inserted else "─")
    # Add Data to Canvas: a segment at a time, each cell taking the last character put there
    for (trace, _), covered in zip(fig.prepared, canvas.pixels):
        m = _marker(trace.marker)
        fx, fy = ut.marker_factor(m, 2, 2, 2), ut.marker_factor(m, 2, 3, 4)
        for codes in covered:
            px, py = codes >> 32, codes - ((codes >> 32) << 32)
            inside = (px >= 0) & (px < width_canvas * fx) & (py >= 0) & (py < height_canvas * fy)
            cx, cy, chars = _cells(px[inside], py[inside], m, fx, fy)
            for col, row, char in zip(cx, cy, chars):
                grid[row + row_start][col + col_start] = char
                paint[row + row_start][col + col_start] = trace.color
    # set_canvas: top row first, a colour code before each run of one colour and a reset after it
    out = []
    for row in range(height - 1, -1, -1):
        line, colors = grid[row], paint[row]
        start = 0
        for col in range(1, width + 1):
            if col == width or colors[col] != colors[start]:
                out.append(ut.colors_to_ansi(colors[start], ut.no_color, ut.no_color))
                out.append("".join(line[start:col]))
                out.append(ut.ansi_end)
                start = col
        out.append("\n")
    text = "".join(out).rstrip("\n")
    return text.translate(_ASCII) if fig.ascii else text


_HD_CHARS: dict[tuple[int, int, int], str] = {}


def _cells(
    px: npt.NDArray[np.int64], py: npt.NDArray[np.int64], marker: str, fx: int, fy: int
) -> tuple[list[int], list[int], list[str]]:
    """The character cells of these pixels and plotext's character for each (`ut.hd_group`): a
    high-definition marker packs fx x fy pixels into one block or braille character."""
    if fx == fy == 1:
        return px.tolist(), py.tolist(), [marker] * px.shape[0]
    # bit of each pixel in plotext's code: rows top down, each left to right
    bit = np.left_shift(1, (fy - 1 - py % fy) * fx + px % fx)
    cell = (px // fx) * 2**32 + py // fy
    order = np.argsort(cell, kind="stable")
    cell, bit = cell[order], bit[order]
    start = group_starts(cell)
    masks = np.bitwise_or.reduceat(bit, start).tolist() if start.shape[0] else []
    cells = cell[start]
    chars = []
    for m in masks:
        ch = _HD_CHARS.get((fx, fy, m))
        if ch is None:
            code = tuple((m >> k) & 1 for k in range(fx * fy))
            ch = _HD_CHARS[(fx, fy, m)] = ut.get_hd_marker(code)
        chars.append(ch)
    return (cells >> 32).tolist(), (cells - ((cells >> 32) << 32)).tolist(), chars


def integer_ticks(lo: float, hi: float, max_ticks: int) -> list[float]:
    """Round tick positions for an epoch or iteration axis: multiples of 1, 2 or 5 x 10^k."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(1, max_ticks - 1)
    step = 1.0
    while step < raw:
        for m in (2.0, 2.5, 2.0):  # 1 -> 2 -> 5 -> 10 -> 20 ...
            step *= m
            if step >= raw:
                break
    first = math.ceil(lo / step) * step
    count = int((hi - first) // step) + 1
    return [first + i * step for i in range(count)]


def tick_label(t: float) -> str:
    """12, 2500, 120k, 1.5M: short enough to sit under a tick."""
    a = abs(t)
    if a >= 1e6 and t % 1e5 == 0:
        return f"{t / 1e6:g}M"
    if a >= 1e4 and t % 100 == 0:
        return f"{t / 1e3:g}k"
    return f"{t:.0f}"


def figure_is_empty() -> bool:
    """Whether plotext's global figure holds no data (it is cleared after every chart)."""
    with _LOCK:
        fig = plt.main()
        return not fig.monitor.x and bool(fig._no_plots)


def cache_stats() -> dict[str, int]:
    """How many charts were drawn (`builds`) and how many of them by plotext (`plotext`) since
    start (for tests and benchmarks)."""
    with _LOCK:
        return dict(_STATS)
