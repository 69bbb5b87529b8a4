"""The live view: ingest threads fill the stores (one per log); this loop reads keys and repaints on change.

Repaints happen only when something changed (new data, a resize, a key, or the "last record
N ago" clock ticking over), at most `max_fps` times a second, and then only the lines that changed
reach the terminal. When idle the loop sleeps in `select` on the keyboard and a wake-up pipe, so an
unchanging log costs no CPU. Keys change an immutable View (`keys.apply_key`); `--bell` rings once
per new alert.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from types import FrameType
from typing import IO, Callable, Optional, Sequence, Union

from detr_watch.errors import DetrWatchError
from detr_watch.ingest import Ingest
from detr_watch.keys import QUIT, Keyboard, TerminalGone, apply_key
from detr_watch.logs import Log
from detr_watch.logs import labels as log_labels
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore, Snapshot
from detr_watch.view import View

# New data is painted at most once per BUSY_FACTOR x the cost of a paint (at most 1/BUSY_FACTOR of a
# core), but at least every MAX_DATA_WAIT seconds: the count on screen must keep moving every second.
BUSY_FACTOR = 4.0
MAX_DATA_WAIT = 0.5


class ExitSignal(Exception):
    """SIGTERM/SIGHUP arrived: leave the screen cleanly, exit with 128 + signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.code = 128 + signum


class _Exit:
    """The SIGTERM/SIGHUP handler: the first signal ends the loop, later ones (a hangup is often sent
    twice: by the kernel and by the login shell) are ignored while the terminal is put back."""

    def __init__(self) -> None:
        self.signalled = False

    def __call__(self, signum: int, frame: Optional[FrameType]) -> None:
        if not self.signalled:
            self.signalled = True
            raise ExitSignal(signum)


