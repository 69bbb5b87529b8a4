"""Keyboard input for the live view: the terminal in cbreak mode, keys read without blocking, and what
each key does to the View (`apply_key`, pure)."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from types import TracebackType
from typing import IO, Any, Callable, Optional

from detr_watch.view import DEFAULT_SMOOTHING, PANELS, SMOOTHING_LEVELS, View, parse_patterns

try:
    import termios
    import tty
except ImportError:  # pragma: no cover - Windows
    termios = None  # type: ignore[assignment]
    tty = None  # type: ignore[assignment]


class TerminalGone(Exception):
    """The terminal hung up (an SSH session dropped): reads give end-of-file or EIO, writes fail."""


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
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            except (termios.error, OSError):
                pass  # a hung-up terminal has no modes left to restore

    def read(self) -> list[str]:
        """The keys typed since the last call (call when select says the fd is readable)."""
        if self.fd is None:
            return []
        try:
            data = os.read(self.fd, 1024)
        except (BlockingIOError, InterruptedError):
            return []
        except OSError as exc:  # EIO: the terminal hung up
            raise TerminalGone(str(exc)) from None
        if not data:
            raise TerminalGone("end of input")  # a tty reads empty only once it is gone
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


# The keys of the live view, as the help overlay and the README list them: (keys, what they do).
HELP: tuple[tuple[str, str], ...] = (
    ("q  Ctrl-C", "quit (always)"),
    ("?  h", "this help (any key closes it)"),
    ("1 2 3 4  Tab", "charts / loss composition / decoder layers / COCO"),
    ("n ] PgDn →", "next page of charts"),
    ("N [ PgUp ←", "previous page of charts"),
    ("/", "filter metrics: loss*,*AP (Enter applies, Esc cancels)"),
    ("s  S", "smoothing stronger / weaker"),
    ("0", "smoothing off / back on"),
    ("e", "smooth per-epoch series too"),
    ("r", "raw curves under smoothed ones on / off"),
    ("j k ↓ ↑", "move the cursor between the charts (Esc: no cursor)"),
    ("l  L", "log-scale y: the chart under the cursor (else all) / all"),
    ("o", "y range ignores outliers (5th-95th percentile)"),
    ("x", "x axis: step / epoch / time"),
    ("+  -", "zoom in / out (the last part of the run)"),
    ("a", "the whole run"),
    ("t", "restarted runs as separate curves / stitched"),
    ("p", "pause the view (data keeps arriving)"),
)

QUIT = "quit"
_RIGHT, _LEFT, _UP, _DOWN, _PGUP, _PGDN = "\x1b[C", "\x1b[D", "\x1b[A", "\x1b[B", "\x1b[5~", "\x1b[6~"
_ENTER = ("\r", "\n")
_BACKSPACE = ("\x7f", "\x08")
MAX_ZOOM = 12
_PANEL_KEYS = {str(i + 1): panel for i, panel in enumerate(PANELS)}
_X_NEXT = {"step": "epoch", "epoch": "time", "time": "step"}


def _step_smoothing(weight: float, up: bool) -> float:
    levels = SMOOTHING_LEVELS
    if up:
        return next((w for w in levels if w > weight + 1e-9), levels[-1])
    return next((w for w in reversed(levels) if w < weight - 1e-9), 0.0)


def _prompt_key(view: View, key: str) -> View:
    text = view.prompt or ""
    if key in _ENTER:
        return replace(view, prompt=None, metrics=parse_patterns(text), page=0)
    if key == "\x1b":
        return replace(view, prompt=None)
    if key in _BACKSPACE:
        return replace(view, prompt=text[:-1])
    if key == "\x15":  # Ctrl-U
        return replace(view, prompt="")
    if len(key) == 1 and key.isprintable():
        return replace(view, prompt=text + key)
    return view


def _toggle_log(view: View, focused: Optional[str]) -> View:
    if view.focus is None or focused is None:
        return replace(view, log_y=not view.log_y, log_charts=frozenset())
    return replace(view, log_charts=view.log_charts ^ {focused})


def apply_key(view: View, key: str, focused: Optional[str] = None) -> tuple[View, str]:
    """The view after `key`, and QUIT when the key ends the program. Pure: no I/O.

    `focused` is the title of the chart under the cursor (the caller knows the page), for `l`.
    """
    if key in ("q", "Q"):
        return view, QUIT
    if view.prompt is not None:
        return _prompt_key(view, key), ""
    if view.help:
        return replace(view, help=False), ""
    r = replace
    simple: dict[str, Callable[[View], View]] = {
        "?": lambda v: r(v, help=True),
        "h": lambda v: r(v, help=True),
        "p": lambda v: r(v, paused=not v.paused),
        "s": lambda v: r(v, smoothing=_step_smoothing(v.smoothing, True)),
        "S": lambda v: r(v, smoothing=_step_smoothing(v.smoothing, False)),
        "0": lambda v: r(v, smoothing=0.0 if v.smoothing > 0 else DEFAULT_SMOOTHING),
        "e": lambda v: r(v, smooth_epochs=not v.smooth_epochs),
        "r": lambda v: r(v, raw=not v.raw),
        "l": lambda v: _toggle_log(v, focused),
        "L": lambda v: r(v, log_y=not v.log_y, log_charts=frozenset()),
        "j": lambda v: r(v, focus=0 if v.focus is None else v.focus + 1),
        _DOWN: lambda v: r(v, focus=0 if v.focus is None else v.focus + 1),
        "k": lambda v: r(v, focus=-1 if v.focus is None else v.focus - 1),
        _UP: lambda v: r(v, focus=-1 if v.focus is None else v.focus - 1),
        "o": lambda v: r(v, robust_y=not v.robust_y),
        "x": lambda v: r(v, x=_X_NEXT.get(v.x, "step")),
        "+": lambda v: r(v, zoom=min(MAX_ZOOM, v.zoom + 1)),
        "=": lambda v: r(v, zoom=min(MAX_ZOOM, v.zoom + 1)),
        "-": lambda v: r(v, zoom=max(0, v.zoom - 1)),
        "a": lambda v: r(v, zoom=0),
        "t": lambda v: r(v, stitched=not v.stitched),
        "/": lambda v: r(v, prompt=" ".join(v.metrics)),
    }
    if key == "\x1b" and view.focus is not None:
        return replace(view, focus=None), ""
    if key in simple:
        return simple[key](view), ""
    if key in ("n", "]", _PGDN, _RIGHT):
        return replace(view, page=view.page + 1), ""
    if key in ("N", "[", _PGUP, _LEFT):
        return replace(view, page=view.page - 1), ""
    if key in _PANEL_KEYS:
        return replace(view, panel=_PANEL_KEYS[key], page=0), ""
    if key == "\t":
        nxt = PANELS[(PANELS.index(view.panel) + 1) % len(PANELS)] if view.panel in PANELS else PANELS[0]
        return replace(view, panel=nxt, page=0), ""
    return view, ""
