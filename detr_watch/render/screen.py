"""The full-screen live display: the alternate screen, painted only when told, and only the lines that
changed since the last frame.

Over a slow SSH link a frame is a few kilobytes; the "last record N ago" clock changes one line a
second, so rewriting only changed lines sends a hundred bytes instead. Each paint is wrapped in the
terminal's synchronized-output mode (DEC 2026): the terminal shows it at once instead of tearing
(terminals without the mode ignore the codes). The cursor is hidden while the view is up and the
terminal is left as it was found, even when the program is interrupted.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import IO, Optional

from rich.console import COLOR_SYSTEMS, Console, RenderableType
from rich.segment import Segment

from detr_watch.keys import TerminalGone

ENTER = "\x1b[?1049h\x1b[?25l\x1b[2J"  # alternate screen, hide the cursor, clear
LEAVE = "\x1b[0m\x1b[?25h\x1b[?1049l"  # reset attributes, show the cursor, back to the main screen
SYNC_BEGIN, SYNC_END = "\x1b[?2026h", "\x1b[?2026l"


def line_ansi(console: Console, line: list[Segment]) -> str:
    """One line of segments as terminal text in the console's colour system (none with NO_COLOR)."""
    if console.no_color:
        line = list(Segment.remove_color(line))
    system = COLOR_SYSTEMS.get(console.color_system or "")
    out = []
    for seg in line:
        if seg.control:
            continue
        out.append(seg.style.render(seg.text, color_system=system) if seg.style is not None else seg.text)
    return "".join(out)


class Screen:
    """`with Screen(console) as s: s.show(renderable)`; leaves the terminal as it found it."""

    def __init__(self, console: Console, file: Optional[IO[str]] = None) -> None:
        self.console = console
        self._file = file if file is not None else console.file
        self._frame: list[str] = []
        self._frame_size: tuple[int, int] = (0, 0)
        self.bytes_written = 0  # for tests and benchmarks: what the last paints cost on the wire
        self._active = False
        self.gone = False

    @property
    def size(self) -> tuple[int, int]:
        w, h = self.console.size
        return w, h

    def _write(self, text: str) -> None:
        if self.gone:
            raise TerminalGone("the terminal is gone")
        try:
            self._file.write(text)
            self._file.flush()
        except OSError as exc:  # EIO, EPIPE: the terminal hung up (an SSH session dropped)
            self.gone = True
            self._silence()
            raise TerminalGone(str(exc)) from None
        self.bytes_written += len(text.encode("utf-8", "replace"))

    def _silence(self) -> None:
        """Point the dead terminal's descriptor at /dev/null: what is still buffered for it (flushed
        at exit) must not turn a hangup into an error message."""
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._file.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def show(self, renderable: RenderableType) -> int:
        """Paint `renderable` over the whole screen; returns how many lines were rewritten."""
        width, height = self.size
        options = self.console.options.update(width=width, height=height)
        lines = self.console.render_lines(renderable, options, pad=True)[:height]
        frame = [line_ansi(self.console, line) for line in lines]
        if (width, height) != self._frame_size:
            self._frame = []  # a resize: the terminal rewrapped what was there, so repaint it all
        changed = [i for i, text in enumerate(frame) if i >= len(self._frame) or self._frame[i] != text]
        if not changed and len(frame) == len(self._frame):
            return 0
        parts = [SYNC_BEGIN]
        if not self._frame:
            parts.append("\x1b[0m\x1b[2J")
        for i in changed:
            parts.append(f"\x1b[{i + 1};1H\x1b[0m{frame[i]}\x1b[0m")
        parts.append(SYNC_END)
        self._write("".join(parts))
        self._frame = frame
        self._frame_size = (width, height)
        return len(changed)

    def bell(self) -> None:
        self._write("\a")

    def __enter__(self) -> Screen:
        self._write(ENTER)
        self._active = True
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._active and not self.gone:
            self._active = False
            try:
                self._write(LEAVE)
            except TerminalGone:
                pass  # nothing left to restore
