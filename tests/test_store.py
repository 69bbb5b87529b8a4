from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from detr_watch.records import ITER, Record, RunTracker, coco_series, numeric_fields
from detr_watch.store import SeriesStore


def test_coco_series_names_all_twelve_and_drops_minus_one() -> None:
    stats = [0.42, 0.62, 0.44, -1, 0.46, 0.61, 0.33, 0.53, 0.57, -1.0, 0.63, 0.79]
    out = dict(coco_series("test_coco_eval_bbox", stats))
    assert out["test_coco_eval_bbox/AP"] == 0.42
    assert out["test_coco_eval_bbox/AP50"] == 0.62
    assert out["test_coco_eval_bbox/ARl"] == 0.79
    assert "test_coco_eval_bbox/APs" not in out and "test_coco_eval_bbox/ARs" not in out
    assert len(out) == 10


def test_numeric_fields_ignores_strings_bools_and_other_lists() -> None:
    obj = {"a": 1, "b": 2.5, "c": "x", "d": True, "e": [1, 2], "f": {"g": 1}, "n": math.nan}
    out = numeric_fields(obj)
    assert set(out) == {"a", "b", "n"}
    assert out["a"] == 1.0 and math.isnan(out["n"])


def test_run_tracker_splits_where_step_does_not_increase() -> None:
    t = RunTracker()
    assert [t.assign(s) for s in (0, 1, 2, 0, 1, 1, 5)] == [0, 0, 0, 1, 1, 2, 2]


def test_run_tracker_reset_forces_a_new_run() -> None:
    t = RunTracker()
    t.assign(0)
    t.assign(1)
    t.reset()
    assert t.assign(7) == 1


def test_store_keeps_whole_history_across_chunk_growth() -> None:
    store = SeriesStore()
    n = 200_000
    store.append(Record(float(i), {"loss": float(i) * 2}) for i in range(n))
    snap = store.snapshot()
    s = snap.series["loss"]
    assert len(s) == n
    assert s.values[0] == 0.0 and s.values[-1] == (n - 1) * 2
    np.testing.assert_array_equal(s.steps, np.arange(n, dtype=float))


def test_snapshot_is_immutable_while_the_store_grows() -> None:
    store = SeriesStore()
    store.append([Record(0, {"a": 1.0})], arrived=10.0)
    first = store.snapshot()
    store.append([Record(1, {"a": 2.0, "b": 3.0}, run=0)], arrived=11.0)
    store.append([Record(0, {"a": 5.0}, run=1, axis=ITER)], arrived=12.0)
    assert list(first.series["a"].values) == [1.0]
    assert "b" not in first.series
    with pytest.raises(ValueError):
        first.series["a"].values[0] = 9.0
    second = store.snapshot()
    assert list(second.series["a"].values) == [1.0, 2.0, 5.0]
    assert list(second.series["a"].runs) == [0, 0, 1]
    assert second.records == 3 and second.last_arrival == 12.0
    assert [(r.run, r.first_step, r.last_step, r.records) for r in second.runs] == [
        (0, 0, 1, 2),
        (1, 0, 0, 1),
    ]
    assert list(second.series["a"].run(1).values) == [5.0]


def test_snapshot_is_cached_until_a_change() -> None:
    store = SeriesStore()
    store.append([Record(0, {"a": 1.0})])
    assert store.snapshot() is store.snapshot()
    before = store.snapshot()
    store.append([Record(1, {"a": 1.0})])
    assert store.snapshot() is not before
    assert store.snapshot().version > before.version


def test_records_without_metrics_are_not_counted() -> None:
    store = SeriesStore()
    assert store.append([Record(0, {})]) == 0
    assert store.snapshot().records == 0


def test_times_and_epochs_kept_nan_when_unknown() -> None:
    store = SeriesStore()
    store.append(
        [Record(10, {"a": 1.0}, axis=ITER, time=1000.0, epoch=0.5), Record(20, {"a": 2.0}, axis=ITER)]
    )
    s = store.snapshot().series["a"]
    assert s.axis == ITER
    assert s.times[0] == 1000.0 and math.isnan(s.times[1])
    assert s.epochs[0] == 0.5 and math.isnan(s.epochs[1])


