"""`plot.figure`'s key: two figures with the same key are the same picture, so a chart whose new data
lands on pixels already drawn is not drawn again. The key re-derives plotext's pixels in numpy; these
tests hold it to plotext's own functions."""

from __future__ import annotations

import numpy as np
import pytest
from plotext import _utility as ut

from detr_watch.analysis import _minmax_columns, _minmax_loop
from detr_watch.render import plot


def test_matrix_data_and_line_pixels_are_plotexts() -> None:
    rng = np.random.default_rng(1)
    for trial in range(2000):
        n = int(rng.integers(1, 40))
        x = np.sort(rng.random(n) * 10.0 ** rng.integers(-3, 6)) + rng.integers(0, 1000)
        y = rng.standard_normal(n) * 10.0 ** rng.integers(-5, 5)
        if trial % 5 == 0:
            y = np.round(y, 2)
        if trial % 7 == 0:
            y = np.full(n, 3.0)
        if trial % 11 == 0:
            x = np.arange(n, dtype=float) * 7
        xlim, ylim = plot._lim(x), plot._lim(y)
        assert list(xlim) == ut.get_lim(x.tolist()) and list(ylim) == ut.get_lim(y.tolist())
        bx, by = int(rng.integers(2, 300)), int(rng.integers(2, 80))
        px, py = plot.matrix_data(x, xlim, bx), plot.matrix_data(y, ylim, by)
        assert px.tolist() == ut.get_matrix_data(x.tolist(), list(xlim), bx), trial
        assert py.tolist() == ut.get_matrix_data(y.tolist(), list(ylim), by), trial
        lx, ly, _ = ut.get_lines(px.tolist(), py.tolist(), ["m"] * n)
        want = np.unique(np.array(lx, dtype=np.int64) * 2**32 + np.array(ly, dtype=np.int64))
        assert np.array_equal(plot.line_pixels(px, py), want), trial


def _figure(steps: int, values: np.ndarray, raw: np.ndarray, **kw: object) -> plot.Figure:
    x = np.arange(steps, dtype=float)
    traces = [
        plot.Trace(x, raw[:steps], None, 23, "braille"),
        plot.Trace(x, values[:steps], None, 37, "braille"),
    ]
    fig = plot.figure(traces, 60, 10, **kw)  # type: ignore[arg-type]
    assert fig is not None
    return fig


@pytest.mark.parametrize("kind", ["flat", "noisy", "robust", "ascii", "log"])
def test_equal_keys_draw_equal_pictures(kind: str) -> None:
    """A point appended at a time: wherever the key stays, plotext draws the very same text."""
    rng = np.random.default_rng(7)
    n = 3000
    raw = np.full(n, 1e-4) if kind == "flat" else 1 + rng.standard_normal(n).cumsum() * 0.01
    smooth = np.convolve(raw, np.ones(50) / 50, mode="same")
    kw: dict[str, object] = {
        "robust": {"axes": plot.Axes(False, (0.5, 1.5))},
        "ascii": {"ascii": True},
        "log": {"axes": plot.Axes(True, None)},
    }.get(kind, {})
    if kind == "log":
        raw, smooth = np.abs(raw) + 0.1, np.abs(smooth) + 0.1
    same = changed = nudged = 0
    prev = _figure(2000, smooth, raw, **kw)
    prev_text = plot.draw(prev)
    for steps in range(2001, 2041):
        fig = _figure(steps, smooth, raw, **kw)
        text = plot.draw(fig)
        if fig.key == prev.key:
            assert text == prev_text, steps
            same += 1
        else:
            changed += 1
        # other input, the same pixels: a value moved by a part in 10^12
        twin = _figure(steps, smooth * (1 + 1e-12), raw * (1 - 1e-12), **kw)
        if twin.key == fig.key:
            assert plot.draw(twin) == text, steps
            nudged += 1
        prev, prev_text = fig, text
    if kind == "flat":
        assert same >= 35  # a flat lr that gets longer is drawn again only when a tick label moves
    assert nudged >= 35  # the key is the picture, not the input (on a log scale too)
    assert same + changed == 40


def test_different_pictures_have_different_keys() -> None:
    x = np.arange(100, dtype=float)
    a = plot.figure([plot.Trace(x, np.sin(x / 10), None, 37, "braille")], 60, 10)
    b = plot.figure([plot.Trace(x, np.sin(x / 10), None, 208, "braille")], 60, 10)  # colour
    c = plot.figure([plot.Trace(x, np.sin(x / 10), None, 37, "hd")], 60, 10)  # marker
    d = plot.figure([plot.Trace(x, np.cos(x / 10), None, 37, "braille")], 60, 10)  # data
    e = plot.figure([plot.Trace(x, np.sin(x / 10), None, 37, "braille")], 60, 11)  # size
    keys = [f.key for f in (a, b, c, d, e) if f is not None]
    assert len(set(keys)) == 5


