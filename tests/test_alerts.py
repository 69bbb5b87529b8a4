"""Alerts and progress/ETA on tiny stores with hand-computed thresholds."""

from __future__ import annotations

import math

import pytest

from detr_watch import alerts, progress
from detr_watch.records import EPOCH, ITER, Record
from detr_watch.store import SeriesStore, Snapshot

NAN = math.nan


def snap(records: list[Record], arrived: float = 1000.0, meta: dict[str, str] | None = None) -> Snapshot:
    store = SeriesStore()
    store.append(records, arrived)
    for k, v in (meta or {}).items():
        store.set_meta(k, v)
    return store.snapshot()


def flat(n: int, value: float = 1.0, name: str = "train_loss", axis: str = ITER) -> list[Record]:
    # a little noise so the median absolute deviation is not zero
    return [Record(float(i), {name: value + (0.01 if i % 2 else -0.01)}, 0, axis) for i in range(n)]


# --- non-finite ---------------------------------------------------------------------------------


def test_nonfinite_names_the_first_series_and_step() -> None:
    records = [
        Record(0.0, {"train_loss": 1.0, "train_loss_ce": 0.5}, 0, ITER),
        Record(10.0, {"train_loss": 1.0, "train_loss_ce": math.inf}, 0, ITER),
        Record(20.0, {"train_loss": NAN, "train_loss_ce": 0.5}, 0, ITER),
    ]
    a = alerts.nonfinite(snap(records))
    assert a is not None and a.level == "error"
    assert a.text == "NaN/Inf in train_loss_ce at iter 10 (+1 series)"
    assert a.key == ("nonfinite", "train_loss_ce", 10.0)
    assert alerts.nonfinite(snap(flat(5))) is None


# --- spike --------------------------------------------------------------------------------------


def test_spike_far_above_the_recent_level() -> None:
    # 20 points at 1 +- 0.01: median 1, MAD 0.01 -> sd 0.014826; 1.5 is 34 sd and 50% above: a spike
    records = flat(20) + [Record(20.0, {"train_loss": 1.5}, 0, ITER)]
    a = alerts.spike(snap(records))
    assert a is not None
    assert a.text == "spike: train_loss 1.5 at iter 20 (recent ~1)"
    assert a.key == ("spike", "train_loss", 20.0)


def test_no_spike_when_small_or_too_early_or_in_noise() -> None:
    # 1.2 is many sd above but only 20% above the median: noise for a loss
    assert alerts.spike(snap(flat(20) + [Record(20.0, {"train_loss": 1.2}, 0, ITER)])) is None
    # fewer than SPIKE_MIN_POINTS before it
    assert alerts.spike(snap(flat(5) + [Record(5.0, {"train_loss": 9.0}, 0, ITER)])) is None
    # a noisy series (MAD 0.5, sd 0.74): 2.9 is less than 6 sd above 1.0
    noisy = [Record(float(i), {"train_loss": 1.0 + (0.5 if i % 2 else -0.5)}, 0, ITER) for i in range(20)]
    assert alerts.spike(snap(noisy + [Record(20.0, {"train_loss": 4.0}, 0, ITER)])) is None


def test_a_spike_stays_reported_for_the_next_few_points_only() -> None:
    base = flat(20) + [Record(20.0, {"train_loss": 3.0}, 0, ITER)]
    after = [Record(21.0 + i, {"train_loss": 1.0}, 0, ITER) for i in range(alerts.RECENT - 1)]
    assert alerts.spike(snap(base + after)) is not None
    later = [Record(21.0 + i, {"train_loss": 1.0}, 0, ITER) for i in range(alerts.RECENT)]
    assert alerts.spike(snap(base + later)) is None


# --- plateau ------------------------------------------------------------------------------------


def test_plateau_of_by_hand() -> None:
    import numpy as np

    steps = np.arange(20.0)
    # AP rises to 0.50 at step 9, then never more than 1% above it: window = 10, before = 0.50
    values = np.array(
        [0.1 * i for i in range(5)] + [0.45, 0.47, 0.48, 0.49, 0.50] + [0.50, 0.502] + [0.49] * 8
    )
    assert alerts.plateau_of(steps, values, "max") == (0.502, 11.0, 8)
    rising = np.linspace(0.1, 0.5, 20)
    assert alerts.plateau_of(steps, rising, "max") is None
    assert alerts.plateau_of(steps[:15], values[:15], "max") is None  # fewer than 2 windows


def test_plateau_alert_on_test_ap_over_epochs() -> None:
    records = [
        Record(float(e), {"test_coco_eval_bbox/AP": min(0.4, 0.1 * e), "train_loss": 5.0 - 0.1 * e}, 0, EPOCH)
        for e in range(25)
    ]
    a = alerts.plateau(snap(records))
    assert a is not None
    assert a.text == "plateau: test_coco_eval_bbox/AP best 0.4 at epoch 4, <1% better in 20 epochs"
    assert a.key == ("plateau", "test_coco_eval_bbox/AP", 4.0)


def test_plateau_of_an_iteration_loss_is_judged_on_its_ema() -> None:
    # falling then flat with noise: the raw minimum keeps being beaten by noise, the EMA does not
    records = [
        Record(float(i), {"train_loss": max(1.0, 3.0 - 0.1 * i) + (0.05 if i % 3 == 0 else 0)}, 0, ITER)
        for i in range(100)
    ]
    a = alerts.plateau(snap(records))
    assert a is not None and a.kind == "plateau" and "train_loss" in a.text


