"""The help overlay (`?`): the keys in a box drawn over the middle of the screen."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style

from detr_watch.keys import HELP
from detr_watch.render.chart import Lines

_BOX = {"tl": "┌", "tr": "┐", "bl": "└", "br": "┘", "h": "─", "v": "│"}
_ASCII_BOX = {"tl": "+", "tr": "+", "bl": "+", "br": "+", "h": "-", "v": "|"}
_ASCII_KEYS = str.maketrans({"→": ">", "←": "<"})


def help_lines(width: int, ascii_only: bool) -> list[str]:
    """The box as plain lines, at most `width` cells wide."""
    box = _ASCII_BOX if ascii_only else _BOX
    keys_w = max(len(k) for k, _ in HELP)
    rows = [f"{k:<{keys_w}}  {what}" for k, what in HELP]
    if ascii_only:
        rows = [r.translate(_ASCII_KEYS) for r in rows]
    title = " keys "
    inner = min(max(len(r) for r in rows) + 2, max(10, width - 2))
    top = box["tl"] + title + box["h"] * (inner - len(title)) + box["tr"]
    out = [top]
    for r in rows + ["any key closes this help; q quits"]:
        out.append(box["v"] + (" " + r)[:inner].ljust(inner) + box["v"])
    out.append(box["bl"] + box["h"] * inner + box["br"])
    return out


def overlay(lines: Lines, width: int, ascii_only: bool) -> Lines:
    """`lines` with the help box drawn over their middle (the lines keep their exact width)."""
    box = help_lines(width, ascii_only)
    box_w = len(box[0])
    if box_w > width:
        return lines
    top = max(0, (len(lines) - len(box)) // 2)
    left = (width - box_w) // 2
    out = list(lines)
    for i, row in enumerate(box[: len(lines)]):
        at = top + i
        parts = list(Segment.divide(out[at], [left, left + box_w, width]))
        edge = i in (0, len(box) - 1)
        out[at] = parts[0] + [Segment(row, Style(bold=True) if edge else None)] + parts[2]
    return out
