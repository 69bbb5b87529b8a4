"""Keyboard input for the live view: the terminal in cbreak mode, keys read without blocking."""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import IO, Any, Optional

try:
    import termios
    import tty
except ImportError:  # pragma: no cover - Windows
    termios = None  # type: ignore[assignment]
    tty = None  # type: ignore[assignment]


class Keyboard:
    """Cbreak mode while active (keys arrive unbuffered, Ctrl-C still sends SIGINT); restored on exit."""

    def __init__(self, stream: Optional[IO[str]] = None) -> None:
        self._stream = stream if stream is not None else sys.stdin
        self.fd: Optional[int] = None
        self._saved: Optional[list[Any]] = None
        try:
            fd = self._stream.fileno()
        except (OSError, ValueError, AttributeError):
            return
        if os.isatty(fd):
            self.fd = fd

    def __enter__(self) -> Keyboard:
        if self.fd is not None and termios is not None:
            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self.fd is not None and self._saved is not None and termios is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)

    def read(self) -> list[str]:
        """The keys typed since the last call (call when select says the fd is readable)."""
        if self.fd is None:
            return []
        try:
            data = os.read(self.fd, 1024)
        except (BlockingIOError, InterruptedError):
            return []
        if not data:
            return []
        return split_keys(data.decode("utf-8", errors="replace"))


def split_keys(text: str) -> list[str]:
    """Split typed text into keys, keeping escape sequences (arrows, ...) whole."""
    keys: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\x1b" and i + 1 < len(text) and text[i + 1] in "[O":
            j = i + 2
            while j < len(text) and not text[j].isalpha() and text[j] != "~":
                j += 1
            keys.append(text[i : j + 1])
            i = j + 1
        else:
            keys.append(ch)
            i += 1
    return keys