# --- quiet, restart -----------------------------------------------------------------------------


def test_quiet_after_much_longer_than_usual() -> None:
    s = snap(flat(3), arrived=1000.0, meta={"interval": "30"})
    assert alerts.usual_interval(s) == 30.0
    assert alerts.quiet(s, 1000.0 + 150, 30.0) is None  # 5 x 30 s: not yet
    a = alerts.quiet(s, 1000.0 + 14 * 60 + 5, 30.0)
    assert a is not None and a.text == "quiet: no new record for 14m (usually every 30s)"
    assert a.key == ("quiet", 1000.0)
    assert alerts.quiet(s, 1000.0 + 10**6, None) is None  # no idea of the usual pace: no alert


def test_quiet_needs_at_least_a_minute_and_uses_the_log_times() -> None:
    records = [Record(float(i), {"train_loss": 1.0}, 0, ITER, time=100.0 + 2.0 * i) for i in range(5)]
    s = snap(records, arrived=1000.0)
    assert alerts.usual_interval(s) == 2.0
    assert alerts.quiet(s, 1000.0 + 59, 2.0) is None  # 10 x 2 s, but under QUIET_MIN
    assert alerts.quiet(s, 1000.0 + 61, 2.0) is not None


def test_restart_just_happened() -> None:
    first = [Record(float(e), {"train_loss": 1.0}, 0, EPOCH) for e in range(10)]
    again = [Record(float(e), {"train_loss": 1.0}, 1, EPOCH) for e in range(5, 7)]
    a = alerts.restart(snap(first + again))
    assert a is not None and a.text == "restart: run 2 began at epoch 5 (run 1 reached 9)"
    assert a.key == ("restart", 1)
    longer = [
        Record(float(e), {"train_loss": 1.0}, 1, EPOCH) for e in range(5, 5 + alerts.RESTART_RECENT + 1)
    ]
    assert alerts.restart(snap(first + longer)) is None
    assert alerts.restart(snap(first)) is None


def test_find_alerts_puts_errors_first() -> None:
    records = flat(20) + [Record(20.0, {"train_loss": NAN}, 0, ITER)]
    s = snap(records, arrived=0.0, meta={"interval": "10"})
    found = alerts.find_alerts(s, 10_000.0)
    assert [a.kind for a in found][:2] == ["nonfinite", "quiet"]


def test_duration() -> None:
    assert [alerts.duration(s) for s in (5, 60, 14 * 60 + 59, 3600 + 5 * 60, 2 * 86400 + 3 * 3600, NAN)] == [
        "5s",
        "1m",
        "14m",
        "1h 05m",
        "2d 03h",
        "0s",
    ]


# --- progress -----------------------------------------------------------------------------------


def test_progress_of_a_detr_log_counts_epochs_from_zero() -> None:
    records = [Record(float(e), {"train_loss": 1.0}, 0, EPOCH, time=1000.0 + 600.0 * e) for e in range(37)]
    p = progress.progress(snap(records), total_epochs=300)
    # epoch 36 written = 37 done; 600 s per epoch from the log's times; 263 left
    assert (p.done, p.shown, p.total, p.total_from) == (37, 36, 300.0, "user")
    assert (p.sec_per_epoch, p.rate_from) == (600.0, "log times")
    assert p.eta == 263 * 600.0


def test_progress_of_an_ultralytics_log_counts_from_one() -> None:
    records = [Record(float(e), {"train/box_loss": 1.0}, 0, EPOCH) for e in range(1, 11)]
    p = progress.progress(snap(records, meta={"epochs": "100", "epoch_seconds": "30"}))
    assert (p.done, p.shown, p.total, p.total_from) == (10, 10, 100.0, "log")
    assert (p.sec_per_epoch, p.rate_from, p.eta) == (30.0, "observed", 90 * 30.0)


def test_progress_from_the_console_iteration_time_and_a_longer_earlier_run() -> None:
    # 100 iterations per epoch (step = e * 100 + i, epoch = e + i/100), 0.5 s per iteration
    first = [
        Record(e * 100.0 + i, {"train_iter_time": 0.5}, 0, ITER, epoch=e + i / 100)
        for e in range(5)
        for i in (0, 50)
    ]
    now = [
        Record(e * 100.0 + i, {"train_iter_time": 0.5}, 1, ITER, epoch=e + i / 100)
        for e in range(3)
        for i in (0, 50)
    ]
    p = progress.progress(snap(first + now))
    assert p.done == 2.5 and p.shown == 2
    assert (p.total, p.total_from) == (4.5, "earlier run")  # the first run reached epoch 4.5
    assert (p.sec_per_epoch, p.rate_from) == (50.0, "iteration time")
    assert p.eta == pytest.approx(2.0 * 50.0)


def test_progress_unknown_parts_are_none() -> None:
    p = progress.progress(snap([Record(10.0, {"loss": 1.0}, 0, ITER)]))
    assert p == progress.Progress(None, None, None, None)
    p = progress.progress(snap([Record(3.0, {"train_loss": 1.0}, 0, EPOCH)]))
    assert p.shown == 3 and p.total is None and p.eta is None
