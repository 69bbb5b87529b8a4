"""The statistics report (`summary`): hand-computed values on tiny logs, every real log, the CLI."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import REAL_LOGS, SHARED_LOGS, load_real_log

from detr_watch import stats
from detr_watch.cli import run
from detr_watch.jsonout import dumps
from detr_watch.records import Record
from detr_watch.store import SeriesStore, Snapshot
from detr_watch.summary import _union, history_stats, run_starts, series_stats, summarize

NAN = float("nan")


def snapshot(
    rows: list[dict[str, float]], runs: list[int] | None = None, steps: list[float] | None = None
) -> Snapshot:
    store = SeriesStore()
    store.append(
        Record(float(i) if steps is None else steps[i], row, 0 if runs is None else runs[i])
        for i, row in enumerate(rows)
    )
    return store.snapshot()


def detr_rows() -> list[dict[str, float]]:
    """Four epochs of a DETR log with one auxiliary layer; every number chosen to be exact in binary.

    Weighted components per epoch (final + aux): ce 2, 1.5, 1, 0.5; bbox 1 throughout; giou 1, 1, 1, 0.5.
    """
    rows = []
    ce = [1.0, 0.75, 0.5, 0.25]
    giou = [0.5, 0.5, 0.5, 0.25]
    ap = [0.0, 0.25, 0.375, 0.5]
    for e in range(4):
        row: dict[str, float] = {}
        for split, extra in (("train", 0.0), ("test", 0.25 * e)):
            p = f"{split}_"
            row[p + "loss_ce"] = ce[e] + extra
            row[p + "loss_ce_0"] = ce[e]
            row[p + "loss_ce_unscaled"] = ce[e] + extra
            row[p + "loss_bbox"] = 0.625
            row[p + "loss_bbox_0"] = 0.375
            row[p + "loss_bbox_unscaled"] = 0.125
            row[p + "loss_giou"] = giou[e]
            row[p + "loss_giou_0"] = giou[e]
            row[p + "loss_giou_unscaled"] = giou[e] / 2
            row[p + "loss"] = 2 * ce[e] + extra + 1.0 + 2 * giou[e]
        row["test_coco_eval_bbox/AP"] = ap[e]
        row["train_lr"] = 1e-4
        rows.append(row)
    return rows


def test_existing_keys_keep_their_meaning() -> None:
    rows = [{"loss": 3.0}, {"loss": 1.0}, {"loss": NAN}, {"loss": 2.0}]
    s = summarize(snapshot(rows), "log.txt", "detr-json")["series"]["loss"]
    assert (s["count"], s["nonfinite"], s["first"], s["last"]) == (3, 1, 3.0, 2.0)
    assert (s["min"], s["max"], s["step_of_min"], s["step_of_max"]) == (1.0, 3.0, 1.0, 0.0)


def test_per_series_statistics_by_hand() -> None:
    data = summarize(snapshot(detr_rows()), "log.txt", "detr-json")
    total = data["series"]["train_loss"]  # 4, 3.5, 3, 2 at steps 0..3
    assert [total["first"], total["last"]] == [4.0, 2.0]
    assert total["goal"] == "min" and total["best"] == 2.0 and total["step_of_best"] == 3.0
    # 90% of steps 0..3 is 2.7 -> the value at step 2 (3.0): (3 - 2) / 3
    assert total["improvement_last_10pct"] == pytest.approx(1 / 3, rel=1e-12)
    # last max(3, ceil(4 / 4)) = 3 points: 3.5, 3, 2 -> slope -0.75; residuals -1/12 1/6 -1/12
    assert total["slope"] == -0.75 and total["slope_points"] == 3
    assert total["slope_stderr"] == pytest.approx(math.sqrt(1 / 24 / 2), rel=1e-12)
    assert total["plateau_start"] is None and total["spikes"] == 0 and total["spike_steps"] == []
    assert total["first_nonfinite_step"] is None and total["history_points"] == 4
    ap = data["series"]["test_coco_eval_bbox/AP"]
    assert ap["goal"] == "max" and ap["best"] == 0.5 and ap["step_of_best"] == 3.0
    assert ap["improvement_last_10pct"] == pytest.approx(1 / 3, rel=1e-12)  # (0.5 - 0.375) / 0.375
    lr = data["series"]["train_lr"]
    assert lr["goal"] is None and lr["best"] is None and lr["spikes"] is None
    assert lr["slope"] == 0.0


def test_nonfinite_values_are_counted_and_skipped() -> None:
    rows = [{"loss": v} for v in (4.0, 3.0, NAN, 2.0, math.inf, 1.0)]
    s = summarize(snapshot(rows), "log.txt", "detr-json")["series"]["loss"]
    assert s["nonfinite"] == 2 and s["first_nonfinite_step"] == 2.0
    assert s["history_points"] == 4 and s["best"] == 1.0 and s["step_of_best"] == 5.0
    # finite points 4 3 2 1 at steps 0 1 3 5; 90% of the span is 4.5 -> step 3 (2.0): (2 - 1) / 2
    assert s["improvement_last_10pct"] == 0.5


def test_restarted_runs_are_stitched() -> None:
    # run 0 goes 0..3, run 1 resumes at step 2: its values replace steps 2 and 3
    rows = [{"loss": v} for v in (8.0, 4.0, 1.0, 0.5, 3.0, 2.0, 1.5)]
    snap = snapshot(rows, runs=[0, 0, 0, 0, 1, 1, 1], steps=[0, 1, 2, 3, 2, 3, 4])
    s = summarize(snap, "log.txt", "detr-json")["series"]["loss"]
    assert s["min"] == 0.5  # the original key: every finite value of every run
    assert s["history_points"] == 5 and s["best"] == 1.5 and s["step_of_best"] == 4.0


def test_plateau_and_spike_are_reported() -> None:
    values = [10.0, 5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 30.0, 4.0, 4.0, 4.0]
    s = summarize(snapshot([{"loss": v} for v in values]), "log.txt", "detr-json")["series"]["loss"]
    assert s["plateau_start"] == 2.0
    assert s["spikes"] == 1 and s["spike_steps"] == [9.0]


def test_shares_weights_and_unexplained_by_hand() -> None:
    shares = summarize(snapshot(detr_rows()), "log.txt", "detr-json")["analysis"]["shares"]
    train = shares["train"]
    assert train["total"] == "train_loss" and train["points"] == 4 and train["weights_from"] == "unscaled"
    comps = train["components"]
    assert comps["cls"]["series"] == ["train_loss_ce", "train_loss_ce_0"]
    assert [comps[c]["weight"] for c in ("cls", "bbox", "giou")] == [1.0, 5.0, 2.0]
    # totals 4, 3.5, 3, 2; epoch 0: 2 / 4, 1 / 4, 1 / 4; epoch 3: 0.5 / 2, 1 / 2, 0.5 / 2
    assert comps["cls"]["share_first"] == 0.5 and comps["cls"]["share_last"] == 0.25
    assert comps["bbox"]["share_first"] == 0.25 and comps["bbox"]["share_last"] == 0.5
    assert comps["giou"]["share_first"] == 0.25 and comps["giou"]["share_last"] == 0.25
    # cls shares 2 / 4, 1.5 / 3.5, 1 / 3, 0.5 / 2
    assert comps["cls"]["share_mean"] == pytest.approx((0.5 + 3 / 7 + 1 / 3 + 0.25) / 4, rel=1e-12)
    assert train["unexplained_last"] == 0.0
    # test: cls has 0.25 * e more in the total and in the final layer
    assert shares["test"]["components"]["cls"]["share_last"] == pytest.approx(1.25 / 2.75, rel=1e-12)


def test_shares_apply_default_weights_only_when_they_make_the_total() -> None:
    # unweighted components: total = ce + 5 bbox + 2 giou
    rows = [
        {"train_loss_ce": 1.0, "train_loss_bbox": 0.25, "train_loss_giou": 0.5, "train_loss": 3.25},
        {"train_loss_ce": 0.5, "train_loss_bbox": 0.125, "train_loss_giou": 0.5, "train_loss": 2.125},
    ]
    train = summarize(snapshot(rows), "p", "f")["analysis"]["shares"]["train"]
    assert train["weights_from"] == "default"
    assert train["components"]["bbox"]["weight"] == 5.0
    assert train["components"]["bbox"]["share_first"] == 1.25 / 3.25
    # weighted as logged (RT-DETR): the components add up to the total as they are
    rows = [{"train_loss_vfl": 1.0, "train_loss_bbox": 0.5, "train_loss_giou": 0.5, "train_loss": 2.0}]
    train = summarize(snapshot(rows), "p", "f")["analysis"]["shares"]["train"]
    assert train["weights_from"] == "log" and train["components"]["cls"]["weight"] is None
    assert train["components"]["cls"]["share_last"] == 0.5


def test_shares_without_a_total_use_the_sum_of_components() -> None:
    rows = [{"train/cls_loss": 1.0, "train/l1_loss": 0.5, "train/giou_loss": 0.5}]
    train = summarize(snapshot(rows), "p", "f")["analysis"]["shares"]["train"]
    assert train["total"] is None
    assert [train["components"][c]["share_last"] for c in ("cls", "bbox", "giou")] == [0.5, 0.25, 0.25]


def test_correlation_with_ap_by_hand() -> None:
    corr = summarize(snapshot(detr_rows()), "log.txt", "detr-json")["analysis"]["correlations"]
    assert corr["ap"] == "test_coco_eval_bbox/AP"
    total = corr["losses"]["train_loss"]  # 4 3.5 3 2 against 0 .25 .375 .5
    # dx = .875 .375 -.125 -1.125, dy = -.28125 -.03125 .09375 .21875: Sxy -.515625, Sxx 2.1875, Syy .13671875
    assert total["points"] == 4
    assert total["pearson"] == pytest.approx(-0.515625 / math.sqrt(2.1875 * 0.13671875), rel=1e-12)
    assert total["spearman"] == -1.0
    bbox = corr["losses"]["train_loss_bbox"]  # constant: no correlation
    assert bbox["pearson"] is None and bbox["spearman"] is None
    assert "train_loss_ce_0" not in corr["losses"]  # auxiliary copies are left out
    assert "train_loss_ce_unscaled" not in corr["losses"]  # so are unscaled twins


def test_correlations_rank_ap_again_when_the_steps_change() -> None:
    """AP's ranks are kept from one loss to the next only while the matched steps are the same."""
    rng = np.random.default_rng(11)
    n = 60
    ap = np.round(rng.random(n), 2)
    a, b, c = (np.round(rng.random(n), 2) for _ in range(3))
    b[::4] = NAN  # train_loss_bbox meets AP at other steps than ce and giou
    rows = [
        {
            "train_loss_ce": a[i],
            "train_loss_bbox": b[i],
            "train_loss_giou": c[i],
            "test_coco_eval_bbox/AP": ap[i],
        }
        for i in range(n)
    ]
    losses = summarize(snapshot(rows), "log.txt", "detr-json")["analysis"]["correlations"]["losses"]
    ok = ~np.isnan(b)
    assert losses["train_loss_bbox"]["points"] == int(ok.sum())
    for name, values, keep in (
        ("train_loss_ce", a, ~np.isnan(a)),
        ("train_loss_bbox", b, ok),
        ("train_loss_giou", c, ~np.isnan(c)),
    ):
        assert losses[name]["spearman"] == stats.spearman(values[keep], ap[keep]), name


