"""A frame after a new record redraws only the charts whose own series changed, and is exactly the
frame drawn from scratch."""

from __future__ import annotations

import numpy as np
from conftest import DATA
from test_render import LOG, NOW, render, store_of

from detr_watch import memo
from detr_watch.formats import detr_json
from detr_watch.logs import as_board
from detr_watch.records import ITER, Record
from detr_watch.render import plot
from detr_watch.render.dashboard import Dashboard, chart_defs
from detr_watch.view import View

VIEW = View(title=LOG)


def _store():  # type: ignore[no-untyped-def]
    return store_of(detr_json.create().feed((DATA / LOG).read_bytes().splitlines()))


def test_a_train_record_redraws_only_the_charts_of_train_series() -> None:
    store = _store()
    memo.clear()
    render(Dashboard(store.snapshot(), VIEW, NOW), 160, 48, color=True)
    last = store.snapshot().last_record
    assert last is not None
    shown = chart_defs(as_board(store.snapshot(), LOG), VIEW)[:10]
    with_train = sum(any(line.name.startswith("train_") for line in d.lines) for d in shown)
    assert 0 < with_train < len(shown)
    for k in range(1, 4):
        # only train series: the test and AP charts keep their pictures
        train = {n: v * (1 + 0.1 * k) for n, v in last.metrics.items() if n.startswith("train_")}
        train["train_lr"] = last.metrics["train_lr"]
        store.append([last._replace(step=last.step + k, metrics=train)], NOW)
        before = plot.cache_stats()["builds"]
        out = render(Dashboard(store.snapshot(), VIEW, NOW), 160, 48, color=True)
        built = plot.cache_stats()["builds"] - before
        assert built <= with_train
        memo.clear()
        assert out == render(Dashboard(store.snapshot(), VIEW, NOW), 160, 48, color=True)


def test_a_flat_lr_that_gets_longer_is_not_drawn_again() -> None:
    rng = np.random.default_rng(3)
    records = [
        Record(float(i), {"train_loss": 2.0 + float(rng.random()), "train_lr": 1e-4}, axis=ITER)
        for i in range(3000)
    ]
    store = store_of(records)
    view = View(title="log")
    memo.clear()
    render(Dashboard(store.snapshot(), view, NOW), 160, 48, color=True)
    builds = []
    for i in range(3000, 3010):
        store.append([Record(float(i), {"train_loss": 2.5, "train_lr": 1e-4}, axis=ITER)], NOW)
        before = plot.cache_stats()["builds"]
        out = render(Dashboard(store.snapshot(), view, NOW), 160, 48, color=True)
        builds.append(plot.cache_stats()["builds"] - before)
    memo.clear()
    assert out == render(Dashboard(store.snapshot(), view, NOW), 160, 48, color=True)
    assert sum(builds) <= 12  # the loss chart each time (or not even that), the lr chart hardly ever


def test_frames_after_records_are_the_frames_from_scratch() -> None:
    store = _store()
    memo.clear()
    views = [VIEW, View(title=LOG, robust_y=True), View(title=LOG, log_y=True), View(title=LOG, x="time")]
    for k in range(6):
        if k:
            last = store.snapshot().last_record
            assert last is not None
            metrics = {n: v * (1.5 if k % 2 else 1.0) for n, v in last.metrics.items()}
            store.append([last._replace(step=last.step + 1, metrics=metrics)], NOW + k)
        for view in views:
            cached = render(Dashboard(store.snapshot(), view, NOW), 120, 40, color=True)
            memo.clear()
            assert cached == render(Dashboard(store.snapshot(), view, NOW), 120, 40, color=True)
            render(Dashboard(store.snapshot(), view, NOW), 120, 40, color=True)  # warm the caches again


def test_best_values_and_nan_counts_follow_new_records() -> None:
    """The table's best column and the status line's NaN count are extended over new points only:
    after new bests, ties and NaN they say what a frame from scratch says."""
    rng = np.random.default_rng(4)
    store = store_of(
        [
            Record(float(i), {"train_loss": 2.0 + float(rng.random()), "train_class_error": 50.0}, axis=ITER)
            for i in range(500)
        ]
    )
    view = View(title="log")
    memo.clear()
    render(Dashboard(store.snapshot(), view, NOW), 160, 48)
    for k, loss in enumerate([1.5, 1.5, float("nan"), 9.0, 1.2]):
        record = Record(500.0 + k, {"train_loss": loss, "train_class_error": 40.0 + k}, axis=ITER)
        store.append([record], NOW + k)
        cached = render(Dashboard(store.snapshot(), view, NOW), 160, 48)
        memo.clear()
        assert cached == render(Dashboard(store.snapshot(), view, NOW), 160, 48)
        render(Dashboard(store.snapshot(), view, NOW), 160, 48)
    print(cached)
    assert "1 NaN/Inf value" in cached and "1.2000 @504" in cached


def test_kept_chart_titles_are_the_titles_drawn_from_scratch() -> None:
    """Chart title and legend rows are kept by what they show: a focus, a size, ascii or a plain
    console draws them again, and they equal rows drawn with nothing kept."""
    from detr_watch.render import chart

    store = _store()
    views = [VIEW, View(title=LOG, focus=1), View(title=LOG, focus=2, ascii=True), View(title=LOG, x="epoch")]
    sizes = [(160, 48), (100, 40), (70, 30)]
    first = {
        (i, w, h, c): render(Dashboard(store.snapshot(), v, NOW), w, h, color=c)
        for i, v in enumerate(views)
        for w, h in sizes
        for c in (True, False)
    }
    for (i, w, h, c), out in first.items():
        memo.clear()
        chart._HEADS.clear()
        assert render(Dashboard(store.snapshot(), views[i], NOW), w, h, color=c) == out, (i, w, h, c)
    assert len({out.splitlines()[2] for (i, w, h, c), out in first.items() if (w, c) == (160, True)}) > 1
