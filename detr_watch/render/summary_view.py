"""`detr-watch summary PATH` for people: the `summary --json` object as rich tables.

Pure: `render_summary(data)` builds renderables from the JSON-ready dict and does no I/O;
`print_summary` prints them. Names and the path come from the log, so they are cleaned of
control characters and escaped for rich markup before they reach a table. Rows the JSON keeps
but that say nothing (no common steps, no history) are left out here.
"""

from __future__ import annotations

import math
import os
from typing import IO, Any, Callable, Optional, Sequence

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from detr_watch.render import fmt
from detr_watch.render.console import frame_size
from detr_watch.roles import main_series
from detr_watch.text import clean

NAME_WIDTH = 44  # names longer than this fold onto a second line instead of squeezing the numbers
MIN_NAME_WIDTH = 16
# rich lays a table out at some 4 ms a row: a log with thousands of series would take minutes. The
# rest is counted under the table; `summary --json` has every row.
MAX_ROWS = 200


def _safe(text: Any) -> str:
    return escape(clean(str(text)))


def _v(x: Optional[float]) -> str:
    return "-" if x is None else fmt.value(float(x))


def _step(x: Optional[float]) -> str:
    return "-" if x is None else fmt.step(float(x))


def _pct(x: Optional[float], signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x * 100:+.1f}%" if signed else f"{x * 100:.1f}%"


def _slope(x: Optional[float]) -> str:
    return "-" if x is None else fmt.change(float(x)) or "-"


def _se(x: Optional[float]) -> str:
    return "" if x is None else "± " + fmt.value(float(x))


class _Table:
    """Rows of text cells, laid out at render time: the names fold before the numbers are cut, and on
    a narrow console the `optional` columns (indices, least useful first) are left out."""

    def __init__(self, title: str, headers: Sequence[str], optional: Sequence[int] = ()) -> None:
        self.title = title
        self.headers = tuple(headers)
        self.optional = tuple(optional)
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        self.rows.append(cells)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows = self.rows[:MAX_ROWS]
        columns = [[Text.from_markup(c).cell_len for c in col] for col in zip(self.headers, *rows)]
        # each column after the first costs its cells plus padding, divider and padding
        cost = [max(col) + 3 for col in columns]
        keep = list(range(len(self.headers)))
        # a folded name is hard to read (AR1 / AR10 / AR100 look alike): give optional columns up first
        wanted = min(max(columns[0]), NAME_WIDTH)
        for drop in self.optional:
            if wanted + sum(cost[i] for i in keep[1:]) <= options.max_width:
                break
            keep.remove(drop)
        room = options.max_width - sum(cost[i] for i in keep[1:])
        name_width = max(MIN_NAME_WIDTH, min(max(columns[0]), NAME_WIDTH, room))
        t = Table(
            title=self.title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False
        )
        t.add_column(self.headers[0], overflow="fold", width=name_width)
        for i in keep[1:]:
            t.add_column(self.headers[i], justify="right", no_wrap=True)
        for row in rows:
            t.add_row(*(row[i] for i in keep))
        yield t
        if len(self.rows) > len(rows):
            yield Text(f"... {len(self.rows) - len(rows)} more rows ('summary --json' has them all)")


def _table(title: str, headers: Sequence[str], optional: Sequence[int] = ()) -> _Table:
    return _Table(title, headers, optional)


def _header(data: dict[str, Any]) -> Text:
    runs = len(data.get("runs") or [])
    parts = [
        str(data.get("format") or "unknown format"),
        f"{data.get('records', 0)} records",
        f"{runs} run{'s' if runs != 1 else ''}",
    ]
    if data.get("skipped_lines"):
        parts.append(f"{data['skipped_lines']} lines skipped")
    text = Text(clean(str(data.get("path", ""))), style="bold")
    text.append("  " + ", ".join(parts))
    return text


def _series_table(series: dict[str, Any]) -> tuple[_Table, int, list[str]]:
    """The main series' table, how many series it leaves out, and the main series with no history."""
    axes = {name: s.get("axis", "") for name, s in series.items()}
    listed = main_series(series.keys(), axes)
    shown = [n for n in listed if series[n].get("history_points", 1) > 0]
    gone = [n for n in listed if n not in shown]
    headers = (
        "series",
        "n",
        "last",
        "best @step",
        "last 10%",
        "slope/step",
        "",
        "plateau",
        "spikes",
        "nan/inf",
    )
    # on a narrow console: n, then the slope's error, then nan/inf, spikes and plateau give way
    t = _table("Series (restarted runs stitched)", headers, optional=(1, 6, 9, 8, 7))
    for name in shown:
        s = series[name]
        best = "-" if s.get("best") is None else f"{_v(s['best'])} @{_step(s['step_of_best'])}"
        t.add_row(
            _safe(name),
            str(s.get("count", 0)),
            _v(s.get("last")),
            best,
            _pct(s.get("improvement_last_10pct"), signed=True),
            _slope(s.get("slope")),
            _se(s.get("slope_stderr")),
            _step(s.get("plateau_start")),
            "-" if s.get("spikes") is None else str(s["spikes"]),
            str(s.get("nonfinite", 0)),
        )
    return t, len(series) - len(listed), gone


