"""pytest-benchmark suite for the hot paths: parsing, storing, decimation, smoothing, one frame.

Not timed in CI: pyproject's `--benchmark-disable` runs each body once, as a test of what it
computes. Time them with

    pytest tests/benchmarks --benchmark-enable --benchmark-only --benchmark-sort=name

(scripts/bench.py measures the targets of issue #6 end to end, as ratios to baselines.)
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import pytest
from conftest import gen_logs
from plain import json_reader

from detr_watch import analysis, formats
from detr_watch.commands.common import load
from detr_watch.formats.numbers import decimals, digit_runs
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore
from detr_watch.tail import Lines

POINTS = 200_000  # a long run's iterations, logged every 10


@pytest.fixture(scope="module")
def console_lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    path = tmp_path_factory.mktemp("bench") / "train.log"
    gen_logs().write_console(path, 4_000_000)
    return path.read_bytes().splitlines()


@pytest.fixture(scope="module")
def logtxt_lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    path = tmp_path_factory.mktemp("bench") / "log.txt"
    gen_logs().write_logtxt(path, 1000, nan_every=100)
    return path.read_bytes().splitlines()


@pytest.fixture(scope="module")
def console_store(tmp_path_factory: pytest.TempPathFactory) -> SeriesStore:
    path = tmp_path_factory.mktemp("bench") / "train.log"
    gen_logs().write_console(path, 4_000_000)
    store = SeriesStore()
    load(Source(path), store)
    return store


def test_parse_console_lines_in_bulk(benchmark: Any, console_lines: list[bytes]) -> None:
    blocks = benchmark(lambda: formats.feed_blocks(formats.create("detr-stdout"), console_lines))
    assert sum(len(b) for b in blocks) > 2000


def test_parse_console_lines_one_by_one(benchmark: Any, console_lines: list[bytes]) -> None:
    """The plain path (what every line that fits no layout costs), for comparison."""

    def plain() -> int:
        parser = formats.create("detr-stdout")
        out: list[Any] = []
        for line in console_lines:
            parser._line(line, out)  # type: ignore[attr-defined]
        return len(out)

    assert benchmark(plain) > 2000


def test_parse_logtxt_lines(benchmark: Any, logtxt_lines: list[bytes]) -> None:
    blocks = benchmark(lambda: formats.feed_blocks(formats.create("detr-json"), logtxt_lines))
    assert sum(len(b) for b in blocks) == 1000


def test_parse_logtxt_text_as_the_tailer_hands_it(benchmark: Any, logtxt_lines: list[bytes]) -> None:
    """One text (`tail.Lines`): the compiled reader's path, where it is built."""
    text = Lines([b"\n".join(logtxt_lines)])
    blocks = benchmark(lambda: formats.feed_blocks(formats.create("detr-json"), text))
    assert sum(len(b) for b in blocks) == 1000


def test_parse_logtxt_lines_without_the_compiled_reader(benchmark: Any, logtxt_lines: list[bytes]) -> None:
    """The JSON path alone (orjson, or json for NaN lines), for comparison."""
    with json_reader(compiled=False):
        blocks = benchmark(lambda: formats.feed_blocks(formats.create("detr-json"), logtxt_lines))
    assert sum(len(b) for b in blocks) == 1000


def test_decimals(benchmark: Any) -> None:
    rng = np.random.default_rng(0)
    text = " ".join(f"{v:.4f}" for v in rng.random(100_000) * 100).encode()
    u = np.frombuffer(text, dtype=np.uint8)
    starts, ends = digit_runs(u)
    values, ok = benchmark(decimals, u, ends, ends - starts)
    assert ok.all() and values.shape == (100_000,)


def test_store_append_blocks(benchmark: Any, console_lines: list[bytes]) -> None:
    blocks = formats.feed_blocks(formats.create("detr-stdout"), console_lines)
    records = benchmark(lambda: SeriesStore().append_blocks(blocks))
    assert records == sum(len(b) for b in blocks)


def test_decimate_minmax(benchmark: Any) -> None:
    x = np.arange(POINTS, dtype=np.float64)
    y = np.random.default_rng(0).random(POINTS)
    xs, ys = benchmark(analysis.decimate_minmax, x, y, 160)
    assert xs.shape[0] <= 2 * 160 + 2


def test_bins_extended_by_a_record(benchmark: Any) -> None:
    x = np.arange(POINTS + 1, dtype=np.float64)
    y = np.random.default_rng(0).random(POINTS + 1)
    before = analysis.bins_state(x[:-1], y[:-1])
    assert before is not None
    got = benchmark(analysis.bins_more, x, y, before)
    assert got is not None and got.covered == POINTS + 1


def test_chart_drawn_without_plotext(benchmark: Any) -> None:
    from detr_watch.render import plot

    x = np.arange(2000, dtype=np.float64)
    rng = np.random.default_rng(0)
    traces = [plot.Trace(x, rng.random(2000).cumsum(), None, c, "braille") for c in (23, 37)]
    fig = plot.figure(traces, 78, 14)
    assert fig is not None
    text = benchmark(plot.draw, fig)
    assert len(text.splitlines()) == 14


def test_ema_smoothing(benchmark: Any) -> None:
    y = np.random.default_rng(0).random(POINTS)
    out = benchmark(analysis.ema, y, 0.6)
    assert out.shape == (POINTS,)


def test_frame_after_a_new_record(benchmark: Any, console_store: SeriesStore) -> None:
    from rich.console import Console

    from detr_watch.render.dashboard import Dashboard
    from detr_watch.view import View

    buf = io.StringIO()
    console = Console(file=buf, width=160, height=48, force_terminal=True, color_system="256")
    view = View(title="train.log")

    def frame() -> None:
        last = console_store.snapshot().last_record
        assert last is not None
        console_store.append([last._replace(step=last.step + 1, epoch=None)])  # the charts change
        buf.seek(0)
        buf.truncate()
        console.print(Dashboard(console_store.snapshot(), view, time.time()), height=48, crop=True)

    benchmark(frame)
    assert len(buf.getvalue().splitlines()) == 48


@pytest.fixture(scope="module")
def logtxt_file(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("bench") / "log.txt"
    gen_logs().write_logtxt(path, 5000, nan_every=1000)
    return path


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled read", "python read"])
def test_tail_reads_a_whole_file(benchmark: Any, logtxt_file: Any, compiled: bool) -> None:
    """The tailer's read of a 22 MB file in its 8 MiB reads: the lines handed on in the read's own
    bytes (`_readblock`) or copied out of each read."""
    from detr_watch import tail

    if compiled and tail._readblock is None:
        pytest.skip("detr_watch._readblock not built")
    saved = tail._readblock
    if not compiled:
        tail._readblock = None  # type: ignore[assignment]

    def read_all() -> int:
        with tail.Tailer(logtxt_file) as t:
            return sum(len(c.lines) for c in t.read())

    try:
        assert benchmark(read_all) == 5000
    finally:
        tail._readblock = saved


@pytest.mark.parametrize("parallel", [True, False], ids=["two processes", "one process"])
def test_summary_statistics(benchmark: Any, logtxt_file: Any, parallel: bool) -> None:
    from detr_watch.summary import summarize

    store = SeriesStore()
    load(Source(logtxt_file), store)
    snapshot = store.snapshot()
    data = benchmark(lambda: summarize(snapshot, "log.txt", "detr-json", parallel=parallel))
    assert data["records"] == 5000 and data["analysis"]["correlations"]
