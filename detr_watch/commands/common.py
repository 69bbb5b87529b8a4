"""What the one-shot commands share: read a whole log into a store."""

from __future__ import annotations

import time

from detr_watch.errors import DetrWatchError, warn
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore


def load(source: Source, store: SeriesStore, *, allow_waiting: bool = False) -> None:
    """Read `source` to its end into `store`; raise if it is empty or not a training log.

    With `allow_waiting`, a recognised log with no metrics yet is not an error (the frame
    says "waiting for the first metrics").
    """
    # poll() without a byte budget reads to the end of the file; the final poll then settles the
    # format from whatever head there is (a short file may be too short for detection to be sure).
    arrived = source.modified(time.time())
    store.append(source.poll(), arrived=arrived)
    store.append(source.poll(final=True), arrived=arrived)
    store.add_skipped(source.skipped)
    note = source.dropped_note()
    if note is not None:
        warn(note)
    if source.format is not None:
        store.set_meta("format", source.format)
    if not source.exists:
        raise DetrWatchError(f"{source.label} does not exist", hint="check the path")
    if source.offset == 0 and source.format is None:
        raise DetrWatchError(
            f"{source.label} is empty",
            hint=f"nothing written yet: 'detr-watch {source.label}' waits for the first lines",
        )
    source.check_log()
    if store.snapshot().records == 0 and not allow_waiting:
        raise DetrWatchError(
            f"{source.label} has no metrics yet ({source.format})",
            hint=f"'detr-watch {source.label}' waits for the first metrics",
        )
