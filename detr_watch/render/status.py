"""The status bar, two lines: what is watched and how far it is (progress, ETA, freshness), then the
alerts on the left and the display settings on the right (or the metric filter being typed)."""

from __future__ import annotations

from typing import Optional

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text

from detr_watch import alerts, progress
from detr_watch.logs import Board, Log
from detr_watch.memo import memo
from detr_watch.render import fmt
from detr_watch.store import Snapshot
from detr_watch.text import clean
from detr_watch.view import PANEL_TITLES, View

WAITING = "waiting for the first metrics"
NOT_A_LOG = "not a training log this tool can read"
HEIGHT = 2
_LEVEL_STYLES = {"error": "bold red", "warning": "yellow"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def run_progress(snapshot: Snapshot, view: View) -> progress.Progress:
    return memo(snapshot, ("progress", view.epochs), lambda: progress.progress(snapshot, view.epochs))


def log_alerts(snapshot: Snapshot, now: float) -> list[alerts.Alert]:
    """The alerts of one log at `now` (the data part is computed once per snapshot)."""
    found = list(memo(snapshot, "alerts", lambda: alerts.data_alerts(snapshot)))
    interval = memo(snapshot, "interval", lambda: alerts.usual_interval(snapshot))
    q = alerts.quiet(snapshot, now, interval)
    if q is not None:
        found.insert(1 if found and found[0].kind == "nonfinite" else 0, q)
    return found


def board_alerts(board: Board, now: float) -> list[tuple[str, alerts.Alert]]:
    """(log label or "", alert) for every log."""
    multi = len(board) > 1
    return [(log.label if multi else "", a) for log in board for a in log_alerts(log.snapshot, now)]


def position(snapshot: Snapshot, view: View) -> list[tuple[str, str]]:
    """The newest step, the epoch out of the run's epochs, the ETA and the time per epoch."""
    last = snapshot.last_record
    if last is None:
        return []
    parts: list[tuple[str, str]] = []
    p = run_progress(snapshot, view)
    epoch = ""
    if p.shown is not None:
        epoch = f"epoch {fmt.step(p.shown)}" + (f"/{fmt.step(p.total)}" if p.total is not None else "")
    if last.axis == "epoch":
        parts.append((epoch or f"epoch {fmt.step(last.step)}", "bold"))
    else:
        parts.append((f"{last.axis} {fmt.step(last.step)}", "bold"))
        if epoch:
            parts.append((epoch, "bold"))
    if p.eta is not None:
        parts.append((f"ETA {alerts.duration(p.eta)}", "bold"))
    if p.sec_per_epoch is not None:
        parts.append((f"{alerts.duration(p.sec_per_epoch)}/epoch", ""))
    return parts


def nonfinite(snapshot: Snapshot) -> int:
    """How many NaN/Inf values the snapshot holds (counted over new rows: `alerts.nonfinite_points`)."""
    return memo(snapshot, "nonfinite", lambda: sum(c for c, _ in alerts.nonfinite_points(snapshot).values()))


def _log_parts(log: Log, view: View, now: float, multi: bool) -> list[tuple[str, str, int]]:
    """(text, style, priority): the lowest priority goes first when the line is too long."""
    snap = log.snapshot
    out: list[tuple[str, str, int]] = []
    # several logs: each log's first part carries its label ("swin: epoch 49/50")
    label = clean(log.label, 30) + ": " if multi else ""
    dropped = snap.meta.get("dropped")
    if snap.records == 0:
        if snap.meta.get("not_a_log"):
            out.append((label + NOT_A_LOG, "bold red", 9))
        else:
            out.append((label + WAITING, "yellow", 8))
        if snap.skipped_lines:
            out.append((_plural(snap.skipped_lines, "skipped line"), "yellow", 2))
        if dropped:
            out.append((f"{clean(dropped, 20)} of over-long lines skipped", "red", 4))
        return out
    fmt_name = snap.meta.get("format")
    if fmt_name and not multi:
        out.append((fmt_name, "dim", 1))
    out.append((_plural(snap.records, "record"), "", 3 if not multi else 1))
    for i, (text, style) in enumerate(position(snap, view)):
        out.append(
            ((label if i == 0 else "") + text, style, 9 if i == 0 else 8 if text.startswith("epoch") else 6)
        )
    if len(snap.runs) > 1 and snap.last_record is not None:
        out.append((f"run {snap.last_record.run + 1} of {len(snap.runs)}", "", 4))
    loading = snap.meta.get("loading")
    if loading:
        out.append((f"loading {clean(loading, 20)}", "yellow", 7))
    partial = snap.meta.get("partial")  # a one-shot frame drawn from the end of a big file
    if partial:
        out.append((clean(partial, 40), "yellow", 7))
    if snap.last_arrival is not None:
        out.append((f"last record {fmt.age(now - snap.last_arrival)}", "", 5 if not multi else 2))
    if snap.skipped_lines:
        out.append((_plural(snap.skipped_lines, "skipped line"), "yellow", 2))
    if dropped:
        out.append((f"{clean(dropped, 20)} of over-long lines skipped", "red", 4))
    bad = nonfinite(snap)
    if bad:
        out.append((_plural(bad, "NaN/Inf value"), "red", 4))
    return out


def _fit_parts(title: str, parts: list[tuple[str, str, int]], sep: str, width: int) -> Text:
    """Title and parts in one line: low-priority parts are dropped, then the title is shortened."""
    parts = list(parts)
    while parts and width and len(title[:16]) + sum(len(sep) + len(p) for p, _, _ in parts) > width:
        drop = min(range(len(parts)), key=lambda i: (parts[i][2], -i))
        parts.pop(drop)
    if width:
        room = max(width - sum(len(sep) + len(p) for p, _, _ in parts), 16)
        if len(title) > room:
            title = title[: room - 3] + "..."
    text = Text(no_wrap=True, overflow="crop", end="")
    text.append(title, style="bold")
    for part, style, _ in parts:
        text.append(sep, style="dim")
        text.append(part, style=style)
    if width:
        text.truncate(width)
    return text


def status_text(board: Board, view: View, now: float, width: int = 0) -> Text:
    """The first line; with `width`, the least useful parts give way first."""
    sep = " | " if view.ascii else " · "
    multi = len(board) > 1
    parts: list[tuple[str, str, int]] = []
    for log in board:
        parts.extend(_log_parts(log, view, now, multi))
    if view.paused:
        parts.append(("PAUSED", "reverse", 10))
    title = clean(view.title or "detr-watch", 200)
    return _fit_parts(title, parts, sep, width)


def settings(view: View, pages: Optional[tuple[int, int]] = None) -> list[str]:
    """The display settings that differ from a plain view, and where the help is."""
    out: list[str] = []
    if view.panel != "charts":
        out.append(PANEL_TITLES.get(view.panel, view.panel))
    if view.metrics:
        out.append("filter " + ",".join(view.metrics))
    out.append(
        f"smooth {view.smoothing:g}" + ("+epochs" if view.smooth_epochs else "")
        if view.smoothing
        else "no smoothing"
    )
    if view.smoothing and not view.raw:
        out.append("no raw")
    if view.log_y:
        out.append("log y" + (f" but {len(view.log_charts)}" if view.log_charts else ""))
    elif view.log_charts:
        out.append(f"log y on {len(view.log_charts)}")
    if view.robust_y:
        out.append("y 5-95%")
    if view.x != "step":
        out.append(f"x {view.x}")
    if view.zoom:
        out.append(f"zoom 1/{2**view.zoom}")
    if view.stitched:
        out.append("runs stitched")
    if pages is not None and pages[1] > 1:
        out.append(f"page {pages[0] + 1}/{pages[1]}")
    if view.mode == "live":
        out.append("? help")
    return out


def second_line(board: Board, view: View, now: float, width: int, pages: Optional[tuple[int, int]]) -> Text:
    """Alerts on the left, settings on the right; the filter prompt while one is typed."""
    sep = " | " if view.ascii else " · "
    text = Text(no_wrap=True, overflow="crop", end="")
    if view.prompt is not None:
        text.append("filter: ", style="bold")
        text.append(clean(view.prompt, 200))
        text.append("_" if view.ascii else "▏", style="blink")
        text.append("   Enter applies · Esc cancels · empty shows all", style="dim")
        text.truncate(width)
        return text
    right = sep.join(settings(view, pages))
    found = board_alerts(board, now)
    room = max(0, width - len(right) - 2)
    for i, (label, alert) in enumerate(found):
        piece = (f"{label}: " if label else "") + clean(alert.text, 200)
        if i:
            text.append(sep, style="dim")
        text.append(piece, style=_LEVEL_STYLES.get(alert.level, "yellow"))
    if text.cell_len > room:
        text.truncate(max(0, room - 1))
        if found and room > 1:
            text.append("…" if not view.ascii else "~", style="yellow")
    text.append(" " * max(0, width - text.cell_len - len(right)))
    text.append(right, style="dim")
    text.truncate(width)
    return text


class StatusBar:
    """The two status lines (`HEIGHT`)."""

    def __init__(self, board: Board, view: View, now: float, pages: Optional[tuple[int, int]] = None) -> None:
        self.board = board
        self.view = view
        self.now = now
        self.pages = pages

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        yield status_text(self.board, self.view, self.now, width)
        yield Segment.line()
        yield second_line(self.board, self.view, self.now, width, self.pages)
        yield Segment.line()


class StatusLine:
    """The first status line alone (kept for callers that want one line)."""

    def __init__(self, snapshot: Snapshot, view: View, now: float) -> None:
        self.snapshot = snapshot
        self.view = view
        self.now = now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield status_text((Log(self.view.title, self.snapshot),), self.view, self.now, options.max_width)


__all__ = ["HEIGHT", "WAITING", "StatusBar", "StatusLine", "board_alerts", "status_text"]
