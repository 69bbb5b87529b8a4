"""Results derived from immutable snapshots, kept while those snapshots live.

A snapshot never changes, and the store hands out the same snapshot object until new data arrives,
so a repaint for a resize, a key or the ticking "N ago" clock reuses the statistics of the last one.
`memo` keeps results per snapshot. `latest` keeps one result per slot (a chart at a size) for the
inputs it was last computed from, so a chart whose own series did not change is reused across
snapshots without keeping one copy per superseded snapshot; `grow` extends a result over the points
appended since. Both hold their inputs weakly and check they are the very same objects.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable, Hashable, Optional, Sequence, TypeVar

from detr_watch.store import Snapshot

T = TypeVar("T")
KEEP = 4  # snapshots remembered (a paused view and the live one, with room to spare)
SLOTS = 1024  # results of `latest`: table rows, charts' headers and pictures at a few sizes

_LOCK = threading.Lock()
_MEMO: OrderedDict[int, tuple[weakref.ref[Snapshot], dict[Hashable, Any]]] = OrderedDict()
_SLOTS: OrderedDict[Hashable, tuple[tuple[weakref.ref[Any], ...], Hashable, Any]] = OrderedDict()
_STATS = {"computed": 0, "hits": 0}
_DEAD = [False]  # set when an object a slot was kept for is gone: the next purge has work to do


def _died(_: weakref.ref[Any]) -> None:
    _DEAD[0] = True


def memo(snapshot: Snapshot, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, remembered for this snapshot under `key` (which must name every other input)."""
    sid = id(snapshot)
    with _LOCK:
        entry = _MEMO.get(sid)
        if entry is None or entry[0]() is not snapshot:
            _purge()
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


def latest(slot: Hashable, alive: Sequence[object], key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, remembered in `slot` while `key` stays the same and every object of `alive` lives
    (held weakly; `key` should name them by `id`). A new key replaces the slot's value: a slot holds
    one result, whatever the number of snapshots it served."""
    with _LOCK:
        hit = _SLOTS.get(slot)
        if hit is not None and hit[1] == key and _same(hit[0], alive):
            _SLOTS.move_to_end(slot)
            _STATS["hits"] += 1
            value: T = hit[2]
            return value
    value = compute()
    with _LOCK:
        _STATS["computed"] += 1
        _purge()
        _SLOTS[slot] = (tuple(weakref.ref(a, _died) for a in alive), key, value)
        _SLOTS.move_to_end(slot)
        while len(_SLOTS) > SLOTS:
            _SLOTS.popitem(last=False)
    return value


def grow(
    slot: Hashable,
    alive: Sequence[object],
    key: Hashable,
    n: int,
    full: Callable[[], T],
    more: Callable[[int, T], T],
) -> T:
    """A result over the first `n` points of append-only arrays (`alive`, named by `key`), kept in
    `slot` with the count it covers: the same key with more points calls `more(covered, previous)`
    for the points after `covered` instead of `full()` over all of them."""
    with _LOCK:
        hit = _SLOTS.get(slot)
        prev: Optional[tuple[int, T]] = None
        if hit is not None and _same(hit[0], alive):
            stored = hit[1]
            if isinstance(stored, tuple) and stored[:2] == ("grown", key) and stored[2] <= n:
                prev = (stored[2], hit[2])
    if prev is not None and prev[0] == n:
        _STATS["hits"] += 1
        return prev[1]
    value = more(*prev) if prev is not None else full()
    with _LOCK:
        _STATS["computed"] += 1
        _purge()
        _SLOTS[slot] = (tuple(weakref.ref(a, _died) for a in alive), ("grown", key, n), value)
        _SLOTS.move_to_end(slot)
        while len(_SLOTS) > SLOTS:
            _SLOTS.popitem(last=False)
    return value


def _purge() -> None:
    """Drop what was derived from snapshots that are gone (under `_LOCK`): nobody can ask for it again,
    and with data arriving every frame, the bounds alone would keep many full-length copies of the
    history alive."""
    for sid in [sid for sid, (ref, _) in _MEMO.items() if ref() is None]:
        del _MEMO[sid]
    if _DEAD[0]:
        _DEAD[0] = False
        for slot in [slot for slot, (refs, _, _) in _SLOTS.items() if any(r() is None for r in refs)]:
            del _SLOTS[slot]


def stats() -> dict[str, int]:
    with _LOCK:
        return dict(_STATS, size=len(_SLOTS))


def clear() -> None:
    with _LOCK:
        _MEMO.clear()
        _SLOTS.clear()


def _same(refs: Sequence[weakref.ref[Any]], alive: Sequence[object]) -> bool:
    """Whether the weakly held objects are `alive`, every one of them (not a prefix)."""
    return len(refs) == len(alive) and all(r() is a for r, a in zip(refs, alive))