def _shares_table(shares: dict[str, Any]) -> Optional[_Table]:
    shares = {k: v for k, v in shares.items() if v.get("points")}
    if not shares:
        return None
    labels = {split: f"{split} ({entry['total'] or 'sum of components'})" for split, entry in shares.items()}
    headers = ("split (total)", "component", "weight", "first", "last", "mean")
    t = _table("Share of the total loss (all decoder layers)", headers)
    for split, entry in shares.items():
        label = _safe(labels[split])
        for role, c in entry.get("components", {}).items():
            weight = "-" if c.get("weight") is None else f"{c['weight']:g}"
            first, last, mean = (_pct(c.get(k)) for k in ("share_first", "share_last", "share_mean"))
            t.add_row(label, role, weight, first, last, mean)
            label = ""
        rest = entry.get("unexplained_last")
        if rest is not None and abs(rest) >= 0.005:
            t.add_row("", "other terms", "", "", _pct(rest), "")
    return t


def _corr_key(item: tuple[str, dict[str, Any]]) -> tuple[float, str]:
    # most negative Spearman first: the loss that falls most consistently as AP rises
    rho = item[1].get("spearman")
    return (math.inf if rho is None else rho, item[0])


def _corr_table(corr: dict[str, Any]) -> Optional[_Table]:
    losses = {k: v for k, v in (corr.get("losses") or {}).items() if v.get("points")}
    if not corr.get("ap") or not losses:
        return None
    t = _table(f"Correlation with {_safe(corr['ap'])}", ("loss", "n", "Pearson", "Spearman"))
    for name, c in sorted(losses.items(), key=_corr_key):
        r, rho = c.get("pearson"), c.get("spearman")
        t.add_row(
            _safe(name),
            str(c["points"]),
            "-" if r is None else f"{r:+.2f}",
            "-" if rho is None else f"{rho:+.2f}",
        )
    return t


def _gap_table(gaps: dict[str, Any]) -> Optional[_Table]:
    gaps = {k: v for k, v in gaps.items() if v.get("points")}
    if not gaps:
        return None
    headers = ("loss", "n", "last", "mean", "slope, last half", "", "widening")
    t = _table("Train-test gap (test or val - train, at the same steps)", headers, optional=(1, 5, 3))
    for label, g in gaps.items():
        t.add_row(
            _safe(label),
            str(g["points"]),
            _v(g.get("last")),
            _v(g.get("mean")),
            _slope(g.get("slope")),
            _se(g.get("slope_stderr")),
            "yes" if g.get("widening") else "no",
        )
    return t


def _aux_table(aux: dict[str, Any]) -> Optional[_Table]:
    if not aux:
        return None
    labels: list[str] = []
    for layers in aux.values():
        for label in layers:
            if label not in labels:
                labels.append(label)
    headers = ("loss", *(_safe(label) for label in labels))
    t = _table("Auxiliary decoder layers: excess over the final layer, last step", headers)
    for name, layers in aux.items():
        cells = [_pct(layers[label].get("excess"), True) if label in layers else "" for label in labels]
        t.add_row(_safe(name), *cells)
    return t


def render_summary(data: dict[str, Any]) -> RenderableType:
    """The report as one renderable (no I/O)."""
    parts: list[RenderableType] = [_header(data)]
    series = data.get("series") or {}
    if series:
        table, hidden, gone = _series_table(series)
        parts.append(table)
        if gone:
            names = ", ".join(clean(n) for n in gone[:8]) + (", ..." if len(gone) > 8 else "")
            parts.append(Text(f"only in runs that a later run replaced: {names}"))
        if hidden:
            parts.append(
                Text(f"{hidden} auxiliary or duplicate series not shown ('summary --json' has them all)")
            )
    else:
        parts.append(Text("no metrics yet"))
    analysis = data.get("analysis") or {}
    builders: tuple[tuple[Callable[[dict[str, Any]], Optional[_Table]], str], ...] = (
        (_shares_table, "shares"),
        (_corr_table, "correlations"),
        (_gap_table, "gaps"),
        (_aux_table, "aux_layers"),
    )
    for build, key in builders:
        extra = build(analysis.get(key) or {})
        if extra is not None:
            parts.append(Text(""))
            parts.append(extra)
    return Group(*parts)


def print_summary(data: dict[str, Any], stdout: IO[str]) -> None:
    """Print the report; colours only on a terminal (or with FORCE_COLOR), never into a pipe."""
    width, _ = frame_size(stdout)
    is_tty = hasattr(stdout, "isatty") and stdout.isatty()
    force = bool(os.environ.get("FORCE_COLOR"))
    console = Console(
        file=stdout,
        width=width,
        force_terminal=True if force else is_tty,
        color_system="auto" if (is_tty or force) else None,
        no_color=bool(os.environ.get("NO_COLOR")) or None,
        highlight=False,
        emoji=False,
    )
    console.print(render_summary(data))
