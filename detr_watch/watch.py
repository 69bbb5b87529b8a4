"""File events for one log: the only module that imports watchdog.

The handler only sets an Event; the ingest thread waits on it with a timeout that doubles as
its safety poll and reads the file itself (`detr_watch.tail`). The file's directory is watched,
not the file, so that a rename, a delete or a replacement under the name is seen: a watch on the
file itself would follow the old inode. Polling is the fallback where inotify cannot start
(watch or instance limits) and the choice (`poll=True`) where it does not see writes (NFS, CIFS,
SSHFS, VirtualBox shares).

A directory that does not exist yet is not an error: its nearest existing ancestor is watched
for the missing component, and the watch moves down as directories appear (checked at each
`wait()`). A symlinked log also has its target's directory watched, since writes happen there.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Callable, Optional

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

# Opened/closed events are left out on purpose: our own reads raise them. So are attribute and
# directory-modified events, which say nothing about the log's content.
_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]
_EVENT_CLASSES = tuple(_EVENTS)

# watch directory -> the paths inside it whose events matter (the directory itself included,
# for its own deletion)
_Plan = dict[str, frozenset[str]]


class _Signal(FileSystemEventHandler):
    """Sets the event when something happens to one of `paths`; nothing else."""

    def __init__(self, event: threading.Event) -> None:
        super().__init__()
        self.event = event
        self.paths: frozenset[str] = frozenset()  # replaced whole, never mutated

    def on_any_event(self, event: FileSystemEvent) -> None:
        # By class, not by event_type: a DirModifiedEvent is "modified" too, and the watched
        # directory is among the paths (for its own deletion).
        if not isinstance(event, _EVENT_CLASSES):
            return
        # dest_path is "" except for moves, and "" is never one of the paths.
        if not self.paths.isdisjoint((os.fsdecode(event.src_path), os.fsdecode(event.dest_path))):
            self.event.set()


def _plan(path: str) -> _Plan:
    """Which directories to watch for `path`, and which of their entries matter."""
    absolute = os.path.abspath(path)
    real = os.path.realpath(absolute)
    plan: dict[str, set[str]] = {}
    for target in dict.fromkeys((absolute, real)):
        child, parent = target, os.path.dirname(target)
        while not os.path.isdir(parent) and os.path.dirname(parent) != parent:
            child, parent = parent, os.path.dirname(parent)
        plan.setdefault(parent, {parent}).add(child)
    return {d: frozenset(p) for d, p in plan.items()}


def _identity(plan: _Plan) -> frozenset[tuple[str, frozenset[str], int, int]]:
    # The inode tells a directory that was replaced under the same name: its old watch is dead.
    out = set()
    for d, paths in plan.items():
        try:
            st = os.stat(d)
            out.add((d, paths, st.st_dev, st.st_ino))
        except OSError:
            out.add((d, paths, -1, -1))
    return frozenset(out)


class Watcher:
    """Wakes a waiting thread when the log at `path` may have changed.

    `mode` says what runs: "inotify" (the platform's native observer) or "polling" (every
    `poll_interval` seconds); `fallback_reason` says why inotify was not used when it was wanted.
    """

    # The native observer; a test can substitute one that fails to start.
    _native: Callable[[], BaseObserver] = Observer

    def __init__(
        self, path: str | os.PathLike[str], *, poll: bool = False, poll_interval: float = 1.0
    ) -> None:
        self.path: str = os.fspath(path)
        self.mode = "polling" if poll else "inotify"
        self.fallback_reason: Optional[str] = None
        self._poll = poll
        self._poll_interval = poll_interval
        self._event = threading.Event()
        self._signal = _Signal(self._event)
        self._lock = threading.Lock()
        self._observer: Optional[BaseObserver] = None
        self._identity: frozenset[tuple[str, frozenset[str], int, int]] = frozenset()

    def start(self) -> None:
        """Start the observer thread (inotify, or polling when asked or when inotify fails)."""
        with self._lock:
            if self._observer is not None:
                return
            plan = _plan(self.path)
            if not self._poll:
                try:
                    self._observer = self._launch(type(self)._native, plan)
                    self.mode = "inotify"
                except OSError as exc:
                    self.fallback_reason = f"inotify unavailable ({exc.strerror or exc})"
            if self._observer is None:
                self._observer = self._launch(lambda: PollingObserver(timeout=self._poll_interval), plan)
                self.mode = "polling"
            self._identity = _identity(plan)

    def stop(self) -> None:
        """Stop and join the observer thread, and wake any waiter. Idempotent."""
        with self._lock:
            observer, self._observer = self._observer, None
        if observer is not None:
            _halt(observer)
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Block until a relevant event or `timeout` seconds; True if an event came (it is cleared).

        Also True when the watches had to move (a directory on the way appeared or vanished),
        since events may have been missed meanwhile.
        """
        fired = self._event.wait(timeout)
        # Clear before the caller reads: an event that lands after this is for data it may miss.
        self._event.clear()
        return self._follow_path() or fired

    def wake(self) -> None:
        """Make the current or next `wait()` return True at once."""
        self._event.set()

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _launch(self, make: Callable[[], BaseObserver], plan: _Plan) -> BaseObserver:
        observer = make()
        try:
            self._schedule(observer, plan)
            observer.start()
        except BaseException:
            _halt(observer)
            raise
        return observer

    def _schedule(self, observer: BaseObserver, plan: _Plan) -> None:
        self._signal.paths = frozenset(p for paths in plan.values() for p in paths)
        for directory in plan:
            observer.schedule(self._signal, directory, recursive=False, event_filter=_EVENTS)

    def _follow_path(self) -> bool:
        """Move the watches if the directories on the way to the file changed; True if they did."""
        with self._lock:
            observer = self._observer
            if observer is None:
                return False
            plan = _plan(self.path)
            identity = _identity(plan)
            if identity == self._identity:
                return False
            self._identity = identity
            observer.unschedule_all()
            try:
                self._schedule(observer, plan)
            except OSError as exc:
                if self.mode != "inotify":
                    raise
                self._observer = None
                _halt(observer)
                self.fallback_reason = f"inotify unavailable ({exc.strerror or exc})"
                self._observer = self._launch(lambda: PollingObserver(timeout=self._poll_interval), plan)
                self.mode = "polling"
        # Whatever happened while the watches moved went unseen: the caller should read.
        return True


def _halt(observer: BaseObserver) -> None:
    observer.stop()
    # join() of an observer that never started raises RuntimeError; stop() already cleaned up.
    with contextlib.suppress(RuntimeError):
        observer.join()
