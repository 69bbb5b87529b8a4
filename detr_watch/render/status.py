"""The status line: what is watched, how much arrived, how fresh it is, and what went wrong."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from detr_watch.analysis import count_nonfinite
from detr_watch.render import fmt
from detr_watch.render.memo import memo
from detr_watch.store import Snapshot
from detr_watch.text import clean
from detr_watch.view import View

WAITING = "waiting for the first metrics"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def status_text(snapshot: Snapshot, view: View, now: float, width: int = 0) -> Text:
    """One line; with `width`, the title is shortened first so the numbers stay visible."""
    sep = " | " if view.ascii else " · "
    parts: list[tuple[str, str]] = []
    if snapshot.records == 0:
        parts.append((WAITING, "yellow"))
    else:
        parts.append((_plural(snapshot.records, "record"), ""))
        last = snapshot.last_record
        if last is not None:
            parts.append((f"{snapshot.axis} {fmt.step(last.step)}", "bold"))
            if len(snapshot.runs) > 1:
                parts.append((f"run {last.run + 1} of {len(snapshot.runs)}", ""))
        if snapshot.last_arrival is not None:
            parts.append((f"last record {fmt.age(now - snapshot.last_arrival)}", ""))
    if snapshot.skipped_lines:
        parts.append((_plural(snapshot.skipped_lines, "skipped line"), "yellow"))
    bad = memo(
        snapshot, "nonfinite", lambda: sum(count_nonfinite(s.values) for s in snapshot.series.values())
    )
    if bad:
        parts.append((_plural(bad, "NaN/Inf value"), "red"))
    if view.paused:
        parts.append(("PAUSED", "reverse"))
    title = clean(view.title or "detr-watch", 200)
    if width:
        room = width - sum(len(sep) + len(p) for p, _ in parts)
        room = max(room, 16)
        if len(title) > room:
            title = title[: room - 3] + "..."
    text = Text(no_wrap=True, overflow="crop", end="")
    text.append(title, style="bold")
    for part, style in parts:
        text.append(sep, style="dim")
        text.append(part, style=style)
    if width:
        text.truncate(width)
    return text


class StatusLine:
    def __init__(self, snapshot: Snapshot, view: View, now: float) -> None:
        self.snapshot = snapshot
        self.view = view
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield status_text(self.snapshot, self.view, self.now, options.max_width)
