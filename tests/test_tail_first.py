"""A big log's first frame is drawn from its end: the same newest records as a full read, much sooner."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import gen_logs

from detr_watch import blocks
from detr_watch.commands.common import load, load_tail
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore


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
        b"x" * 1_500_000
        + b"\n"
        + b"Epoch: [0]  [0/1]  eta: 0:00:01  loss: 1.0 (1.0)\n",  # tail inside a long line
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


def test_live_ingest_shows_the_tail_then_swaps_the_history_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import queue

    from detr_watch import ingest as ingest_module
    from detr_watch import pipeline
    from detr_watch.ingest import Ingest

    monkeypatch.setattr(pipeline, "TAIL_BYTES", 200_000)
    monkeypatch.setattr(ingest_module, "ROUND_BYTES", 300_000)  # the history in several rounds
    path = tmp_path / "train.log"
    gen_logs().write_console(path, 1_500_000, iters=700)
    whole = full(path).snapshot()
    store = SeriesStore()
    changes: queue.Queue[int] = queue.Queue()
    loading: list[str] = []

    def changed() -> None:
        snap = store.snapshot()
        loading.append(snap.meta.get("loading", ""))
        changes.put(snap.records)

    ingest = Ingest(Source(path), store, on_change=changed)
    ingest.start()
    try:
        first = changes.get(timeout=30)  # the tail, before any of the history
        assert 0 < first < whole.records
        while store.staging or store.snapshot().records != whole.records:
            changes.get(timeout=30)
    finally:
        ingest.stop()
    snap = store.snapshot()
    assert snap.meta.get("partial") == "" and snap.meta.get("loading") == ""
    assert any(x.endswith("%") for x in loading)  # the history's progress was there to show
    assert snap.runs == whole.runs and snap.skipped_lines == whole.skipped_lines
    assert {k: len(s) for k, s in snap.series.items()} == {k: len(s) for k, s in whole.series.items()}


def test_a_first_frame_does_not_import_numpy_ma(tmp_path: Path) -> None:
    """np.median, np.percentile and np.unique import numpy.ma on their first call (16 ms, a twentieth
    of a first frame): the frame's own code uses stats.median, analysis.percentiles and masks."""
    import subprocess

    path = tmp_path / "train.log"
    gen_logs().write_console(path, 5_000_000, iters=700)  # big enough to be read from its tail
    code = (
        "import sys, io\n"
        "from detr_watch.cli import run\n"
        f"argv = ['--once', '--width', '160', '--height', '48', {str(path)!r}]\n"
        "rc = run(argv, io.StringIO(), sys.stderr)\n"
        "print(rc, 'numpy.ma' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "False"]