class _Waker:
    """A self-pipe the ingest thread writes to, so the loop wakes as soon as data arrives."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        os.set_blocking(self.w, False)

    def wake(self) -> None:
        try:
            os.write(self.w, b"x")
        except (BlockingIOError, OSError):
            pass

    def drain(self) -> None:
        try:
            while os.read(self.r, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        os.close(self.r)
        os.close(self.w)


def age_bucket(now: float, last: Optional[float]) -> int:
    """Changes exactly when the status line's "N ago" text can change (seconds, then minutes)."""
    if last is None:
        return -1
    age = max(0.0, now - last)
    return int(age) if age < 60 else 60 + int(age // 60)


def run_live(
    sources: Union[Source, Sequence[Source]],
    view: View,
    *,
    labels: Optional[Sequence[str]] = None,
    poll: bool = False,
    stdout: IO[str] = sys.stdout,
    stdin: Optional[IO[str]] = None,
    width: Optional[int] = None,
    height: Optional[int] = None,
    max_fps: float = 20.0,
    clock: Callable[[], float] = time.time,
    bell: bool = False,
) -> int:
    """Watch the sources until `q`, Ctrl-C (exit 0), SIGTERM or SIGHUP (128 + signal).

    One store and one ingest thread per source; every thread wakes this loop through one pipe.
    """
    from detr_watch.render.console import live_console
    from detr_watch.render.dashboard import Dashboard
    from detr_watch.render.screen import Screen
    from detr_watch.render.status import board_alerts

    srcs = [sources] if isinstance(sources, Source) else list(sources)
    names = list(labels) if labels is not None else log_labels([s.label for s in srcs])
    stores = [SeriesStore() for _ in srcs]
    waker = _Waker()
    ingests = [Ingest(src, st, poll=poll, on_change=waker.wake, clock=clock) for src, st in zip(srcs, stores)]
    console = live_console(stdout, width, height)
    on_exit = _Exit()
    old_handlers = {sig: signal.signal(sig, on_exit) for sig in (signal.SIGTERM, signal.SIGHUP)}
    old_winch = signal.signal(signal.SIGWINCH, lambda s, f: waker.wake())
    min_interval = 1.0 / max_fps
    rung: set[tuple[object, ...]] = set()
    hung_up = False
    try:
        with Keyboard(stdin) as keyboard, Screen(console) as screen:
            for ingest in ingests:
                ingest.start()
            painted: Optional[tuple[object, ...]] = None
            snaps: Optional[tuple[Snapshot, ...]] = None
            last_paint = 0.0
            cost = 0.0  # seconds the last paint took
            fds = [waker.r] + ([keyboard.fd] if keyboard.fd is not None else [])
            while True:
                for ingest in ingests:
                    if ingest.error is not None:
                        raise ingest.error
                if snaps is None or not view.paused:
                    snaps = tuple(st.snapshot() for st in stores)
                now = clock()
                ages = tuple(age_bucket(now, s.last_arrival) for s in snaps)
                state = (tuple(s.version for s in snaps), screen.size, view, ages)
                if state != painted:
                    # A key or a resize is answered at once; new data waits while frames are costly
                    # (plotext: ~30 ms a chart on a long history), so a busy log stays at a fraction
                    # of a core.
                    answer = painted is None or state[1:3] != painted[1:3]
                    busy = min(max(min_interval, BUSY_FACTOR * cost), MAX_DATA_WAIT)
                    interval = min_interval if answer else busy
                    wait = last_paint + interval - time.monotonic()
                    if wait <= 0:
                        started = time.monotonic()
                        board = tuple(Log(label, snap) for label, snap in zip(names, snaps))
                        keys = {(label, a.key) for label, a in board_alerts(board, now)}
                        if bell and keys - rung:
                            screen.bell()  # once per new alert, not once per frame
                        rung |= keys
                        screen.show(Dashboard(board, view, now))
                        painted = state
                        last_paint = time.monotonic()
                        cost = last_paint - started
                        wait = 1.0
                else:
                    wait = 1.0
                try:
                    ready, _, _ = select.select(fds, [], [], max(wait, 0.0))
                except InterruptedError:
                    continue
                if waker.r in ready:
                    waker.drain()
                if keyboard.fd is not None and keyboard.fd in ready:
                    for key in keyboard.read():
                        focused = None
                        if key == "l" and view.focus is not None and snaps is not None:
                            board = tuple(Log(label, snap) for label, snap in zip(names, snaps))
                            focused = Dashboard(board, view, now).focused_title(*screen.size)
                        view, action = apply_key(view, key, focused)
                        if action == QUIT:
                            return 0
    except KeyboardInterrupt:
        return 0
    except ExitSignal as exc:
        hung_up = exc.code == 128 + signal.SIGHUP
        return exc.code
    except TerminalGone:
        hung_up = True
        return 128 + signal.SIGHUP  # as if the hangup signal had come: the session is over
    finally:
        on_exit.signalled = True  # from here on a signal must not interrupt the cleanup
        for ingest in ingests:
            ingest.stop()
        for sig, handler in old_handlers.items():
            # after a hangup the process is on its way out: another SIGHUP (the kernel's and the login
            # shell's) must not kill it with the default action before it exits with its status
            signal.signal(sig, signal.SIG_IGN if hung_up and sig == signal.SIGHUP else handler)
        signal.signal(signal.SIGWINCH, old_winch)
        waker.close()


def print_once(
    sources: Sequence[Source],
    view: View,
    stdout: IO[str],
    width: Optional[int],
    height: Optional[int],
    labels: Optional[Sequence[str]] = None,
) -> int:
    """One frame of several logs (`--once`, or a pipe): each read whole, then the same dashboard."""
    from detr_watch.commands.common import load
    from detr_watch.render.console import frame_size, once_console, print_frame
    from detr_watch.render.dashboard import Dashboard

    names = list(labels) if labels is not None else log_labels([s.label for s in sources])
    board = []
    for label, source in zip(names, sources):
        store = SeriesStore()
        try:
            load(source, store, allow_waiting=True)
        finally:
            source.close()
        board.append(Log(label, store.snapshot()))
    w, h = frame_size(stdout, width, height)
    print_frame(once_console(stdout, w, h), Dashboard(board, view, time.time()), h)
    return 0


__all__ = ["DetrWatchError", "run_live", "print_once", "age_bucket"]
