"""What the one-shot commands share: read a whole log (or the end of a big one) into a store."""

from __future__ import annotations

import time
from typing import Optional

from detr_watch.errors import DetrWatchError, warn
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore

# Read in rounds of this many bytes: memory holds one round of lines, not the whole file.
ROUND_BYTES = 8 * 1024 * 1024


def load(source: Source, store: SeriesStore, *, allow_waiting: bool = False) -> None:
    """Read `source` to its end into `store`; raise if it is empty or not a training log.

    With `allow_waiting`, a recognised log with no metrics yet is not an error (the frame
    says "waiting for the first metrics").
    """
    # Rounds up to the end of the file; the final poll then settles the format from whatever head
    # there is (a short file may be too short for detection to be sure).
    arrived = source.modified(time.time())
    first = True
    while True:
        store.append_blocks(source.poll_blocks(ROUND_BYTES), arrived=arrived)
        if source.caught_up:
            break
        if first and source.offset:
            store.expect(1.05 * source.size / source.offset)  # the rest is like the first round
            first = False
    store.append_blocks(source.poll_blocks(final=True), arrived=arrived)
    store.add_skipped(source.skipped)
    note = source.dropped_note()
    if note is not None:
        warn(note)
    if source.format is not None:
        store.set_meta("format", source.format)
    for key, value in source.meta.items():
        store.set_meta(key, value)
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


def load_tail(source: Source, store: SeriesStore, nbytes: Optional[int] = None) -> bool:
    """Only the end of a big log into `store`, for a frame that cannot wait for the history.

    The store's meta "partial" says what was read ("last 2.1 MB of 300 MB"). False, with the store
    untouched, when the file is not big enough for that to matter or its tail holds no records:
    then `load` reads it whole.
    """
    tail = source.read_tail(nbytes)
    if tail is None:
        return False
    store.append_blocks(tail.blocks, arrived=source.modified(time.time()))
    store.add_skipped(tail.skipped)
    store.set_meta("format", tail.format)
    store.set_meta("partial", tail.describe())
    return True
