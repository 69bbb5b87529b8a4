"""What a console log says about its run besides the series: DETR's printed `epochs=N` drives progress."""

from __future__ import annotations

import threading
from pathlib import Path

from conftest import DATA, load_real_log

from detr_watch import formats
from detr_watch.ingest import Ingest
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore

ARGS = (
    b"Namespace(lr=0.0001, lr_backbone=1e-05, batch_size=2, weight_decay=0.0001, epochs=300, lr_drop=200, "
    b"clip_max_norm=0.1, num_queries=100)"
)


def test_detr_stdout_parser_reads_the_epoch_count_from_the_arguments() -> None:
    parser = formats.create("detr-stdout")
    parser.feed([b"| distributed init (rank 0): env://", ARGS, b"Start training"])
    assert parser.meta == {"epochs": "300"}


def test_a_look_alike_argument_is_not_the_epoch_count() -> None:
    parser = formats.create("detr-stdout")
    parser.feed([b"Namespace(lr=0.0001, lr_backbone=1e-05, warmup_epochs=5, num_queries=100)"])
    assert parser.meta == {}


def test_one_shot_load_puts_it_in_the_meta() -> None:
    _, store = load_real_log("detr_stdout_FarjadAhmed_default_mha_10ep.txt")
    assert store.snapshot().meta["epochs"] == "10"


def test_the_live_ingest_puts_it_in_the_meta(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    lines = (DATA / "detr_stdout_FarjadAhmed_default_mha_10ep.txt").read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:80]).replace(b"epochs=10,", b"epochs=42,"))
    store = SeriesStore()
    changed = threading.Event()
    ingest = Ingest(Source(path), store, on_change=changed.set, safety_poll=5.0)
    ingest.start()
    try:
        assert changed.wait(10)
        assert store.snapshot().meta.get("epochs") == "42"
    finally:
        ingest.stop()
