"""The alerts kept over new points only give what a pass over the whole history gives.

The references below are the straightforward whole-history checks (what detr_watch.alerts did
before it kept state between snapshots). Each test appends records one at a time (with restarts,
NaN/Inf, flat stretches, spikes, plateaus, series that appear late and a staged reload) and holds
every snapshot's alerts, NaN/Inf count and usual interval to them. Small blocks make the partial
and whole blocks of the plateau check and of the NaN/Inf scan meet within a few hundred points.
"""

from __future__ import annotations

import math
import random
from typing import Iterator, Optional

import numpy as np
import pytest
from conftest import REAL_LOGS, shared_log

from detr_watch import alerts, memo
from detr_watch.alerts import Alert
from detr_watch.analysis import ema, percentiles, stitch
from detr_watch.pipeline import Source
from detr_watch.records import EPOCH, ITER, Record
from detr_watch.render import status
from detr_watch.stats import median
from detr_watch.store import FloatArray, SeriesStore, Snapshot

NAN, INF = math.nan, math.inf


# --- whole-history references ---------------------------------------------------------------------


def ref_nonfinite(snapshot: Snapshot) -> Optional[Alert]:
    first: Optional[tuple[int, str, float]] = None
    others = 0
    for name, s in sorted(snapshot.series.items()):
        bad = ~np.isfinite(s.values)
        if not bad.any():
            continue
        i = int(np.argmax(bad))
        order = (int(s.runs[i]), float(s.steps[i]))
        if first is None or order < (first[0], first[2]):
            if first is not None:
                others += 1
            first = (order[0], name, order[1])
        else:
            others += 1
    if first is None:
        return None
    _, name, step = first
    s = snapshot.series[name]
    more = f" (+{others} series)" if others else ""
    return Alert(
        "nonfinite",
        f"NaN/Inf in {name} at {s.axis} {alerts._step(step)}{more}",
        ("nonfinite", name, step),
        "error",
    )


def ref_spike_at(values: FloatArray) -> Optional[int]:
    n = values.shape[0]
    for i in range(n - 1, max(-1, n - 1 - alerts.RECENT), -1):
        y = float(values[i])
        if not math.isfinite(y):
            continue
        prev = values[max(0, i - alerts.SPIKE_WINDOW) : i]
        prev = prev[np.isfinite(prev)]
        if prev.shape[0] < alerts.SPIKE_MIN_POINTS:
            continue
        q25, med, q75 = percentiles(prev, (25, 50, 75))
        sd = max(1.4826 * median(np.abs(prev - med), overwrite_input=True), (q75 - q25) / 1.349)
        if y - med > alerts.SPIKE_K * sd and y - med > alerts.SPIKE_MIN_RISE * abs(med):
            return i
    return None


def ref_spike(snapshot: Snapshot) -> Optional[Alert]:
    if snapshot.last_record is None:
        return None
    run = snapshot.last_record.run
    found: Optional[tuple[float, str, float, float]] = None
    for name in alerts._main_losses(snapshot):
        s = snapshot.series[name]
        mask = s.runs == run
        values = s.values[mask]
        i = ref_spike_at(values)
        if i is None:
            continue
        step = float(s.steps[mask][i])
        prev = values[max(0, i - alerts.SPIKE_WINDOW) : i]
        med = float(np.median(prev[np.isfinite(prev)]))
        if found is None or step > found[0]:
            found = (step, name, float(values[i]), med)
    if found is None:
        return None
    step, name, y, med = found
    axis = snapshot.series[name].axis
    return Alert(
        "spike",
        f"spike: {name} {alerts._value(y)} at {axis} {alerts._step(step)} (recent ~{alerts._value(med)})",
        ("spike", name, step),
    )


