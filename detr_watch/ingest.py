"""The live view's producer: one thread that waits for file events and moves new records into the store.

The watchdog handler only signals; this thread waits on it with a timeout that doubles as a
safety poll (inotify misses writes on network file systems). It never touches the console: what the
view should know beyond the records (the format, how much of a big file is loaded, the usual interval
between records and the pace in seconds per epoch, as observed live) goes into the store's meta.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Optional

from detr_watch.errors import DetrWatchError
from detr_watch.pipeline import Source
from detr_watch.records import Record
from detr_watch.store import SeriesStore
from detr_watch.watch import Watcher

# Read at most this much per round, so a huge file fills in progressively and a stop is prompt.
ROUND_BYTES = 8 * 1024 * 1024
OBSERVED = 20  # live arrivals remembered for the usual interval and the pace


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
        self._live = False  # caught up with the file once: what arrives from now on is observed live
        self._arrivals: deque[tuple[float, Optional[float]]] = deque(maxlen=OBSERVED)
        self._meta: dict[str, str] = {}

    @property
    def watch_mode(self) -> str:
        return self._watcher.mode

    def pump(self) -> bool:
        """One round: read what is new, store it. True if more is waiting (read was capped)."""
        blocks = self.source.poll_blocks(ROUND_BYTES)
        arrived = self.source.modified(self._clock()) if blocks else None
        added = self.store.append_blocks(blocks, arrived=arrived)
        skipped = self.source.skipped
        if skipped != self._skipped:
            self.store.add_skipped(skipped - self._skipped)
            self._skipped = skipped
        fmt = self.source.format
        if fmt is not None and self.store.snapshot().meta.get("format") != fmt:
            self.store.set_meta("format", fmt)
        # What could not be read is said on screen: a file that is no training log, over-long lines.
        told = self._set("not_a_log", "1" if self.source.not_a_log else "")
        for key, value in self.source.meta.items():  # e.g. the run's epoch count, for progress and ETA
            told |= self._set(key, value)
        dropped = self.source.dropped_bytes
        told |= self._set("dropped", f"{dropped / 2**20:.1f} MiB" if dropped else "")
        if added and self._live:
            self._observe([blocks[-1].last_record()])
        self._loading()
        swapped = False
        if self.source.caught_up:
            self._live = True
            if self.store.staging:  # the history behind the tail is read: show it
                self.store.commit_stage()
                self._set("partial", "")
                swapped = True
        if (added or skipped or swapped or told) and self._on_change is not None:
            self._on_change()
        return not self.source.caught_up

    def _set(self, key: str, value: str) -> bool:
        """Put `key` in the store's meta ("" clears it); True if that changed it."""
        if self._meta.get(key, "") == value:
            return False
        self._meta[key] = value
        self.store.set_meta(key, value)
        return True

    def _loading(self) -> None:
        """While a big file's history is read (in rounds), how much of it: the status line shows it."""
        if self.source.caught_up:
            if self._meta.get("loading"):
                self._set("loading", "")
            return
        size = self.source.size
        if size > 0:
            self._set("loading", f"{min(99, int(100 * self.source.offset / size))}%")

    def _observe(self, records: list[Record]) -> None:
        """Arrival times of live records: the usual interval (for the "quiet" alert) and, where the
        records say which epoch they are at, the seconds per epoch (for the ETA)."""
        last = records[-1]
        pos = last.epoch if last.epoch is not None else (last.step if last.axis == "epoch" else None)
        if self._arrivals and pos is not None and (self._arrivals[-1][1] or 0.0) > pos:
            self._arrivals.clear()  # a restart: the old pace says nothing about the new run
        self._arrivals.append((self._clock(), pos))
        times = [t for t, _ in self._arrivals]
        if len(times) >= 3:
            gaps = sorted(b - a for a, b in zip(times, times[1:]))
            self._set("interval", f"{gaps[len(gaps) // 2]:.3f}")
        known = [(t, p) for t, p in self._arrivals if p is not None]
        if len(known) >= 2 and known[-1][1] > known[0][1] and known[-1][0] > known[0][0]:
            (t0, p0), (t1, p1) = known[0], known[-1]
            self._set("epoch_seconds", f"{(t1 - t0) / (p1 - p0):.3f}")

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

    def _tail_first(self) -> None:
        """A big file shows its tail at once; its history is read from the top behind it (staged)."""
        tail = self.source.read_tail()
        if tail is None:
            return
        self.store.append_blocks(tail.blocks, arrived=self.source.modified(self._clock()))
        self.store.set_meta("format", tail.format)
        self._set("partial", tail.describe())
        self.store.stage()
        if self._on_change is not None:
            self._on_change()

    def _run(self) -> None:
        try:
            self._tail_first()
            while not self._stop.is_set():
                more = self.pump()
                if more:
                    continue
                self._watcher.wait(self._safety_poll)
        except DetrWatchError as exc:
            self.error = exc
            if self._on_change is not None:
                self._on_change()
