"""Text from a log is data: strip control characters before it reaches a terminal."""

from __future__ import annotations

import re

# C0 controls except tab, DEL, and C1 controls (0x80-0x9f): ESC, BEL, CSI, OSC ...
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def clean(text: str, limit: int = 200) -> str:
    """`text` without control characters (each replaced by '?'), cut to `limit` characters."""
    out = _CONTROL.sub("?", text)
    if len(out) > limit:
        out = out[: limit - 1] + "…"
    return out
