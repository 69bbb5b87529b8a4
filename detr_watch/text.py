"""Text from a log is data: strip control characters before it reaches a terminal.

Replaced by "?": C0 controls, DEL and C1 controls (ESC, BEL, CSI, OSC ...: what clears a screen,
retitles a window or opens a link); the line and paragraph separators, which some programs take
for line breaks; and the bidirectional marks, overrides and isolates, which make a terminal show
text in another order than it is written ("Trojan Source"). A tab becomes a space: a terminal
moves it to the next tab stop, and the frame around it would shift.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _replacement(m: re.Match[str]) -> str:
    return " " if m.group() == "\t" else "?"


def clean(text: str, limit: int = 200) -> str:
    """`text` without control characters (each made a '?', a tab a space), cut to `limit` characters."""
    out = _CONTROL.sub(_replacement, text)
    if len(out) > limit:
        out = out[: limit - 1] + "…"
    return out
