"""The dashboard's charts as a matplotlib figure (PNG, SVG or PDF): for a report, a paper, a message.

The only module that imports matplotlib, and only when a figure is asked for. It draws on a bare
`Figure` with an Agg canvas, never through pyplot: no display, no global figure state, safe to
call from any thread of the live view.

What is drawn:
- one axes per default chart of the dashboard (`roles.chart_specs`: total, AP, classification,
  L1, GIoU, AP50, class error, lr; whichever the logs have), then one "COCO box AP breakdown"
  axes (AP, AP50, AP75, APs, APm, APl of the test/val split) when a log has COCO stats;
- each log (or each run, with `runs="overlay"`) in its own colour, the split by the line style
  (train solid, test dashed, val dotted), labelled in each axes' legend;
- restarted runs stitched as the dashboard does (a later run replaces the steps it repeats),
  non-finite points left out, then lines of more than 2 * MAX_BUCKETS points reduced to min/max
  buckets (`analysis.decimate_minmax`), so no spike is lost and SVG/PDF files stay small;
- `smoothing`: TensorBoard's debiased EMA (`analysis.ema`, the live view's method) with that
  weight, applied before decimation and only to losses and errors (roles with goal "min"): AP
  and lr are never smoothed. The raw line stays behind the smoothed one, faint and unlabelled;
- `log_y`: a log y scale on the loss, error and lr charts (AP charts stay linear); values <= 0
  are left out of those.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Optional, Sequence, Union

import numpy as np

from detr_watch.analysis import decimate_minmax, ema, stitch
from detr_watch.errors import DetrWatchError
from detr_watch.roles import ROLES, SPLIT_ORDER, chart_specs, goal, parse_name
from detr_watch.store import FloatArray, SeriesData, Snapshot

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PLOT_HINT = 'pip install "detr-watch[plot]"'
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
MAX_BUCKETS = 2000
LINESTYLES = {"train": "-", "test": "--", "val": ":", "ema_test": "-."}
SOURCE_STYLES = ("-", "--", ":", "-.")
BREAKDOWN = ("AP", "AP50", "AP75", "APs", "APm", "APl")
BREAKDOWN_TITLE = "COCO box AP breakdown"
# mmdet names the same six stats bbox_mAP, bbox_mAP_50, ...: suffix per stat.
_MMDET_SUFFIX = {"AP": "", "AP50": "_50", "AP75": "_75", "APs": "_s", "APm": "_m", "APl": "_l"}
DEFAULT_DPI = 100
COLUMN_WIDTH_IN = 6.0
_WRITE_HINT = "check that the folder exists and is writable"
ROW_HEIGHT_IN = 3.6


class Source(NamedTuple):
    """One legend entry's worth of data: a log (or one run of it) and its series' histories."""

    label: str
    series: dict[str, SeriesData]
    starts: dict[str, dict[int, float]]  # x axis -> run -> first step, for stitching (empty: one run)


class Chart(NamedTuple):
    """One axes: a title, the x axis, whether log-y applies, and its lines per source."""

    title: str
    axis: str
    log_ok: bool
    lines: list[tuple[int, str, str]]  # (source index, series name, label within the source)


def require_matplotlib() -> None:
    """Raise the "install the plot extra" error now, before any log is read, when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise DetrWatchError("plotting needs matplotlib, which is not installed", hint=PLOT_HINT) from None


def _sources(snapshots: Sequence[tuple[str, Snapshot]], runs: str) -> list[Source]:
    if runs not in ("stitch", "overlay"):
        raise ValueError(f"runs must be 'stitch' or 'overlay', got {runs!r}")
    out: list[Source] = []
    for label, snap in snapshots:
        if runs == "stitch" or len(snap.runs) < 2:
            by_axis: dict[str, dict[int, float]] = {}
            for r in snap.runs:
                by_axis.setdefault(r.axis, {})[r.run] = r.first_step
            out.append(Source(label, dict(snap.series), by_axis))
            continue
        for info in snap.runs:
            part = {name: s.run(info.run) for name, s in snap.series.items()}
            part = {name: s for name, s in part.items() if len(s)}
            out.append(Source(f"{label} run {info.run}", part, {}))
    return out