def test_spearman_of_losses_that_meet_ap_at_as_many_but_other_steps() -> None:
    """AP's ranks are kept per set of steps: a loss with as many steps as an earlier one, but other
    steps, is ranked against AP at its own steps; a set seen before is ranked the same way again."""
    rng = np.random.default_rng(12)
    n = 40
    ap = rng.random(n)
    a, b, c, d = (rng.random(n) for _ in range(4))
    a[::4] = NAN
    c[1::4] = NAN
    d[::4] = NAN
    names = ("train_loss", "train_loss_bbox", "train_loss_ce", "train_loss_giou")
    rows = [
        {**{name: v[i] for name, v in zip(names, (a, b, c, d))}, "test_coco_eval_bbox/AP": ap[i]}
        for i in range(n)
    ]
    losses = summarize(snapshot(rows), "log.txt", "detr-json")["analysis"]["correlations"]["losses"]
    for name, values in zip(names, (a, b, c, d)):
        keep = ~np.isnan(values)
        assert losses[name]["spearman"] == stats.spearman(values[keep], ap[keep]), name


def test_train_test_gap_by_hand() -> None:
    gaps = summarize(snapshot(detr_rows()), "log.txt", "detr-json")["analysis"]["gaps"]
    ce = gaps["loss_ce"]  # test - train = 0.25 * epoch
    assert (ce["train"], ce["test"], ce["points"]) == ("train_loss_ce", "test_loss_ce", 4)
    assert ce["last"] == 0.75 and ce["mean"] == 0.375
    # last half: 2 points, too few for a standard error
    assert ce["slope"] is None and ce["widening"] is False
    bbox = gaps["loss_bbox"]
    assert bbox["last"] == 0.0 and not bbox["widening"]
    assert "loss_ce_unscaled" not in gaps


