"""The only plotext import: line charts as text, one figure at a time, cached.

plotext 5.x keeps one global figure, so every chart is drawn under `_LOCK` on a cleared main figure
(clearing a subplot would leave data piling up in the others). Lines are stitched across restarted
runs and decimated to min/max per column *before* plotext sees them, which also drops NaN/Inf
(plotext raises on Inf). The result is plotext's ANSI text; rich decodes it (`Text.from_ansi`), so a
console without colours gets plain text.

Charts are cached on (identity of the data arrays, size, style): the store's arrays never change
under a snapshot, so equal identities mean equal pictures and an unchanged frame costs nothing.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from typing import Any, NamedTuple, Optional, Sequence

import numpy as np
import plotext as plt

from detr_watch.analysis import FloatArray, decimate_minmax, stitch
from detr_watch.errors import DetrWatchError
from detr_watch.text import clean

if not str(getattr(plt, "__version__", "")).startswith("5."):
    # 6.x is a rewrite without plot/plotsize/build that aborts the interpreter on NaN.
    raise DetrWatchError(
        f"plotext {getattr(plt, '__version__', '?')} is installed; detr-watch needs plotext 5.x",
        "pip install 'plotext>=5.3,<6'",
    )

CACHE_SIZE = 64
_LOCK = threading.Lock()
_CACHE: OrderedDict[tuple[Any, ...], tuple[tuple[weakref.ref[Any], ...], str]] = OrderedDict()
_STATS = {"builds": 0, "hits": 0}

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


class PlotLine(NamedTuple):
    """One line of a chart. With `runs` (run of each point), restarted runs are stitched into one
    history; `run_starts` holds (run, first step) of the whole log (see `analysis.stitch`)."""

    steps: FloatArray
    values: FloatArray
    label: str
    color: str  # a plotext colour name
    marker: str  # a plotext marker name ("braille", "hd", ...) or one character
    runs: Optional[Any] = None
    run_starts: tuple[tuple[int, float], ...] = ()


def _identity(a: Any) -> tuple[tuple[int, int, int], Optional[weakref.ref[Any]]]:
    arr = np.asarray(a)
    base = arr
    while isinstance(base.base, np.ndarray):
        base = base.base
    try:
        ref: Optional[weakref.ref[Any]] = weakref.ref(base)
    except TypeError:
        ref = None
    return (id(base), int(arr.__array_interface__["data"][0]), int(arr.shape[0])), ref


def _key(
    lines: Sequence[PlotLine], width: int, height: int, style: tuple[Any, ...]
) -> tuple[tuple[Any, ...], tuple[weakref.ref[Any], ...]]:
    """The cache key of a chart, and weak references that tell whether its arrays are still alive."""
    parts: list[Any] = [width, height, style]
    refs: list[weakref.ref[Any]] = []
    for line in lines:
        for arr in (line.steps, line.values) + ((line.runs,) if line.runs is not None else ()):
            ident, ref = _identity(arr)
            if ref is None:
                raise TypeError("unweakrefable")
            parts.append(ident)
            refs.append(ref)
        parts.append((line.label, line.color, line.marker, line.runs is None, line.run_starts))
    return tuple(parts), tuple(refs)


def prepare(line: PlotLine, width: int) -> tuple[FloatArray, FloatArray]:
    """The points plotext gets for `line` in a plot `width` characters wide: stitched, finite, decimated."""
    x = np.asarray(line.steps, dtype=np.float64)
    y = np.asarray(line.values, dtype=np.float64)
    if line.runs is not None and x.shape[0]:
        keep = stitch(x, line.runs, dict(line.run_starts) if line.run_starts else None)
        if not keep.all():
            x, y = x[keep], y[keep]
    # Min and max per character column keeps every spike; finer buckets (one per braille dot
    # column) would double plotext's build time for no visible difference.
    return decimate_minmax(x, y, max(1, width))


def plot(lines: Sequence[PlotLine], width: int, height: int, *, ascii: bool = False) -> str:
    """The chart as ANSI text of `height` lines of `width` characters; "" when no line has a finite point."""
    if width < 1 or height < 1:
        return ""
    style = ("ascii" if ascii else "unicode",)
    key: Optional[tuple[Any, ...]]
    try:
        key, refs = _key(lines, width, height, style)
    except TypeError:  # an array that cannot be weakly referenced: draw it, do not cache it
        key, refs = None, ()
    with _LOCK:
        if key is not None:
            hit = _CACHE.get(key)
            if hit is not None and all(r() is not None for r in hit[0]):
                _CACHE.move_to_end(key)
                _STATS["hits"] += 1
                return hit[1]
        text = _build(lines, width, height, ascii)
        if key is not None:
            _CACHE[key] = (refs, text)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        return text


def _build(lines: Sequence[PlotLine], width: int, height: int, ascii: bool) -> str:
    prepared = [(line, *prepare(line, width)) for line in lines]
    prepared = [p for p in prepared if p[1].shape[0]]
    if not prepared:
        return ""
    _STATS["builds"] += 1
    plt.main()
    plt.clf()
    try:
        plt.limitsize(False, False)  # after clf (which resets it) and before plotsize
        plt.plotsize(width, height)
        plt.theme("clear")
        for line, x, y in prepared:
            # plotext wants plain lists; a label with no data raises, so empty lines were dropped above.
            label = clean(line.label, 40)
            plt.plot(x.tolist(), y.tolist(), label=label, color=line.color, marker=line.marker)
        xs = np.concatenate([x for _, x, _ in prepared])
        if np.all(xs == np.round(xs)):
            ticks = integer_ticks(float(xs.min()), float(xs.max()), max(2, width // 10))
            plt.xticks(ticks, [tick_label(t) for t in ticks])
        text = str(plt.build())
    finally:
        plt.clf()  # leave no data behind in the global figure, even when plotext raised
    text = text.rstrip("\n")
    if ascii:
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
    """Counts of plotext builds and cache hits since start (for tests and benchmarks)."""
    with _LOCK:
        return dict(_STATS, size=len(_CACHE))


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