def test_decimate_minmax_by_columns_is_by_the_loop() -> None:
    rng = np.random.default_rng(5)
    for trial in range(500):
        n = int(rng.integers(1, 3000))
        x = np.sort(rng.random(n) * 1000)
        if trial % 3 == 0:
            x = np.round(x)  # repeated steps
        y = rng.standard_normal(n)
        if trial % 4 == 0:
            y = np.round(y)  # ties for the min and the max
        buckets = int(rng.integers(1, 200))
        got, want = _minmax_columns(x, y, buckets), _minmax_loop(x, y, buckets)
        assert np.array_equal(got, want), trial


def _random_traces(rng: np.random.Generator, trial: int) -> list[plot.Trace]:
    n = int(rng.integers(1, 2500))
    step = float(rng.choice([1, 10, 740]))
    x = np.arange(n, dtype=float) * step if trial % 2 else np.sort(rng.random(n) * 50)
    traces = []
    for _ in range(int(rng.integers(1, 5))):
        y = rng.standard_normal(n).cumsum() * 10.0 ** rng.integers(-4, 3) + rng.integers(-5, 5)
        if trial % 5 == 0:
            y[rng.integers(0, n, 4)] = np.nan  # gaps: a segment each
        if trial % 13 == 0:
            y[:] = 0.5  # flat: plotext's limits around a single value
        if trial % 17 == 0:
            y[rng.integers(0, n, 2)] = np.inf  # dropped points
        marker = str(rng.choice(["braille", "braille", "hd", "fhd", ".", "dot", "*"]))
        traces.append(plot.Trace(x, y, None, int(rng.choice([37, 208, 244, 23, 1])), marker))
    return traces


def test_charts_drawn_here_are_plotexts_pictures() -> None:
    """`draw` puts a linear chart together itself; it must be plotext's text, code for code."""
    rng = np.random.default_rng(11)
    here = 0
    for trial in range(600):
        traces = _random_traces(rng, trial)
        width, height = int(rng.integers(8, 110)), int(rng.integers(4, 24))
        axes = plot.LINEAR
        if trial % 3 == 0:
            lo = float(np.nanmin(np.where(np.isfinite(traces[0].y), traces[0].y, np.nan)))
            axes = plot.Axes(False, (lo, lo + float(rng.random()) + 1e-3))  # clipped at the edges
        if trial % 4 == 1:  # a log scale: positive values, NaN where they were not (gaps)
            traces = [
                t._replace(y=np.where(t.y > 0, np.abs(t.y) * 10.0 ** rng.integers(-3, 4), np.nan))
                for t in traces
            ]
            axes = plot.Axes(True, (0.5, 40.0) if trial % 8 == 1 else None)
        fig = plot.figure(traces, width, height, axes=axes, ascii=trial % 7 == 0)
        if fig is None:
            continue
        before = plot.cache_stats()
        got = plot.draw(fig)
        after = plot.cache_stats()
        here += after["plotext"] == before["plotext"]
        assert got == plot.draw_plotext(fig), (trial, width, height)
    assert here > 500  # nearly every chart was drawn here, not by plotext


def test_charts_with_a_legend_are_drawn_by_plotext() -> None:
    x = np.arange(50, dtype=float)
    labelled = plot.figure([plot.Trace(x, np.sin(x), "train", 37, "braille")], 60, 12)
    assert labelled is not None
    before = plot.cache_stats()["plotext"]
    text = plot.draw(labelled)
    assert plot.cache_stats()["plotext"] == before + 1
    assert text == plot.draw_plotext(labelled) and "train" in text


def test_the_pixels_of_many_segments_at_once_are_each_segments_own() -> None:
    rng = np.random.default_rng(0)
    for trial in range(1000):
        sizes = rng.integers(1, 40, int(rng.integers(1, 6)))
        if trial % 50 == 0:
            sizes[0] = 1
        px = rng.integers(0, 300, int(sizes.sum()))
        py = rng.integers(0, 80, int(sizes.sum()))
        if trial % 3 == 0:
            px = np.sort(px)
        if trial % 50 == 0:
            px[0] = 2**25  # a point beyond the packed codes (alone: no line to it): segment by segment
        starts = np.cumsum(np.concatenate([[0], sizes[:-1]]))
        bounds = [*starts.tolist(), int(sizes.sum())]
        want = [plot.line_pixels(px[a:b], py[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
        got = plot.lines_pixels(px, py, starts)
        assert len(got) == len(want) and all(np.array_equal(g, w) for g, w in zip(got, want)), trial


def test_thousands_of_segments_at_once_are_each_segments_own() -> None:
    """Segment numbers beyond what the packed codes hold go segment by segment (8,192 and more)."""
    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 4, 9000)
    px = rng.integers(0, 200, int(sizes.sum()))
    py = rng.integers(0, 60, int(sizes.sum()))
    starts = np.cumsum(np.concatenate([[0], sizes[:-1]]))
    bounds = [*starts.tolist(), int(sizes.sum())]
    got = plot.lines_pixels(px, py, starts)
    assert len(got) == 9000
    for i in (0, 4095, 4096, 8190, 8191, 8192, 8999):
        assert np.array_equal(
            got[i], plot.line_pixels(px[bounds[i] : bounds[i + 1]], py[bounds[i] : bounds[i + 1]])
        )