def _history(source: Source, name: str) -> tuple[FloatArray, FloatArray]:
    """Stitched (as the dashboard does), finite points of one series."""
    s = source.series[name]
    x, y = s.steps, s.values
    starts = source.starts.get(s.axis)
    if starts is not None and len(starts) > 1:
        keep = stitch(x, s.runs, starts)
        x, y = x[keep], y[keep]
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def _breakdown_lines(names: Sequence[str]) -> list[tuple[str, str]]:
    """(series, stat) of the COCO breakdown of one log: the test split first, then val, then any."""
    present = set(names)
    candidates: list[tuple[int, list[tuple[str, str]]]] = []
    for name in names:
        prefix: Optional[str] = None
        if name.endswith("/AP"):
            prefix = name[: -len("/AP")]
            lines = [(f"{prefix}/{stat}", stat) for stat in BREAKDOWN if f"{prefix}/{stat}" in present]
        elif name.endswith("bbox_mAP"):
            prefix = name
            lines = [
                (prefix + _MMDET_SUFFIX[stat], stat)
                for stat in BREAKDOWN
                if prefix + _MMDET_SUFFIX[stat] in present
            ]
        else:
            continue
        if len(lines) > 2:  # AP and AP50 alone are charts already
            split = parse_name(name).split
            rank = SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER)
            # held-out splits before train: AP on the training set is rare and not what a report shows
            candidates.append((rank if split != "train" else len(SPLIT_ORDER) + 1, lines))
    candidates.sort(key=lambda c: c[0])
    return candidates[0][1] if candidates else []


def _charts(sources: Sequence[Source]) -> list[Chart]:
    """The dashboard's charts over all sources (each source with its own names), then the breakdown."""
    charts: dict[tuple[str, str], Chart] = {}
    for i, src in enumerate(sources):
        axes = {name: s.axis for name, s in src.series.items() if len(s)}
        for spec in chart_specs(axes.keys(), axes):
            axis = spec.axis or next((axes[n] for n, _ in spec.lines if n in axes), "")
            key = (spec.role, axis)
            if key not in charts:
                charts[key] = Chart(spec.title, axis, spec.role not in ("ap", "ap50"), [])
            charts[key].lines.extend((i, name, label) for name, label in spec.lines)
    ordered = sorted(charts.items(), key=lambda kv: (ROLES.index(kv[0][0]), kv[0][1]))
    out = [chart for _, chart in ordered]
    # Several x axes for one role: say which chart is which.
    roles = [key[0] for key, _ in ordered]
    out = [
        c._replace(title=f"{c.title} (per {c.axis})")
        if roles.count(role) > 1 and "(per " not in c.title
        else c
        for c, role in zip(out, roles)
    ]
    breakdown: list[tuple[int, str, str]] = []
    axis = ""
    for i, src in enumerate(sources):
        for name, stat in _breakdown_lines(sorted(src.series)):
            breakdown.append((i, name, stat))
            axis = axis or src.series[name].axis
    if breakdown:
        out.append(Chart(BREAKDOWN_TITLE, axis, False, breakdown))
    return out


def _smoothable(name: str) -> bool:
    return goal(name) == "min"