def test_gap_widening_over_a_longer_run() -> None:
    rows = [{"train_loss": 1.0, "test_loss": 1.0 + 0.125 * max(0, e - 3)} for e in range(8)]
    gap = summarize(snapshot(rows), "p", "f")["analysis"]["gaps"]["loss"]
    # gaps 0 0 0 0 .125 .25 .375 .5; last half (steps 4-7) rises by .125 per step exactly
    assert gap["slope"] == 0.125 and gap["slope_stderr"] == 0.0 and gap["slope_points"] == 4
    assert gap["widening"] is True


def test_aux_layer_excess_by_hand() -> None:
    aux = summarize(snapshot(detr_rows()), "log.txt", "detr-json")["analysis"]["aux_layers"]
    # bbox: final .625, layer 0 .375 at the last step -> (.375 - .625) / .625
    layer = aux["train_loss_bbox"]["0"]
    assert layer == {"series": "train_loss_bbox_0", "step": 3.0, "difference": -0.25, "excess": -0.4}
    assert aux["test_loss_ce"]["0"]["difference"] == -0.75  # the final layer carries the extra 0.75
    assert aux["train_loss_giou"]["0"]["excess"] == 0.0


def test_the_report_is_one_strict_json_object() -> None:
    rows = detr_rows()
    rows[2]["train_loss_ce"] = NAN
    text = dumps(summarize(snapshot(rows), "log.txt", "detr-json"))
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert set(data) == {"path", "format", "records", "skipped_lines", "runs", "series", "analysis"}


