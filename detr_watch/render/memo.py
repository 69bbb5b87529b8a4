"""Results derived from one snapshot, kept while that snapshot lives.

A snapshot never changes, and the store hands out the same snapshot object until new data arrives,
so a repaint for a resize, a key or the ticking "N ago" clock reuses the statistics of the last one.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable, Hashable, TypeVar

from detr_watch.store import Snapshot

T = TypeVar("T")
KEEP = 4  # snapshots remembered (a paused view and the live one, with room to spare)

_LOCK = threading.Lock()
_MEMO: OrderedDict[int, tuple[weakref.ref[Snapshot], dict[Hashable, Any]]] = OrderedDict()


def memo(snapshot: Snapshot, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, remembered for this snapshot under `key` (which must name every other input)."""
    sid = id(snapshot)
    with _LOCK:
        entry = _MEMO.get(sid)
        if entry is None or entry[0]() is not snapshot:
            entry = (weakref.ref(snapshot), {})
            _MEMO[sid] = entry
            while len(_MEMO) > KEEP:
                _MEMO.popitem(last=False)
        else:
            _MEMO.move_to_end(sid)
        table = entry[1]
        if key in table:
            value: T = table[key]
            return value
    value = compute()
    with _LOCK:
        table[key] = value
    return value