def test_coco_keypoint_stats_have_their_own_names() -> None:
    stats = [0.6, 0.8, 0.7, 0.55, 0.7, 0.65, 0.85, 0.72, 0.6, 0.75]
    out = dict(coco_series("test_coco_eval_keypoints", stats))
    assert out["test_coco_eval_keypoints/AR"] == 0.65
    assert out["test_coco_eval_keypoints/ARl"] == 0.75
    assert "test_coco_eval_keypoints/APs" not in out and len(out) == 10


def test_blocks_of_the_same_keys_after_a_split_and_a_commit_land_in_their_own_series() -> None:
    from detr_watch.blocks import block

    def ab(step: float, a: float, b: float) -> Any:
        return block(("a", "b"), [[a, b]], [step], [0], "iter")

    store = SeriesStore()
    store.append_blocks([ab(0, 1, 2), ab(1, 3, 4)])
    store.append_blocks([block(("a",), [[5]], [2], [0], "iter")])  # "a" parts from "b"
    store.append_blocks([ab(3, 6, 7)])
    snap = store.snapshot().series
    assert snap["a"].values.tolist() == [1, 3, 5, 6] and snap["b"].values.tolist() == [2, 4, 7]
    assert snap["b"].steps.tolist() == [0, 1, 3]
    store = SeriesStore()
    store.append_blocks([ab(5, 1, 2), ab(6, 3, 4)])  # the tail, shown while the history is read
    store.stage()
    store.append_blocks([ab(0, 10, 20)])
    store.commit_stage()
    store.append_blocks([ab(1, 11, 21)])  # into the committed history, not the shown tail's columns
    snap = store.snapshot().series
    assert snap["a"].values.tolist() == [10, 11] and snap["b"].values.tolist() == [20, 21]


def test_a_series_key_names_the_same_points_in_every_snapshot() -> None:
    """series_key's promise to the caches (memo.latest, memo.grow): a snapshot's arrays never change
    afterwards, and two snapshots whose series have the same key hold the same points, through
    appends that grow the arrays, appends to some series only (a split) and a new run."""
    from detr_watch.store import series_key

    store = SeriesStore()
    seen: dict[object, bytes] = {}
    kept = []
    for i in range(3000):
        metrics = {"loss": 1.0 / (i + 1), "loss_ce": 0.5} if i % 7 else {"loss": 2.0}
        store.append([Record(step=float(i % 1700), metrics=metrics, run=i // 1700)])
        if i % 97 == 0 or i > 2990:
            snap = store.snapshot()
            for s in snap.series.values():
                points = b"".join(a.tobytes() for a in (s.steps, s.values, s.runs, s.times, s.epochs))
                key = (s.name, series_key(s)[1])
                assert seen.setdefault(key, points) == points  # the same key: the same points
                kept.append((s, points))
    for s, points in kept:  # nothing a snapshot showed was rewritten later
        assert b"".join(a.tobytes() for a in (s.steps, s.values, s.runs, s.times, s.epochs)) == points


def test_assign_many_is_assign_of_each_step_in_turn() -> None:
    rng = np.random.default_rng(3)
    for trial in range(300):
        steps = rng.integers(0, 6, size=int(rng.integers(1, 30))).astype(float)
        if trial % 5 == 0:
            steps[rng.integers(0, steps.shape[0])] = math.nan
        one, many = RunTracker(), RunTracker()
        if trial % 3 == 0:  # state carried in from earlier lines, and a truncation
            one.assign(2.0), many.assign(2.0)
            one.reset(), many.reset()
        want = [one.assign(float(s)) for s in steps]
        assert many.assign_many(steps).tolist() == want, steps
        assert (many.run, many.last_step) == (one.run, one.last_step) or math.isnan(steps[-1])
