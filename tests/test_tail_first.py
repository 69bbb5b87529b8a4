"""A big log's first frame is drawn from its end: the same newest records as a full read, much sooner."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from detr_watch import blocks
from detr_watch.commands.common import load, load_tail
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore


def gen_logs() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "scripts" / "gen_logs.py"
    spec = importlib.util.spec_from_file_location("gen_logs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_logs"] = module
    spec.loader.exec_module(module)
    return module


def full(path: Path) -> SeriesStore:
    store = SeriesStore()
    source = Source(path)
    try:
        load(source, store)
    finally:
        source.close()
    return store


def test_console_tail_ends_with_the_records_of_a_full_read(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    size = gen_logs().write_console(path, 1_500_000, iters=700)
    tail = Source(path).read_tail(300_000)
    assert tail is not None and tail.format == "detr-stdout"
    assert tail.describe() == "last 0.3 MB of 1.5 MB" and 0 < size - tail.start <= 300_000
    got = blocks.to_records(tail.blocks)
    want = blocks.to_records(Source(path).poll_blocks(final=True))
    # Runs are counted from the tail's start; steps, epochs and values are the log's own.
    assert repr([(r.step, r.metrics, r.epoch) for r in got]) == repr(
        [(r.step, r.metrics, r.epoch) for r in want[-len(got) :]]
    )


def test_logtxt_without_epoch_keys_gets_the_steps_of_its_line_positions(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    lines = [json.dumps({"train_loss": 1.0 / (i + 1), "test_loss": 2.0}) for i in range(3000)]
    path.write_text("\n".join(lines) + "\n")
    tail = Source(path).read_tail(50_000)
    assert tail is not None
    got = blocks.to_records(tail.blocks)
    assert got[-1].step == 2999.0 and got[0].step == 3000 - len(got)


def test_load_tail_says_what_it_read(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    gen_logs().write_console(path, 1_000_000, iters=700)
    store = SeriesStore()
    assert load_tail(Source(path), store, 200_000)
    snap = store.snapshot()
    assert snap.meta["partial"] == "last 0.2 MB of 1.0 MB" and snap.meta["format"] == "detr-stdout"
    whole = full(path).snapshot()
    assert snap.last_record is not None and whole.last_record is not None
    assert snap.last_record.step == whole.last_record.step
    assert 0 < snap.records < whole.records


@pytest.mark.parametrize(
    "content",
    [
        b"",  # empty
        b"Epoch: [0]  [0/1]  eta: 0:00:01  loss: 1.0 (1.0)\n" * 10,  # small: read whole
        b"hello world\n" * 100_000,  # no known format
        b"x" * 1_500_000 + b"\n" + b"Epoch: [0]  [0/1]  eta: 0:00:01  loss: 1.0 (1.0)\n",  # tail inside a long line
    ],
    ids=["empty", "small", "unknown", "long-line"],
)
def test_no_tail_when_a_full_read_is_needed(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"git:\n  sha: 1, status: clean\n" + content)
    assert Source(path).read_tail(200_000) is None
    store = SeriesStore()
    assert not load_tail(Source(path), store, 200_000) and store.snapshot().version == 0


def test_missing_file_has_no_tail(tmp_path: Path) -> None:
    assert Source(tmp_path / "nope.log").read_tail(10) is None
