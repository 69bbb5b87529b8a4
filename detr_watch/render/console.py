"""Consoles for the two faces of the view: a live terminal, and one frame printed to a pipe or file."""

from __future__ import annotations

import os
from typing import IO, Optional

from rich.console import Console, RenderableType

DEFAULT_SIZE = (120, 40)  # a frame printed into a pipe, when nothing says otherwise


def _env_int(name: str) -> Optional[int]:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return None
    return value if value > 0 else None


def frame_size(file: IO[str], width: Optional[int] = None, height: Optional[int] = None) -> tuple[int, int]:
    """The frame size: explicit options, then COLUMNS/LINES, then the terminal, then a default."""
    w = width or _env_int("COLUMNS")
    h = height or _env_int("LINES")
    if w is None or h is None:
        try:
            size = os.get_terminal_size(file.fileno())
            tw, th = size.columns, size.lines
        except (OSError, ValueError, AttributeError):
            tw, th = DEFAULT_SIZE
        w = w or tw
        h = h or th
    return w, h


def once_console(file: IO[str], width: int, height: int) -> Console:
    """A console for one frame: colours only on a terminal or with FORCE_COLOR; NO_COLOR respected."""
    is_tty = hasattr(file, "isatty") and file.isatty()
    force = bool(os.environ.get("FORCE_COLOR"))
    return Console(
        file=file,
        width=width,
        height=height,
        force_terminal=True if force else is_tty,
        color_system="auto" if (is_tty or force) else None,
        no_color=bool(os.environ.get("NO_COLOR")) or None,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )


def print_frame(console: Console, renderable: RenderableType, height: int) -> None:
    console.print(renderable, height=height, crop=True)


def live_console(file: IO[str], width: Optional[int] = None, height: Optional[int] = None) -> Console:
    """A console on the user's terminal (sizes re-read each frame unless fixed); `Screen` paints it.

    Colours as the terminal says (TERM, COLORTERM: 256 colours or true colour), none with NO_COLOR.
    """
    return Console(
        file=file,
        width=width,
        height=height,
        force_terminal=True,
        no_color=bool(os.environ.get("NO_COLOR")) or None,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )
