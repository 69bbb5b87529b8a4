"""What the user chose to see: the state the keys change and the renderables read. No I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    """Display options. Immutable: a key press makes a new View (`dataclasses.replace`)."""

    title: str = ""  # the file (or files) being watched, as the user named it
    ascii: bool = False  # no Unicode box drawing or braille: plain ASCII only
    paused: bool = False
    mode: str = "live"  # "live" (watching) or "once" (one frame)
    trend_window: int = 10  # points the table's trend is fitted over
