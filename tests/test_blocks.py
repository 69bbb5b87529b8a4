"""Blocks (records in columns) and the store's column appends: the same history as record by record."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detr_watch import blocks
from detr_watch.blocks import Block
from detr_watch.records import EPOCH, ITER, Record
from detr_watch.store import SeriesStore


def history(store: SeriesStore) -> dict[str, list[tuple[float, ...]]]:
    """Every point of every series as (step, value, run, time, epoch), NaN as None, for comparing."""

    def clean(v: float) -> object:
        return None if math.isnan(v) else v

    snap = store.snapshot()
    return {
        name: [
            tuple(clean(float(x)) for x in point)  # type: ignore[misc]
            for point in zip(s.steps, s.values, s.runs, s.times, s.epochs)
        ]
        for name, s in snap.series.items()
    }


RECORDS = [
    Record(0.0, {"a": 1.0, "b": 2.0}),
    Record(1.0, {"a": 3.0, "b": math.nan}),
    Record(2.0, {"a": 4.0}, time=100.0),  # "b" stops: "a" and "b" must part ways
    Record(3.0, {"a": 5.0, "b": 6.0, "c": -0.0}, epoch=0.5),
    Record(0.0, {"a": 7.0, "b": 8.0, "c": 9.0}, run=1, axis=ITER),
    Record(5.0, {}),  # no metrics: not counted
    Record(1.0, {"c": 10.0, "a": 11.0}, run=1, axis=ITER),  # another key order
]


def test_from_records_groups_consecutive_records_of_the_same_keys() -> None:
    got = blocks.from_records(RECORDS)
    assert [(b.keys, len(b)) for b in got] == [
        (("a", "b"), 2),
        (("a",), 1),
        (("a", "b", "c"), 1),
        (("a", "b", "c"), 1),  # same keys, other axis
        (("c", "a"), 1),
    ]
    assert got[0].times is None and got[1].times is not None and got[1].times[0] == 100.0


def test_blocks_give_back_exactly_their_records() -> None:
    kept = [r for r in RECORDS if r.metrics]
    assert repr(blocks.to_records(blocks.from_records(RECORDS))) == repr(kept)
    assert repr(blocks.from_records(RECORDS)[-1].last_record()) == repr(kept[-1])


def test_store_appends_blocks_as_it_appends_records() -> None:
    one, bulk = SeriesStore(), SeriesStore()
    for rec in RECORDS:
        one.append([rec], arrived=5.0)
    bulk.append_blocks(blocks.from_records(RECORDS[:3]), arrived=4.0)
    bulk.append_blocks(blocks.from_records(RECORDS[3:]), arrived=5.0)
    assert history(one) == history(bulk)
    a, b = one.snapshot(), bulk.snapshot()
    assert (a.records, a.runs, a.last_arrival) == (b.records, b.runs, b.last_arrival) == (6, a.runs, 5.0)
    assert repr(a.last_record) == repr(b.last_record)
    assert [(r.run, r.first_step, r.last_step, r.records, r.axis) for r in a.runs] == [
        (0, 0.0, 3.0, 4, EPOCH),
        (1, 0.0, 1.0, 2, ITER),
    ]


def test_series_appended_together_share_their_steps_until_they_part() -> None:
    store = SeriesStore()
    store.append([Record(float(i), {"a": 1.0, "b": 2.0}) for i in range(3)])
    s = store.snapshot().series
    assert s["a"].steps is s["b"].steps  # one copy for the series of one line shape
    store.append([Record(3.0, {"a": 1.0})])
    s = store.snapshot().series
    assert list(s["a"].steps) == [0, 1, 2, 3] and list(s["b"].steps) == [0, 1, 2]


def test_snapshot_views_do_not_change_when_shared_rows_grow_or_part() -> None:
    store = SeriesStore()
    store.append([Record(0.0, {"a": 1.0, "b": 2.0})])
    before = store.snapshot()
    for i in range(1, 200):  # past the first capacity, so the arrays are reallocated
        store.append([Record(float(i), {"a": float(i)} if i % 3 else {"a": 0.0, "b": 0.0})])
    assert list(before.series["a"].steps) == [0.0] and list(before.series["b"].values) == [2.0]
    with pytest.raises(ValueError):
        before.series["a"].steps[0] = 1.0


def test_block_with_several_runs_counts_each() -> None:
    store = SeriesStore()
    b = blocks.block(("x",), [[1.0], [2.0], [3.0]], [5.0, 6.0, 1.0], [0, 0, 1], ITER)
    assert store.append_blocks([b]) == 3
    assert [(r.run, r.first_step, r.last_step, r.records) for r in store.snapshot().runs] == [
        (0, 5.0, 6.0, 2),
        (1, 1.0, 1.0, 1),
    ]


def test_empty_blocks_change_nothing() -> None:
    store = SeriesStore()
    empty = Block((), np.empty((0, 0)), np.empty(0), np.empty(0, dtype=np.int64), EPOCH)
    assert store.append_blocks([empty]) == 0
    assert store.snapshot().records == 0 and store.snapshot().version == 0


def test_staged_history_stays_hidden_until_committed() -> None:
    store = SeriesStore()
    store.append([Record(10.0, {"a": 10.0})], arrived=1.0)  # the tail, shown first
    store.stage()
    store.set_meta("loading", "50%")
    store.append_blocks(
        blocks.from_records(Record(float(i), {"a": float(i)}) for i in range(11)), arrived=2.0
    )
    store.add_skipped(2)
    snap = store.snapshot()
    assert (
        list(snap.series["a"].values) == [10.0] and snap.skipped_lines == 0 and snap.meta["loading"] == "50%"
    )
    assert store.staging
    before = snap.version
    store.commit_stage()
    snap = store.snapshot()
    assert not store.staging and snap.version > before
    assert len(snap.series["a"]) == 11 and (snap.records, snap.skipped_lines, snap.last_arrival) == (
        11,
        2,
        2.0,
    )
    assert snap.meta["loading"] == "50%"  # the meta is the live view's: it stays
    store.commit_stage()  # nothing staged: nothing changes
    assert store.snapshot() is snap


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from("abcde"), unique=True, max_size=5),
            st.integers(0, 3),  # how many records of that shape in a row
        ),
        max_size=25,
    ),
    st.integers(1, 40),
)
def test_store_history_is_each_series_in_append_order(
    shapes: list[tuple[list[str], int]], chunk: int
) -> None:
    """Whatever the shapes and batching: series part ways, reorder and grow, and keep their points."""
    records = [
        Record(float(i), {k: float(i * 10 + j) for j, k in enumerate(keys)}, run=i // 7)
        for i, (keys, count) in enumerate(shapes)
        for _ in range(count)
    ]
    store = SeriesStore()
    for a in range(0, len(records), chunk):
        store.append_blocks(blocks.from_records(records[a : a + chunk]))
    want: dict[str, list[tuple[float, float, int]]] = {}
    for rec in records:
        for k, v in rec.metrics.items():
            want.setdefault(k, []).append((rec.step, v, rec.run))
    got = {
        name: list(zip(s.steps.tolist(), s.values.tolist(), s.runs.tolist()))
        for name, s in store.snapshot().series.items()
    }
    assert got == want


def test_room_made_ahead_changes_no_point() -> None:
    store = SeriesStore()
    store.append([Record(float(i), {"a": float(i), "b": -float(i)}) for i in range(10)])
    before = store.snapshot()
    store.expect(50.0)
    store.append([Record(float(i), {"a": float(i), "b": -float(i)}) for i in range(10, 300)])
    snap = store.snapshot()
    assert list(before.series["a"].values) == [float(i) for i in range(10)]
    assert list(snap.series["b"].values) == [-float(i) for i in range(300)]
    assert snap.series["a"].steps is snap.series["b"].steps
