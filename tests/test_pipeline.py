"""tail -> detect -> parse -> store, on real files, with and without the ingest thread."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import pytest
from conftest import DATA

from detr_watch.demo import DemoRun, epoch_record
from detr_watch.errors import DetrWatchError
from detr_watch.ingest import Ingest
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore


def _line(epoch: int) -> str:
    return json.dumps(epoch_record(epoch, random.Random(epoch))) + "\n"


def test_source_reads_incrementally_and_detects_format(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text(_line(0))
    source = Source(path)
    first = source.poll()
    assert source.format == "detr-json" and [r.step for r in first] == [0]
    assert source.poll() == []
    with open(path, "a") as f:
        f.write(_line(1))
        f.write(_line(2)[:50])  # a torn line: held back
    assert [r.step for r in source.poll()] == [1]
    with open(path, "a") as f:
        f.write(_line(2)[50:])
    assert [r.step for r in source.poll()] == [2]
    source.close()


def test_truncation_starts_a_new_run(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text(_line(0) + _line(1) + _line(2))
    source = Source(path)
    assert [(r.run, r.step) for r in source.poll()] == [(0, 0), (0, 1), (0, 2)]
    path.write_text(_line(5))  # the training restarted and overwrote log.txt (at a later epoch, even)
    assert [(r.run, r.step) for r in source.poll()] == [(1, 5)]
    source.close()


def test_a_file_that_is_not_a_log_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# notes\n" * 3000)
    source = Source(path)
    assert source.poll() == []
    assert source.not_a_log
    with pytest.raises(DetrWatchError, match="not a training log"):
        source.check_log()
    # what is appended later is not read as a log either: the file was judged by its head
    with open(path, "a") as f:
        f.write("".join(_line(e) for e in range(5)))
    assert source.poll() == [] and source.not_a_log
    source.close()


def test_forced_format_skips_detection(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text('{"loss": 1.0}\n')  # no train_/test_ keys: detection would not be sure
    source = Source(path, "detr-json")
    assert [r.metrics for r in source.poll()] == [{"loss": 1.0}]
    source.close()


def test_real_log_through_the_pipeline() -> None:
    source = Source(DATA / "detr_logtxt_Moqixis_object_detection_detr.txt")
    store = SeriesStore()
    store.append(source.poll(final=True))
    source.close()
    snap = store.snapshot()
    assert snap.records == 7 and len(snap.runs) == 2
    assert "test_coco_eval_bbox/AP" in snap.series


def test_ingest_thread_moves_appended_lines_into_the_store(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text(_line(0))
    store = SeriesStore()
    changed = threading.Event()
    ingest = Ingest(Source(path), store, on_change=changed.set, safety_poll=5.0)
    ingest.start()
    try:
        assert changed.wait(10)
        assert store.snapshot().records == 1
        changed.clear()
        with open(path, "a") as f:
            f.write(_line(1))
        assert changed.wait(10)  # inotify wakes the thread long before the 5 s safety poll
        assert store.snapshot().records == 2
        assert store.snapshot().meta["format"] == "detr-json"
    finally:
        ingest.stop()


def test_demo_writes_a_realistic_detr_log(tmp_path: Path) -> None:
    demo = DemoRun(tmp_path, initial=3, epochs=4)
    demo.write_initial()
    assert demo.write_epoch() and not demo.write_epoch()
    source = Source(demo.path)
    records = source.poll(final=True)
    source.close()
    assert [r.step for r in records] == [0, 1, 2, 3]
    keys = set(records[0].metrics)
    for key in (
        "train_loss",
        "train_loss_ce",
        "train_loss_bbox_unscaled",
        "train_loss_giou_4",
        "test_class_error",
    ):
        assert key in keys
    assert "test_coco_eval_bbox/AP" in keys and "test_coco_eval_bbox/ARl" in keys
    loss = [r.metrics["train_loss"] for r in records]
    assert loss[0] > loss[-1]  # it converges
    ap = [r.metrics["test_coco_eval_bbox/AP"] for r in records]
    assert ap[0] < ap[-1]
    # the total is the weighted sum of the parts over all decoder layers, as in DETR
    r = records[2].metrics
    parts = sum(v for k, v in r.items() if k.startswith("train_loss_") and not k.endswith("_unscaled"))
    assert r["train_loss"] == pytest.approx(parts)
