"""The live view's producer: one thread that waits for file events and moves new records into the store.

The watchdog handler only signals; this thread waits on it with a timeout that doubles as a
safety poll (inotify misses writes on network file systems). It never touches the console.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

from detr_watch.errors import DetrWatchError
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore
from detr_watch.watch import Watcher

# Read at most this much per round, so a huge file fills in progressively and a stop is prompt.
ROUND_BYTES = 8 * 1024 * 1024


class Ingest:
    """Follows one source into one store on a background thread."""

    def __init__(
        self,
        source: Source,
        store: SeriesStore,
        *,
        poll: bool = False,
        safety_poll: float = 1.0,
        on_change: Optional[Callable[[], None]] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.store = store
        self.error: Optional[DetrWatchError] = None
        self._watcher = Watcher(source.path, poll=poll, poll_interval=safety_poll)
        self._safety_poll = safety_poll
        self._on_change = on_change
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="detr-watch-ingest", daemon=True)
        self._skipped = 0

    @property
    def watch_mode(self) -> str:
        return self._watcher.mode

    def pump(self) -> bool:
        """One round: read what is new, store it. True if more is waiting (read was capped)."""
        records = self.source.poll(ROUND_BYTES)
        added = self.store.append(records, arrived=self.source.modified(self._clock()) if records else None)
        skipped = self.source.skipped
        if skipped != self._skipped:
            self.store.add_skipped(skipped - self._skipped)
            self._skipped = skipped
        fmt = self.source.format
        if fmt is not None and self.store.snapshot().meta.get("format") != fmt:
            self.store.set_meta("format", fmt)
        if self.source.not_a_log and "not_a_log" not in self.store.snapshot().meta:
            self.store.set_meta("not_a_log", "1")
        if (added or skipped) and self._on_change is not None:
            self._on_change()
        return not self.source.caught_up

    def start(self) -> None:
        self._watcher.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._watcher.wake()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._watcher.stop()
        self.source.close()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                more = self.pump()
                if more:
                    continue
                self._watcher.wait(self._safety_poll)
        except DetrWatchError as exc:
            self.error = exc
            if self._on_change is not None:
                self._on_change()
