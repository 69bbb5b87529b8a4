"""The only plotext import: line charts as text, one figure at a time, cached.

plotext 5.x keeps one global figure, so every chart is drawn under `_LOCK` on a cleared main figure
(clearing a subplot would leave data piling up in the others). Traces arrive already derived (runs,
smoothing, zoom: `curves.py`); here each is cut at its NaN gaps and decimated to min/max per column
*before* plotext sees it (plotext raises on Inf, and its build time grows with the points). The
result is plotext's ANSI text; rich decodes it (`Text.from_ansi`), so a console without colours gets
plain text.

Nothing is cached here, but `figure` says what a chart would look like before plotext draws it: its
`key` is the same for two figures exactly when plotext would draw the same characters (the pixels each
line covers, the tick labels and where they go), so a chart whose new point lands on pixels already
drawn, or a flat lr that just got longer, is not drawn again (`render.chart`).
"""

from __future__ import annotations

import math
import threading
from typing import NamedTuple, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt
import plotext as plt
from plotext import _utility as ut

from detr_watch.analysis import FloatArray, decimate_minmax
from detr_watch.errors import DetrWatchError
from detr_watch.text import clean

if not str(getattr(plt, "__version__", "")).startswith("5."):
    # 6.x is a rewrite without plot/plotsize/build that aborts the interpreter on NaN.
    raise DetrWatchError(
        f"plotext {getattr(plt, '__version__', '?')} is installed; detr-watch needs plotext 5.x",
        "pip install 'plotext>=5.3,<6'",
    )

_LOCK = threading.Lock()
_STATS = {"builds": 0}
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
    lo = min(float(s[0].min()) for s in segs)
    hi = max(float(s[0].max()) for s in segs)
    span = hi - lo
    out = []
    for sx, sy in segs:
        share = (float(sx.max()) - float(sx.min())) / span if span > 0 else 1.0
        # Min and max per character column keeps every spike; finer buckets (one per braille dot
        # column) would double plotext's build time for no visible difference.
        out.append(decimate_minmax(sx, sy, max(1, round(width * share))))
    return out


Prepared = list[tuple[Trace, list[tuple[FloatArray, FloatArray]]]]


class Figure(NamedTuple):
    """A chart as plotext will get it. Figures with equal keys are drawn as the same text."""

    prepared: Prepared
    width: int
    height: int
    axes: Axes
    ascii: bool
    xticks: Optional[tuple[list[float], list[str]]]
    key: tuple[object, ...]


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
    key = _picture_key(prepared, width, height, axes, xticks) if not axes.log_y else None
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
    return Figure(prepared, width, height, axes, ascii, xticks, (ascii, *key))


def _lim(values: FloatArray) -> tuple[float, float]:
    """plotext's axis limits of the data (`ut.get_lim`)."""
    m, big = float(values.min()), float(values.max())
    if m != big:
        return m, big
    return (0.5 * m, 1.5 * m) if m != 0 else (-1.0, 1.0)


_E8 = 10**8
_E_8 = 10 ** (-8)


def matrix_data(data: FloatArray, lim: tuple[float, float], bins: int) -> npt.NDArray[np.int64]:
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
    dx, dy = np.diff(px), np.diff(py)
    a = np.maximum(np.abs(dx), np.abs(dy)) + 1
    k = a - 1  # points each segment contributes
    seg = np.repeat(np.arange(k.shape[0]), k)
    i = (np.arange(seg.shape[0]) - np.repeat(np.cumsum(k) - k, k)).astype(np.float64)
    div = np.maximum(k, 1).astype(np.float64)
    sx = np.where(k > 0, dx / div, 0.0)
    sy = np.where(k > 0, dy / div, 0.0)
    xs = np.trunc(px[:-1][seg] + i * sx[seg]).astype(np.int64)
    ys = np.trunc(py[:-1][seg] + i * sy[seg]).astype(np.int64)
    codes = np.sort(np.concatenate([xs * 2**32 + ys, px[-1:] * 2**32 + py[-1:]]))
    # np.unique's result without np.unique (its first call imports numpy.ma: 16 ms)
    return codes[np.r_[True, codes[1:] != codes[:-1]]]


def _picture_key(
    prepared: Prepared,
    width: int,
    height: int,
    axes: Axes,
    xticks: Optional[tuple[list[float], list[str]]],
) -> Optional[tuple[object, ...]]:
    """What plotext 5's `build_plot` puts on the screen for a linear chart: the y tick labels and
    their rows, the x tick labels and their columns, and per line (a segment is a line of its own)
    its colour, marker and the pixels it covers. None when the canvas would be empty."""
    ys = np.concatenate([y for _, segs in prepared for _, y in segs])
    xs = np.concatenate([x for _, segs in prepared for x, _ in segs])
    ylim = (min(axes.ylim), max(axes.ylim)) if axes.ylim is not None else _lim(ys)
    xlim = _lim(xs)
    yticks = ut.linspace(*ylim, 7)  # plotext's default y frequency
    ylabels = ut.add_extra_spaces(ut.get_labels(yticks), "left")
    width_canvas = width - 2 - ut.max_length(ylabels)  # two y axes and the labels on the left
    height_canvas = height - 3  # two x axes and the labels below
    if width_canvas < 1 or height_canvas < 1:
        return None
    if xticks is not None:
        xt, xl = xticks
    else:
        xt = ut.linspace(*xlim, 5)  # plotext's default x frequency
        xl = ut.get_labels(xt)
    lines = []
    for trace, segs in prepared:
        marker = ut.marker_codes.get(trace.marker, trace.marker)  # plotext's check_marker
        marker = marker if marker in ut.hd_symbols else marker[0]
        fx, fy = ut.marker_factor(marker, 2, 2, 2), ut.marker_factor(marker, 2, 3, 4)
        for x, y in segs:
            px = matrix_data(x, xlim, width_canvas * fx)
            py = matrix_data(y, ylim, height_canvas * fy)
            lines.append((trace.color, marker, trace.label, line_pixels(px, py).tobytes()))
    return (
        "pixels",
        width,
        height,
        tuple(ylabels),
        tuple(ut.get_matrix_data(yticks, ylim, height_canvas)),
        tuple(xl),
        tuple(ut.get_matrix_data(xt, xlim, width_canvas)),
        tuple(lines),
    )


def draw(fig: Figure) -> str:
    """plotext's text of `fig`."""
    with _LOCK:
        return _build(fig)


def _build(fig: Figure) -> str:
    """Called under _LOCK."""
    _STATS["builds"] += 1
    axes = fig.axes
    plt.main()
    plt.clf()
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
    """How many plotext builds since start (for tests and benchmarks)."""
    with _LOCK:
        return dict(_STATS)
