"""The DETR panels beside the chart grid: loss composition (key 2), decoder layers (key 3), COCO AP (key 4).

Each is a pure function of the board, the view and a size, returning exactly that many lines; with
several logs, each log gets a section of its own (as many as fit).
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Optional, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.text import Text

from detr_watch import breakdown
from detr_watch.logs import Board
from detr_watch.memo import memo
from detr_watch.render import fmt
from detr_watch.render.chart import (
    BLUE,
    CYAN,
    GREEN,
    MAGENTA,
    ORANGE,
    RED,
    WHITE,
    YELLOW,
    Chart,
    ChartDef,
    ChartLine,
    Color,
    Lines,
)
from detr_watch.render.layout import block, grid, hjoin, split
from detr_watch.store import Snapshot
from detr_watch.text import clean
from detr_watch.view import View

PART_COLORS: dict[str, Color] = {
    "total": WHITE,
    "classification": CYAN,
    "L1 box": ORANGE,
    "GIoU": MAGENTA,
    "aux decoder layers": GREEN,
    "denoising": BLUE,
    "encoder": YELLOW,
    "other terms": RED,
}
# first decoder layer dark blue ... final layer bright white: depth reads as brightness
LAYER_COLORS: tuple[Color, ...] = (24, 31, 38, 44, 50, 87, 123, 159, 195)
SECTION_MIN = 12
BAR_WIDTH = 20

Section = Callable[[Console, ConsoleOptions, int, int, int], Lines]


def _bar(share: float, width: int, ascii_only: bool) -> str:
    if not math.isfinite(share):
        return ""
    n = max(0, min(width, round(share * width)))
    return ("#" if ascii_only else "█") * n


def _rows(texts: Sequence[Sequence[str]], widths: Sequence[int], right: Sequence[bool]) -> list[Text]:
    out = []
    for cells in texts:
        line = Text(no_wrap=True, overflow="crop", end="")
        for i, (cell, w, r) in enumerate(zip(cells, widths, right)):
            if i:
                line.append(" ")
            pad = " " * max(0, w - cell_len(cell))
            line.append(pad + cell if r else cell + pad, style="bold" if cells is texts[0] else "")
        out.append(line)
    return out


def table_lines(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool], ascii_only: bool, width: int
) -> list[Text]:
    """A plain aligned table: a bold header, a rule, the rows."""
    texts = [list(header)] + [list(r) for r in rows]
    widths = [max(cell_len(row[i]) for row in texts) for i in range(len(header))]
    lines = _rows(texts, widths, right)
    lines.insert(
        1, Text(("-" if ascii_only else "─") * min(width, sum(widths) + len(widths) - 1), style="dim")
    )
    return lines


def _text_block(
    console: Console, options: ConsoleOptions, lines: list[Text], width: int, height: int
) -> Lines:
    body = Text("\n").join(lines[:height]) if lines else Text("")
    body.no_wrap = True
    body.overflow = "crop"
    return block(console, options, body, width, height)


def _sections(
    console: Console, options: ConsoleOptions, board: Board, width: int, height: int, draw: Section
) -> Lines:
    """One section per log, as many as fit at `SECTION_MIN` lines each; the rest named."""
    fit = max(1, min(len(board), height // SECTION_MIN))
    sizes = split(height - (1 if fit < len(board) else 0), fit)
    out: Lines = []
    for i, h in enumerate(sizes):
        out.extend(draw(console, options, i, width, h))
    if fit < len(board):
        rest = ", ".join(clean(log.label, 30) for log in board[fit:])
        out.extend(
            _text_block(
                console,
                options,
                [Text(f"not shown (make the terminal taller): {rest}", style="dim")],
                width,
                1,
            )
        )
    return out


def _heading(board: Board, i: int, title: str) -> str:
    return f"{clean(board[i].label, 60)}: {title}" if len(board) > 1 else title


# --- loss composition ---------------------------------------------------------------------------


def compositions(snapshot: Snapshot) -> list[breakdown.Composition]:
    def compute() -> list[breakdown.Composition]:
        found = [
            breakdown.composition(snapshot, split) for split in breakdown.splits_with_components(snapshot)
        ]
        return [c for c in found if c is not None]

    return memo(snapshot, "compositions", compute)


_WEIGHTS_FROM = {
    "unscaled": "weights = logged / _unscaled",
    "log": "values as logged (already weighted)",
    "default": "DETR's default weights applied (1/5/2)",
}


def _composition_table(comp: breakdown.Composition, ascii_only: bool, width: int) -> list[Text]:
    step, rows = breakdown.last_shares(comp)
    weights = dict(comp.weights)
    label_weight = {breakdown.COMPONENT_LABELS[r]: w for r, w in weights.items()}
    split = comp.split or "all"
    title = f"{split}: share of the {'total' if comp.total_logged else 'sum'}"
    title += f" at {comp.total.axis} {fmt.step(step)}" if step is not None else " (no complete step yet)"
    body = []
    for label, value, share in rows:
        w = label_weight.get(label)
        body.append(
            [
                label,
                "-" if w is None else f"{w:g}",
                fmt.value(value),
                f"{share * 100:.1f}%",
                _bar(share, BAR_WIDTH, ascii_only),
            ]
        )
    lines = [Text(title, style="bold")]
    lines.extend(
        table_lines(
            ["part", "weight", "value", "share", ""],
            body,
            [False, True, True, True, False],
            ascii_only,
            width,
        )
    )
    lines.append(Text(_WEIGHTS_FROM.get(comp.weights_from, comp.weights_from), style="dim"))
    return lines


def loss_section(board: Board, view: View) -> Section:
    def draw(console: Console, options: ConsoleOptions, i: int, width: int, height: int) -> Lines:
        snap = board[i].snapshot
        comps = compositions(snap)
        if not comps:
            msg = Text(
                _heading(board, i, "no loss components (classification, L1, GIoU) in this log"), style="dim"
            )
            return _text_block(console, options, [msg], width, height)
        comp = comps[0]
        lines = [ChartLine(i, "total", "total", comp.split, PART_COLORS["total"], comp.total)]
        for part in comp.parts:
            lines.append(
                ChartLine(
                    i, part.label, part.label, comp.split, PART_COLORS.get(part.label, WHITE), part.series
                )
            )
        title = _heading(board, i, f"{comp.split or 'total'} loss and its weighted parts")
        chart = Chart(ChartDef(title, "composition", tuple(lines)), board, view)
        tables = [line for c in comps for line in _composition_table(c, view.ascii, width) + [Text("")]]
        table_h = min(len(tables), max(6, height // 2))
        chart_h = height - table_h
        if width >= 130:
            table_w = min(70, width // 2)
            left = grid(console, options, [chart], width - table_w - 2, height)
            right = _text_block(console, options, tables, table_w, height)
            return hjoin(left, right, 2)
        return grid(console, options, [chart], width, chart_h) + _text_block(
            console, options, tables, width, table_h
        )

    return draw


# --- decoder layers -----------------------------------------------------------------------------


def layer_sets(snapshot: Snapshot) -> list[breakdown.LayerSet]:
    return memo(snapshot, "layers", lambda: breakdown.decoder_layers(snapshot))


def _last(snapshot: Snapshot, name: str) -> Optional[float]:
    s = snapshot.series.get(name)
    if s is None or len(s) == 0:
        return None
    run = int(s.runs[-1])
    values = s.values[(s.runs == run)]
    finite = values[[math.isfinite(v) for v in values]]
    return float(finite[-1]) if finite.shape[0] else None


def _layers_table(
    snapshot: Snapshot, sets: list[breakdown.LayerSet], ascii_only: bool, width: int
) -> list[Text]:
    """Rows per layer, a column per loss: the newest value and how far above the final layer it is."""
    depth = max(len(s.layers) for s in sets)
    header = ["layer"] + [breakdown.COMPONENT_LABELS[s.role] for s in sets]
    body: list[list[str]] = []
    verdicts: list[str] = []
    for k in range(depth):
        label = next((s.layers[k][0] for s in sets if len(s.layers) == depth), f"layer {k + 1}")
        cells = [label]
        for s in sets:
            if k >= len(s.layers):
                cells.append("")
                continue
            v = _last(snapshot, s.layers[k][1])
            final = _last(snapshot, s.layers[-1][1])
            if v is None:
                cells.append("-")
            elif k == len(s.layers) - 1 or final is None or final == 0:
                cells.append(fmt.value(v) + "      ")
            else:
                cells.append(f"{fmt.value(v)} {(v - final) / abs(final) * 100:+4.0f}%")
        body.append(cells)
    for s in sets:
        values = [_last(snapshot, name) for _, name in s.layers]
        pairs = [(a, b) for a, b in zip(values, values[1:]) if a is not None and b is not None]
        lower = sum(1 for a, b in pairs if b < a)
        verdicts.append(f"{breakdown.COMPONENT_LABELS[s.role]} {lower}/{len(pairs)}")
    lines = table_lines(header, body, [False] + [True] * len(sets), ascii_only, width)
    lines.append(Text("each layer below the one before it: " + ", ".join(verdicts), style="dim"))
    return lines


def layers_section(board: Board, view: View) -> Section:
    def draw(console: Console, options: ConsoleOptions, i: int, width: int, height: int) -> Lines:
        snap = board[i].snapshot
        sets = layer_sets(snap)
        if not sets:
            msg = Text(
                _heading(board, i, "no per-decoder-layer losses (_0 .. _4, _aux_N, dN.) in this log"),
                style="dim",
            )
            return _text_block(console, options, [msg], width, height)
        split_name = sets[0].split
        first = [s for s in sets if s.split == split_name]
        charts = []
        for s in first:
            n = len(s.layers)
            lines = tuple(
                ChartLine(
                    i,
                    name,
                    label.replace("layer ", "L"),
                    s.split,
                    LAYER_COLORS[max(0, len(LAYER_COLORS) - n + k)],
                )
                for k, (label, name) in enumerate(s.layers)
            )
            name = _heading(board, i, f"{split_name} {breakdown.COMPONENT_LABELS[s.role]} per decoder layer")
            charts.append(Chart(ChartDef(name, "layers", lines), board, view))
        heading = Text(
            _heading(board, i, f"{split_name or 'all'}: newest value per decoder layer (vs the final layer)"),
            style="bold",
        )
        table = [heading] + _layers_table(snap, first, view.ascii, width)
        table_h = min(len(table), max(5, height // 2))
        chart_h = height - table_h
        cols = len(charts) if width >= 45 * len(charts) else 1
        chart_lines = grid(console, options, charts[: max(1, cols * max(1, chart_h // 8))], width, chart_h)
        return chart_lines + _text_block(console, options, table, width, table_h)

    return draw


# --- COCO ---------------------------------------------------------------------------------------


def coco_groups(snapshot: Snapshot) -> list[breakdown.CocoGroup]:
    return memo(snapshot, "coco", lambda: breakdown.coco_groups(list(snapshot.series)))


def _na(v: Optional[float]) -> str:
    return "n/a" if v is None else fmt.value(v)


def _best_unit(snapshot: Snapshot, group: breakdown.CocoGroup) -> str:
    ap = snapshot.series.get(dict(group.stats)["AP"] or "")
    if ap is None or ap.axis == "epoch" or (len(ap) and math.isfinite(float(ap.epochs[-1]))):
        return "epoch"
    return ap.axis


def _coco_table(board: Board, ascii_only: bool, width: int) -> list[Text]:
    """Rows per COCO stat; per log: the newest value, the best and its step ("n/a": -1, never a number)."""
    multi = len(board) > 1
    header = ["stat"]
    columns: list[list[breakdown.StatRow]] = []
    stats_order: list[str] = []
    for log in board:
        for group in coco_groups(log.snapshot):
            rows = memo(
                log.snapshot,
                ("coco_rows", group),
                functools.partial(breakdown.coco_rows, log.snapshot, group),
            )
            columns.append(rows)
            prefix = f"{clean(log.label, 16)} " if multi else ""
            header += [f"{prefix}{clean(group.label, 30)}", "best", "@" + _best_unit(log.snapshot, group)]
            for r in rows:
                if r.stat not in stats_order:
                    stats_order.append(r.stat)
    body = []
    for stat in stats_order:
        cells = [stat]
        for rows in columns:
            found = next((x for x in rows if x.stat == stat), None)
            if found is None:
                cells += ["", "", ""]
            else:
                best_at = "" if found.best_at is None else fmt.step(found.best_at)
                cells += [_na(found.last), _na(found.best), best_at]
        body.append(cells)
    return table_lines(header, body, [False] + [True] * (len(header) - 1), ascii_only, width)


def coco_panel(
    console: Console, options: ConsoleOptions, board: Board, view: View, width: int, height: int
) -> Lines:
    groups = [(i, g) for i, log in enumerate(board) for g in coco_groups(log.snapshot)]
    if not groups:
        msg = Text(
            "no COCO evaluation in this log yet (AP, AP50, ... appear after the first evaluation)",
            style="dim",
        )
        return _text_block(console, options, [msg], width, height)
    table = _coco_table(board, view.ascii, width)
    table.append(
        Text("n/a: not evaluated (COCO writes -1 when there are no objects of that size)", style="dim")
    )
    table_h = min(len(table), height)
    chart_h = height - table_h
    charts = []
    for i, group in groups[:2]:
        stats = dict(group.stats)
        lines = tuple(
            ChartLine(i, name, (f"{board[i].label} " if len(board) > 1 else "") + stat, "", color)
            for stat, color in (("AP", CYAN), ("AP50", ORANGE), ("AP75", MAGENTA))
            if (name := stats.get(stat)) is not None
        )
        title = _heading(board, i, f"COCO {group.label}: AP, AP50, AP75")
        charts.append(Chart(ChartDef(title, "coco", lines), board, view))
    if chart_h >= 8:
        return grid(console, options, charts, width, chart_h) + _text_block(
            console, options, table, width, table_h
        )
    return _text_block(console, options, table, width, height)


def panel_lines(
    console: Console, options: ConsoleOptions, board: Board, view: View, width: int, height: int
) -> Lines:
    """The body of panel `view.panel` (other than the chart grid)."""
    if view.panel == "losses":
        return _sections(console, options, board, width, height, loss_section(board, view))
    if view.panel == "layers":
        return _sections(console, options, board, width, height, layers_section(board, view))
    return coco_panel(console, options, board, view, width, height)
