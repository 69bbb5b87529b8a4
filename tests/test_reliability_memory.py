"""Memory stays with the data: what the renderers derive from a snapshot goes when the snapshot goes.

With records arriving every frame, each frame has a new snapshot; caches bounded only by a count
would keep that many full-length copies of the history (the soak test saw the live view hold four
times its data). The end-to-end check is tests/test_soak.py; this is the mechanism, exactly.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np

from detr_watch import memo
from detr_watch.records import Record
from detr_watch.store import SeriesStore


class Derived:
    """Stands for a full-length array derived from a snapshot (weakly referenceable, unlike ndarray views)."""

    def __init__(self, n: int) -> None:
        self.values = np.zeros(n)


def test_results_of_superseded_snapshots_are_dropped() -> None:
    memo.clear()
    store = SeriesStore()
    gone: list[weakref.ref[Derived]] = []
    for i in range(memo.KEEP + 3):
        store.append([Record(float(i), {"train_loss": 1.0 / (i + 1)})], arrived=float(i))
        snap = store.snapshot()
        one = memo.memo(snap, "history", lambda: Derived(1000))
        many = memo.latest(("chart", 80, 20), (snap,), id(snap), lambda: Derived(1000))
        assert memo.memo(snap, "history", lambda: Derived(1)) is one  # still cached while it lives
        assert memo.latest(("chart", 80, 20), (snap,), id(snap), lambda: Derived(1)) is many
        gone += [weakref.ref(one), weakref.ref(many)]
        del snap, one, many
        gc.collect()
    alive = [r for r in gone[:-2] if r() is not None]  # the last snapshot is the store's own
    assert alive == [], f"{len(alive)} results of superseded snapshots are still held"
    memo.clear()


def test_a_living_snapshot_keeps_its_results() -> None:
    memo.clear()
    store = SeriesStore()
    store.append([Record(0.0, {"train_loss": 1.0})], arrived=0.0)
    paused = store.snapshot()  # a paused view holds on to its snapshot while data goes on arriving
    kept = memo.memo(paused, "history", lambda: Derived(10))
    for i in range(1, 2 * memo.KEEP):
        store.append([Record(float(i), {"train_loss": 1.0})], arrived=float(i))
        memo.memo(store.snapshot(), "history", lambda: Derived(10))
        gc.collect()
    assert memo.memo(paused, "history", lambda: Derived(1)) is kept
    memo.clear()
