"""The full-screen live display: rich Live on the alternate screen, painted only when told."""

from __future__ import annotations

from types import TracebackType
from typing import Optional

from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text


class Screen:
    """`with Screen(console) as s: s.show(renderable)`; leaves the terminal as it found it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        # auto_refresh off: no refresh thread re-rendering unchanged frames (10% of a core idle).
        self._live = Live(
            Text(""),
            console=console,
            screen=True,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
            transient=True,
        )

    @property
    def size(self) -> tuple[int, int]:
        w, h = self.console.size
        return w, h

    def show(self, renderable: RenderableType) -> None:
        self._live.update(renderable, refresh=True)

    def bell(self) -> None:
        self.console.bell()

    def __enter__(self) -> Screen:
        self._live.start()
        self.console.show_cursor(False)
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        try:
            self._live.stop()
        finally:
            self.console.show_cursor(True)
