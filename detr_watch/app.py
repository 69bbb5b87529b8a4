"""The live view: the ingest thread fills the store; this loop reads keys and repaints on change.

Repaints happen only when something changed (new data, a resize, a key, or the "last record
N ago" clock ticking over), at most `max_fps` times a second. When idle the loop sleeps in
`select` on the keyboard and a wake-up pipe, so an unchanging log costs no CPU.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from dataclasses import replace
from types import FrameType
from typing import IO, Callable, Optional

from detr_watch.errors import DetrWatchError
from detr_watch.ingest import Ingest
from detr_watch.keys import Keyboard
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore, Snapshot
from detr_watch.view import View


class ExitSignal(Exception):
    """SIGTERM/SIGHUP arrived: leave the screen cleanly, exit with 128 + signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.code = 128 + signum


def _raise_exit(signum: int, frame: Optional[FrameType]) -> None:
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
    source: Source,
    view: View,
    *,
    poll: bool = False,
    stdout: IO[str] = sys.stdout,
    stdin: Optional[IO[str]] = None,
    width: Optional[int] = None,
    height: Optional[int] = None,
    max_fps: float = 20.0,
    clock: Callable[[], float] = time.time,
) -> int:
    """Watch `source` until `q`, Ctrl-C (exit 0), SIGTERM or SIGHUP (128 + signal)."""
    from detr_watch.render.console import live_console
    from detr_watch.render.dashboard import Dashboard
    from detr_watch.render.screen import Screen

    store = SeriesStore()
    waker = _Waker()
    ingest = Ingest(source, store, poll=poll, on_change=waker.wake, clock=clock)
    console = live_console(stdout, width, height)
    old_handlers = {sig: signal.signal(sig, _raise_exit) for sig in (signal.SIGTERM, signal.SIGHUP)}
    old_winch = signal.signal(signal.SIGWINCH, lambda s, f: waker.wake())
    min_interval = 1.0 / max_fps
    try:
        with Keyboard(stdin) as keyboard, Screen(console) as screen:
            ingest.start()
            painted: Optional[tuple[object, ...]] = None
            snap: Optional[Snapshot] = None
            last_paint = 0.0
            fds = [waker.r] + ([keyboard.fd] if keyboard.fd is not None else [])
            while True:
                if ingest.error is not None:
                    raise ingest.error
                if snap is None or not view.paused:
                    snap = store.snapshot()
                now = clock()
                state = (snap.version, screen.size, view, age_bucket(now, snap.last_arrival))
                if state != painted:
                    wait = last_paint + min_interval - time.monotonic()
                    if wait <= 0:
                        screen.show(Dashboard(snap, view, now))
                        painted = state
                        last_paint = time.monotonic()
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
                        if key in ("q", "Q"):
                            return 0
                        if key == "p":
                            view = replace(view, paused=not view.paused)
    except KeyboardInterrupt:
        return 0
    except ExitSignal as exc:
        return exc.code
    finally:
        ingest.stop()
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        signal.signal(signal.SIGWINCH, old_winch)
        waker.close()


__all__ = ["DetrWatchError", "run_live", "age_bucket"]