def _draw(
    ax: Axes,
    chart: Chart,
    sources: Sequence[Source],
    smoothing: Optional[float],
    log_y: bool,
) -> None:
    import matplotlib as mpl

    colors = [c["color"] for c in mpl.rcParams["axes.prop_cycle"]]
    several = len(sources) > 1
    breakdown = chart.title == BREAKDOWN_TITLE
    use_log = log_y and chart.log_ok
    for i, name, label in chart.lines:
        x, raw = _history(sources[i], name)
        smooth = smoothing is not None and _smoothable(name)
        # Smooth the whole history first, as the live view does; the log scale only hides points.
        y = ema(raw, smoothing) if smooth and smoothing is not None else raw
        keep = y > 0 if use_log else np.ones(y.shape[0], dtype=bool)
        if not keep.any():
            continue
        if breakdown:
            color = colors[BREAKDOWN.index(label) % len(colors)]
            style = SOURCE_STYLES[i % len(SOURCE_STYLES)]
        else:
            color = colors[i % len(colors)]
            style = LINESTYLES.get(parse_name(name).split, "-")
        legend = f"{sources[i].label} · {label}" if several else label
        marker = "o" if keep.sum() == 1 else None
        if smooth:
            shown = raw > 0 if use_log else keep
            rx, ry = decimate_minmax(x[shown], raw[shown], MAX_BUCKETS)
            ax.plot(
                rx, ry, color=color, linestyle=style, alpha=0.25, linewidth=0.8, marker=marker, label="_raw"
            )
        px, py = decimate_minmax(x[keep], y[keep], MAX_BUCKETS)
        ax.plot(px, py, color=color, linestyle=style, linewidth=1.4, marker=marker, label=legend)
    ax.set_title(chart.title, fontsize=10)
    ax.set_xlabel("iteration" if chart.axis == "iter" else chart.axis or "step", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(True, alpha=0.3)
    if use_log:
        ax.set_yscale("log")
    handles, labels = ax.get_legend_handles_labels()
    if any(not lb.startswith("_") for lb in labels):
        ax.legend(fontsize=7, loc="best")


def _layout(count: int) -> tuple[int, int]:
    cols = 1 if count == 1 else 2 if count <= 6 else 3
    return math.ceil(count / cols), cols


def build_figure(
    snapshots: Sequence[tuple[str, Snapshot]],
    *,
    smoothing: Optional[float] = None,
    log_y: bool = False,
    width_in: Optional[float] = None,
    height_in: Optional[float] = None,
    dpi: float = DEFAULT_DPI,
    title: Optional[str] = None,
    runs: str = "stitch",
) -> Figure:
    """The figure for (label, snapshot) pairs; raises DetrWatchError when there is nothing to plot or no
    matplotlib. `width_in`/`height_in` default to 6 in per column and 3.6 in per row of charts."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if smoothing is not None and not 0.0 <= smoothing < 1.0:
        raise DetrWatchError(
            f"smoothing must be in [0, 1), got {smoothing}", hint="e.g. --smooth 0.6 (0 is off)"
        )
    for name, value in (("width", width_in), ("height", height_in), ("dpi", dpi)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise DetrWatchError(f"the figure's {name} must be a positive number, got {value}")
    sources = _sources(snapshots, runs)
    charts = _charts(sources)
    if not charts:
        raise DetrWatchError(
            "nothing to plot: no loss, AP or lr series in the logs", hint="see 'detr-watch summary'"
        )
    rows, cols = _layout(len(charts))
    size = (width_in or COLUMN_WIDTH_IN * cols, height_in or ROW_HEIGHT_IN * rows + (0.4 if title else 0.0))
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    for k, chart in enumerate(charts):
        ax = fig.add_subplot(rows, cols, k + 1)
        _draw(ax, chart, sources, smoothing or None, log_y)
    if title:
        fig.suptitle(title)
    return fig


def figure_format(path: Union[str, Path]) -> str:
    """'png', 'svg' or 'pdf' from the file name; a DetrWatchError for anything else."""
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise DetrWatchError(
            f"cannot tell the figure type from {str(path)!r}", hint="name the file .png, .svg or .pdf"
        )
    return FORMATS[ext]


def save_figure(
    snapshots: Sequence[tuple[str, Snapshot]],
    path: Union[str, Path],
    *,
    smoothing: Optional[float] = None,
    log_y: bool = False,
    width_in: Optional[float] = None,
    height_in: Optional[float] = None,
    dpi: float = DEFAULT_DPI,
    title: Optional[str] = None,
    runs: str = "stitch",
) -> Path:
    """Draw the charts of (label, snapshot) pairs and write them to `path` (.png, .svg or .pdf).

    The file is exactly width_in x height_in inches (at `dpi` pixels per inch for PNG). Returns the
    path written. Errors the user can act on (no matplotlib, bad extension, unwritable folder,
    nothing to plot) are DetrWatchError with a hint.
    """
    fmt = figure_format(path)
    target = Path(path)
    if not target.parent.is_dir():  # say so before spending seconds on the drawing
        raise DetrWatchError(f"cannot write {target}: no folder {target.parent}", hint=_WRITE_HINT)
    fig = build_figure(
        snapshots,
        smoothing=smoothing,
        log_y=log_y,
        width_in=width_in,
        height_in=height_in,
        dpi=dpi,
        title=title,
        runs=runs,
    )
    try:
        fig.savefig(target, format=fmt, dpi=dpi)
    except OSError as exc:
        raise DetrWatchError(f"cannot write {target}: {exc.strerror or exc}", hint=_WRITE_HINT) from None
    return target