def ref_plateau_of(steps: FloatArray, values: FloatArray, goal: str) -> Optional[tuple[float, float, int]]:
    ok = np.isfinite(values) & np.isfinite(steps)
    xs, ys = steps[ok], values[ok]
    n = ys.shape[0]
    window = max(alerts.PLATEAU_MIN_POINTS, n // 5)
    if n < 2 * window:
        return None
    sign = 1.0 if goal == "max" else -1.0
    before = sign * float(ys[:-window].max() if goal == "max" else ys[:-window].min())
    recent = sign * float(ys[-window:].max() if goal == "max" else ys[-window:].min())
    scale = abs(before) if before != 0 else 1.0
    if (recent - before) / scale >= alerts.PLATEAU_TOL:
        return None
    i = int(np.argmax(ys) if goal == "max" else np.argmin(ys))
    return float(ys[i]), float(xs[i]), n - 1 - i


def ref_plateau(snapshot: Snapshot) -> Optional[Alert]:
    found = alerts._plateau_metric(snapshot)
    if found is None:
        return None
    name, goal = found
    s = snapshot.series[name]
    starts = {r.run: r.first_step for r in snapshot.runs if r.axis == s.axis}
    keep = stitch(s.steps, s.runs, starts)
    steps, values = s.steps[keep], s.values[keep]
    if s.axis == "iter" and goal == "min":
        values = ema(values, alerts.PLATEAU_SMOOTHING)  # over everything, no state kept
    got = ref_plateau_of(steps, values, goal)
    if got is None:
        return None
    best, at, _ = got
    span = float(steps[np.isfinite(values)][-1]) - at
    unit = "epochs" if s.axis == "epoch" else "iters"
    return Alert(
        "plateau",
        f"plateau: {name} best {alerts._value(best)} at {s.axis} {alerts._step(at)}, "
        f"<{alerts.PLATEAU_TOL:.0%} better in {alerts._step(span)} {unit}",
        ("plateau", name, at),
    )


def ref_interval(snapshot: Snapshot) -> Optional[float]:
    best: Optional[float] = None
    for s in snapshot.series.values():
        t = s.times[np.isfinite(s.times)]
        if t.shape[0] >= 3:
            gaps = np.diff(t[-20:])
            gaps = gaps[gaps > 0]
            if gaps.shape[0]:
                g = float(np.median(gaps))
                best = g if best is None else min(best, g)
    return best


def ref_alerts(snapshot: Snapshot) -> list[Alert]:
    found = [ref_nonfinite(snapshot), ref_spike(snapshot), alerts.restart(snapshot), ref_plateau(snapshot)]
    return [a for a in found if a is not None]


def ref_bad(snapshot: Snapshot) -> int:
    return sum(int(np.count_nonzero(~np.isfinite(s.values))) for s in snapshot.series.values())


def check(snapshot: Snapshot) -> tuple[list[Alert], int, Optional[float]]:
    """The fast results, asserted equal to the references; returned so a test can see what it covered."""
    got = (alerts.data_alerts(snapshot), status.nonfinite(snapshot), alerts.usual_interval(snapshot))
    want = (ref_alerts(snapshot), ref_bad(snapshot), ref_interval(snapshot))
    assert got == want, (snapshot.version, got, want)
    return got


@pytest.fixture(autouse=True)
def _fresh_memo() -> Iterator[None]:
    memo.clear()
    yield
    memo.clear()


@pytest.fixture(params=["small blocks", "default blocks"])
def blocks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "small blocks":
        monkeypatch.setattr(alerts, "PLATEAU_BLOCK", 7)
        monkeypatch.setattr(alerts, "SCAN_ROWS", 3)
    return str(request.param)


# --- random training runs -------------------------------------------------------------------------


def training(rng: random.Random, n: int) -> Iterator[Record]:
    """Iteration records of a made-up run: a falling loss with noise, flat stretches, spikes,
    NaN/Inf, restarts from an earlier step, a time stamp that is sometimes missing, a loss term that
    appears late, and an evaluation every so often (its AP climbs, then stalls)."""
    run, step, t, level = 0, 0.0, 1000.0, 2.0
    flat_until = -1
    for k in range(n):
        r = rng.random()
        if r < 0.01 and k > 20:
            run += 1
            step = max(0.0, step - rng.choice([0.0, 10.0, 50.0, 500.0]))
        elif r < 0.03:
            flat_until = k + rng.randint(5, 60)
        if k >= flat_until:
            level *= 0.999 if k < n // 2 else 1.0
            loss = level * (1 + 0.05 * rng.gauss(0, 1))
        else:
            loss = round(level, 1)
        if rng.random() < 0.02:
            loss *= rng.choice([3.0, 10.0])
        if rng.random() < 0.005:
            loss = rng.choice([NAN, INF, -INF])
        metrics = {
            "train_loss": loss,
            "train_loss_ce": loss * 0.4,
            "train_loss_bbox": abs(rng.gauss(0.3, 0.01)),
        }
        if rng.random() < 0.01:
            metrics["train_loss_bbox"] = NAN
        if k > n // 3:
            metrics["train_loss_giou"] = 0.5 if k < n // 2 else 0.5 + 0.1 * rng.random()
        t += rng.choice([1.0, 1.0, 2.0, 0.5])
        stamp = None if rng.random() < 0.1 else t
        yield Record(step, metrics, run, ITER, stamp)
        if rng.random() < 0.08:
            ap = min(0.45, 0.1 + k / 400.0) + 0.001 * rng.random()
            yield Record(step, {"test_coco_eval_bbox/AP": ap, "test_loss": loss}, run, ITER, stamp)
        step += 1.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_runs_record_by_record(seed: int, blocks: str) -> None:
    rng = random.Random(seed)
    store = SeriesStore()
    seen: set[str] = set()
    for k, rec in enumerate(training(rng, 700)):
        store.append([rec], arrived=float(k))
        for a in check(store.snapshot())[0]:
            seen.add(a.kind)
    assert {"nonfinite", "plateau", "spike"} <= seen, seen


def test_a_loss_without_evaluations_plateaus_on_its_ema(blocks: str) -> None:
    # the plateau metric is the smoothed training loss (no AP): a flat start keeps the EMA's
    # "constant" shortcut until the first different value, which rebuilds the blocks
    rng = random.Random(7)
    store = SeriesStore()
    kinds = []
    for k in range(600):
        loss = 1.0 if k < 150 else max(0.3, 1.0 - k / 500) + 0.01 * rng.random()
        store.append([Record(float(k), {"train_loss": NAN if k == 400 else loss}, 0, ITER)], float(k))
        kinds.append([a.kind for a in check(store.snapshot())[0]])
    assert ["plateau"] in kinds and [] in kinds


def test_epoch_metric_plateau_and_restarts(blocks: str) -> None:
    # an epoch log restarted twice from a checkpoint: stitching drops the overwritten epochs
    rng = random.Random(11)
    store = SeriesStore()
    plan = [(0, range(0, 120)), (1, range(90, 200)), (2, range(150, 260))]
    found = []
    for run, epochs in plan:
        for e in epochs:
            ap = min(0.4, 0.004 * e) + 0.002 * rng.random()
            store.append(
                [Record(float(e), {"test_coco_eval_bbox/AP": ap, "train_loss": 1 / (1 + e)}, run, EPOCH)]
            )
            found.extend(a.kind for a in check(store.snapshot())[0])
    assert "plateau" in found and "restart" in found


def test_blocks_of_records_and_a_staged_reload(blocks: str) -> None:
    # appends of several records at once, then a reload through stage/commit_stage: the store
    # swaps in new arrays, which the kept results must not be confused by
    rng = random.Random(5)
    records = list(training(rng, 500))
    store = SeriesStore()
    for a in range(0, 300, 17):
        store.append(records[a : min(a + 17, 300)])
        check(store.snapshot())
    store.stage()
    store.append(records[:250])
    check(store.snapshot())  # still the first 300
    store.commit_stage()
    check(store.snapshot())
    for rec in records[250:]:
        store.append([rec])
        check(store.snapshot())


def test_an_older_snapshot_after_a_newer_one(blocks: str) -> None:
    # a paused view asks about an older snapshot of the same arrays: fewer points than kept
    store = SeriesStore()
    records = list(training(random.Random(9), 300))
    store.append(records[:200])
    old = store.snapshot()
    store.append(records[200:])
    check(store.snapshot())
    check(old)
    check(store.snapshot())


def test_plateau_of_by_blocks_matches_on_ties_and_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    # ties (the first of equal bests), signed zeros, NaN/Inf in values and steps, all-NaN blocks
    monkeypatch.setattr(alerts, "PLATEAU_BLOCK", 4)
    rng = np.random.default_rng(3)
    for _ in range(400):
        n = int(rng.integers(0, 120))
        values = rng.choice([0.0, -0.0, 1.0, 0.5, 0.25, NAN, INF, 1.0 + 1e-9], size=n)
        values[: int(rng.integers(0, n + 1))] = rng.choice([NAN, 2.0, 0.0])
        steps = np.arange(n, dtype=float)
        steps[rng.random(n) < 0.05] = NAN
        for goal in ("max", "min"):
            want = ref_plateau_of(steps, values, goal)
            got = alerts.plateau_of(steps, values, goal)
            assert got == want, (values.tolist(), goal)
            if got is not None:
                assert math.copysign(1.0, got[0]) == math.copysign(1.0, want[0])  # type: ignore[index]


@pytest.mark.parametrize("name", REAL_LOGS or ["none"])
def test_real_logs_record_by_record(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "PLATEAU_BLOCK", 7)  # blocks fill and split even in a short log
    monkeypatch.setattr(alerts, "SCAN_ROWS", 3)
    source = Source(shared_log(name))
    try:
        records = source.poll(final=True)
    finally:
        source.close()
    store = SeriesStore()
    for k, rec in enumerate(records):
        store.append([rec], arrived=float(k))
        check(store.snapshot())


def test_a_flat_loss_that_rises_keeps_its_best_in_the_flat_part(blocks: str) -> None:
    # the EMA of a constant stretch is the stretch itself only while the series stays constant;
    # once it changes, the EMA is recomputed and its flat part can move by an ulp: the kept
    # extremes must be rebuilt, or the best point and its step come out of the old floats
    store = SeriesStore()
    texts = set()
    for k in range(400):
        loss = 0.3 if k < 200 else 0.31 + 0.001 * (k % 7)
        store.append([Record(float(k), {"train_loss": loss}, 0, ITER)], float(k))
        texts.update(a.text for a in check(store.snapshot())[0])
    assert any(t.startswith("plateau: train_loss best 0.3 at iter") for t in texts), texts


def test_a_run_whose_own_first_step_drops_cuts_old_points(blocks: str) -> None:
    # run 1 is an epoch run in the store's books, so the iteration series' cut for it comes from
    # its own first step; a later point of run 1 below it cuts more of run 0, without a new run
    store = SeriesStore()
    for k in range(100):
        store.append([Record(float(k), {"test_coco_eval_bbox/AP": 0.4 + 0.0001 * (k % 3)}, 0, ITER)])
        check(store.snapshot())
    store.append([Record(1.0, {"train_lr": 0.1}, 1, EPOCH)])
    for k, step in enumerate([90.0, 91.0, 92.0, 60.0, 93.0, 40.0, 94.0]):
        store.append([Record(step, {"test_coco_eval_bbox/AP": 0.3 + 0.01 * k}, 1, ITER)])
        check(store.snapshot())


def test_spike_at_matches_the_reference_on_ties_flat_stretches_and_spikes() -> None:
    # `_is_spike` skips the MAD where the interquartile range already rules a spike out: the same
    # answers as taking both, on values from a few levels (ties, MAD 0), rises and NaN/Inf
    rng = np.random.default_rng(4)
    hits = 0
    for _ in range(3000):
        n = int(rng.integers(0, 45))
        values = rng.choice([1.0, 1.0, 1.1, 0.9, 1.02, 0.0, -0.5, 3.0, 40.0, NAN, INF], size=n)
        if n and rng.random() < 0.5:
            values[-int(rng.integers(1, min(n, 6) + 1))] = rng.choice([1.31, 1.5, 2.0, 7.0, 1e6])
        want = ref_spike_at(values)
        assert alerts.spike_at(values) == want, values.tolist()
        hits += want is not None
    assert hits > 100  # the spikes are really there, not only the quick "no"


def _spike_tests(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A counter of the points `spike` tests, one entry per point (the real test still runs)."""
    tested: list[int] = []
    real = alerts._is_spike

    def counted(values: FloatArray, i: int) -> bool:
        tested.append(i)
        return real(values, i)

    monkeypatch.setattr(alerts, "_is_spike", counted)
    return tested


def test_a_record_of_other_series_tests_no_point_and_a_record_of_losses_its_new_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tested = _spike_tests(monkeypatch)
    store = SeriesStore()
    rng = random.Random(3)
    for k in range(60):
        loss = 1.0 + 0.01 * rng.random() if k != 55 else 9.0
        metrics = {
            "train_loss": loss,
            "train_loss_ce": loss / 2,
            "train_loss_giou": 0.4 + 0.01 * rng.random(),
        }
        store.append([Record(float(k), metrics, 0, ITER)], float(k))
        check(store.snapshot())
    assert check(store.snapshot())[0][0].key == ("spike", "train_loss", 55.0)  # ties: the first name
    # an evaluation: no main loss got a point, none is tested again (a new snapshot all the same)
    tested.clear()
    store.append([Record(59.0, {"test_coco_eval_bbox/AP": 0.3}, 0, ITER)], 60.0)
    assert [a.kind for a in check(store.snapshot())[0]] == ["spike"]
    assert len(tested) == 0  # `check` itself ran the alerts, then the reference (which does not count)
    # a record of the three losses: one new point each, not the last RECENT of each
    store.append([Record(60.0, {"train_loss": 1.0, "train_loss_ce": 0.5, "train_loss_giou": 0.4}, 0, ITER)])
    check(store.snapshot())
    assert len(tested) == 3
    # two records at once: two points each
    tested.clear()
    losses = {"train_loss": 1.0, "train_loss_ce": 0.5, "train_loss_giou": 0.4}
    store.append([Record(61.0 + j, losses, 0, ITER) for j in range(2)])
    check(store.snapshot())
    assert len(tested) == 6
    # a record of two of them moves those to arrays of their own (the store splits the rows): they
    # are tested over again (their last RECENT points), the third not at all
    tested.clear()
    store.append([Record(63.0, {"train_loss": 1.0, "train_loss_ce": 0.5}, 0, ITER)])
    check(store.snapshot())
    assert len(tested) == 2 * alerts.RECENT