def _write_log(path: Path) -> None:
    with path.open("w") as f:
        for e, row in enumerate(detr_rows()):
            f.write(json.dumps({**row, "epoch": e, "n_parameters": 41}) + "\n")


def test_cli_summary_json(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    _write_log(log)
    out, err = io.StringIO(), io.StringIO()
    assert run(["summary", "--json", str(log)], out, err) == 0, err.getvalue()
    data = json.loads(out.getvalue())
    assert data["series"]["train_loss"]["best"] == 2.0
    assert data["analysis"]["gaps"]["loss_ce"]["last"] == 0.75


def test_cli_summary_for_people(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    _write_log(log)
    out, err = io.StringIO(), io.StringIO()
    assert run(["summary", str(log)], out, err) == 0, err.getvalue()
    text = out.getvalue()
    print(text)
    assert "\x1b" not in text
    for fragment in (
        "train_loss",
        "Share of the total",
        "Correlation with",
        "Train-test gap",
        "decoder layer",
    ):
        assert fragment in text


def test_print_summary_escapes_log_text() -> None:
    from rich.console import Console

    from detr_watch.render.summary_view import render_summary

    rows = [{"[bold]evil\x1b[31m": 1.0}, {"[bold]evil\x1b[31m": 2.0}]
    data = summarize(snapshot(rows), "[red]p", "f")
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(render_summary(data))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    print(repr(text))
    assert "[bold]evil?[31m" in text and "\x1b" not in text and "[red]p" in text


@pytest.mark.parametrize("width", [80, 100, 120])
def test_report_fits_the_console_and_drops_columns_when_narrow(width: int) -> None:
    from rich.console import Console

    from detr_watch.render.summary_view import render_summary

    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(render_summary(summarize(snapshot(detr_rows()), "log.txt", "detr-json")))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    print(text)
    assert max(len(line) for line in text.splitlines()) <= width
    header = next(line for line in text.splitlines() if line.startswith("series"))
    assert "best @step" in header and "slope/step" in header
    assert ("nan/inf" in header) == (width >= 120)
    # names are never folded while dropping an optional column can make room for them
    rows = [line.split()[0] for line in text.splitlines() if line.startswith(("train_", "test_"))]
    assert "test_coco_eval_bbox/AP" in rows and "train_loss_bbox_unscaled" in rows


def test_union_of_steps_is_np_unique() -> None:
    """The steps of a share: every step any of its series has, once, ascending."""
    rng = np.random.default_rng(5)
    for sizes in ((3, 5), (1, 0, 4), (40, 40, 7), (200, 150, 180, 1)):
        arrays = [np.unique(rng.integers(0, 60, n).astype(np.float64)) for n in sizes]
        assert _union(arrays).tolist() == np.unique(np.concatenate(arrays)).tolist(), sizes
    same = np.array([1.0, 2.0, 5.0])
    assert _union([same, same.copy()]) is same


def test_summary_does_not_import_numpy_ma(tmp_path: Path) -> None:
    """np.median and np.unique import numpy.ma on their first call (17 ms of a `summary --json`):
    series long enough for the spike test's last windows, components logged at different steps."""
    import subprocess
    import sys

    rows = [
        {"train_loss_ce": 1.0 + i % 7, "train_loss_bbox": 0.5 + i % 3, "train_loss": 3.0} for i in range(30)
    ]
    for i, row in enumerate(rows):
        if i % 5 == 0:
            del row["train_loss_bbox"]
    path = tmp_path / "log.txt"
    path.write_text("".join(json.dumps({**row, "epoch": i}) + "\n" for i, row in enumerate(rows)))
    code = (
        "import sys, io\n"
        "from detr_watch.cli import run\n"
        f"rc = run(['summary', '--json', {str(path)!r}], io.StringIO(), sys.stderr)\n"
        "print(rc, 'numpy.ma' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "False"]


@pytest.mark.parametrize("name", REAL_LOGS)
def test_series_statistics_computed_together_equal_one_series_at_a_time(name: str) -> None:
    """`summarize` takes every series' history statistics at once; `history_stats` one series."""
    _, store = load_real_log(name)
    snap = store.snapshot()
    data = summarize(snap, name, "")
    for key, s in sorted(snap.series.items()):
        alone = {**series_stats(s), **history_stats(s, run_starts(snap, s.axis)), "axis": s.axis}
        assert dumps(data["series"][key]) == dumps(alone), key


@pytest.mark.parametrize("name", REAL_LOGS)
def test_every_real_log(name: str) -> None:
    fmt, store = load_real_log(name)
    path = SHARED_LOGS / name
    data: dict[str, Any] = summarize(store.snapshot(), str(path), fmt)
    back = json.loads(dumps(data))
    assert set(back["series"]) == set(store.snapshot().series)
    for s in back["series"].values():
        assert s["history_points"] <= s["count"]
        if s["best"] is not None:
            assert s["min"] <= s["best"] <= s["max"]
    for split in back["analysis"]["shares"].values():
        for comp in split["components"].values():
            if comp["share_last"] is not None:
                assert -1.0 <= comp["share_last"] <= 2.0
    for corr in back["analysis"]["correlations"]["losses"].values():
        for key in ("pearson", "spearman"):
            assert corr[key] is None or -1.0 <= corr[key] <= 1.0
    out = io.StringIO()
    from detr_watch.render.summary_view import print_summary

    print_summary(data, out)
    assert out.getvalue()
