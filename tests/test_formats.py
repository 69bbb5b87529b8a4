"""Every real log in ../shared/logs: detected as its format, parsed to known counts and values."""

from __future__ import annotations

import math
import random
from datetime import datetime
from pathlib import Path

import pytest
from conftest import DATA, shared_log

from detr_watch import formats
from detr_watch.formats.base import Parser
from detr_watch.records import EPOCH, ITER, Record

SNIFF_LINES = 400  # what a sniffer is promised at most (see formats/__init__.py)

REAL_LOGS = {
    "conditional_detr_swin_logtxt_Gaw4Gura.txt": "detr-json",
    "detr_logtxt_Moqixis_object_detection_detr.txt": "detr-json",
    "detr_logtxt_official_r50_500ep_noepochkey_via_FarjadAhmed.txt": "detr-json",
    "detr_stdout_FarjadAhmed_default_mha_10ep.txt": "detr-stdout",
    "detr_stdout_FarjadAhmed_test_dcmha_interrupted.txt": "detr-stdout",
    "detrex_d2_metricsjson_Lontoone_detr_r50_300ep.json": "detectron2-json",
    "detrex_d2_stdoutlog_Lontoone_detr_r50_300ep.txt": "detectron2-stdout",
    "dino_logtxt_ChunTsungHsiao_cvpdl_hw1.txt": "detr-json",
    "mmdet_codetr_logjson_Ly-Lynn_co_dino_headeronly.log.json": "mmdet-json",
    "rtdetr_logtxt_Hammer-888_pvt_small_improved_many_restarts.txt": "detr-json",
    "ultralytics_rtdetr_resultscsv_cui123000_rtdetr_l_coco_indoor_restart.csv": "ultralytics-csv",
    "ultralytics_rtdetr_resultscsv_samsio2005_uae_lp.csv": "ultralytics-csv",
}


def log_lines(name: str) -> list[bytes]:
    """A real log's lines: the copy in tests/data, or the large ones from ../shared/logs."""
    path = DATA / name
    return (path if path.exists() else shared_log(name)).read_bytes().splitlines()


def parse(name: str) -> tuple[Parser, list[Record]]:
    lines = log_lines(name)
    fmt = formats.detect(lines[:SNIFF_LINES])
    assert fmt is not None, name
    parser = formats.create(fmt)
    return parser, parser.feed(lines)


def runs(records: list[Record]) -> list[int]:
    return sorted({r.run for r in records})


def series(records: list[Record], name: str) -> list[tuple[float, float]]:
    return [(r.step, r.metrics[name]) for r in records if name in r.metrics]


def test_the_real_logs_are_all_listed() -> None:
    folder = Path(__file__).resolve().parents[2] / "shared" / "logs"
    if not folder.exists():
        pytest.skip(f"{folder} not available")
    assert {p.name for p in folder.iterdir() if p.name != "README.md"} == set(REAL_LOGS)


@pytest.mark.parametrize("name", sorted(REAL_LOGS))
def test_real_log_is_detected_as_its_format(name: str) -> None:
    assert formats.detect(log_lines(name)[:SNIFF_LINES]) == REAL_LOGS[name]


@pytest.mark.parametrize("name", sorted(REAL_LOGS))
def test_real_log_is_recognised_and_metrics_are_floats(name: str) -> None:
    parser, records = parse(name)
    assert parser.recognised
    for rec in records:
        assert rec.metrics and all(type(v) is float for v in rec.metrics.values()), rec
        assert rec.axis in (EPOCH, ITER) and math.isfinite(rec.step)


def _non_logs() -> dict[str, list[bytes]]:
    rng = random.Random(0)
    here = Path(__file__).resolve().parent
    return {
        "empty": [],
        "blank lines": [b"", b"   ", b"\t"],
        "readme": (here / "data" / "README.md").read_bytes().splitlines(),
        "markdown with a log excerpt": [
            b"# How to read it",
            b"",
            b"    Epoch: [0]  [ 0/9]  eta: 0:00:01  loss: 1.0 (1.0)",
        ],
        "random binary": rng.randbytes(64 * 1024).split(b"\n"),
        "python source": (here.parent / "detr_watch" / "formats" / "detr_stdout.py")
        .read_bytes()
        .splitlines(),
        "python source (d2 examples)": (here.parent / "detr_watch" / "formats" / "detectron2_stdout.py")
        .read_bytes()
        .splitlines(),
        "another csv": [b"name,value,epoch", b"a,1,1", b"b,2,2"],
        "json lines that are not a log": [b'{"name": "x"}', b'{"name": "y", "value": 3}'],
        "json arrays": [b"[1, 2, 3]", b"[4, 5, 6]"],
    }


@pytest.mark.parametrize("what", sorted(_non_logs()))
def test_non_logs_are_not_detected(what: str) -> None:
    assert formats.detect(_non_logs()[what]) is None


def test_every_format_is_registered_and_creates_its_parser() -> None:
    assert sorted(formats.FORMATS) == sorted(set(REAL_LOGS.values()))
    for name in formats.FORMATS:
        parser = formats.create(name)
        assert parser.name == name and parser.skipped == 0 and not parser.recognised


# --- detr-json ---------------------------------------------------------------------------


def test_official_detr_log_without_epoch_key_counts_lines_and_ends_at_ap_0420() -> None:
    _, records = parse("detr_logtxt_official_r50_500ep_noepochkey_via_FarjadAhmed.txt")
    assert len(records) == 500 and runs(records) == [0]
    assert [r.step for r in records] == [float(i) for i in range(500)]
    assert records[0].metrics["train_loss"] == 25.99649900791449
    assert records[-1].metrics["train_loss"] == 6.092872703746283
    assert round(records[-1].metrics["test_coco_eval_bbox/AP"], 3) == 0.420
    assert records[-1].metrics["test_coco_eval_bbox/ARl"] == 0.8051909057658281
    assert "n_parameters" not in records[0].metrics and "test_coco_eval_bbox" not in records[0].metrics


def test_moqixis_log_has_two_runs_and_no_minus_one_coco_values() -> None:
    parser, records = parse("detr_logtxt_Moqixis_object_detection_detr.txt")
    assert len(records) == 7 and parser.skipped == 0
    assert [r.run for r in records] == [0, 0, 0, 0, 0, 1, 1]
    assert [r.step for r in records] == [0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 1.0]
    for rec in records:
        assert "test_coco_eval_bbox/APs" not in rec.metrics and "test_coco_eval_bbox/ARs" not in rec.metrics
        assert sum(k.startswith("test_coco_eval_bbox/") for k in rec.metrics) == 10
    assert records[0].metrics["test_coco_eval_bbox/AP"] == 0.7128255300967893
    assert records[5].metrics["train_loss"] == 4.12762659557747


def test_conditional_detr_log() -> None:
    _, records = parse("conditional_detr_swin_logtxt_Gaw4Gura.txt")
    assert len(records) == 50 and runs(records) == [0] and records[-1].step == 49.0
    assert records[0].metrics["train_loss"] == 18.223146938848735
    assert records[-1].metrics["train_loss"] == 7.941286441390704
    assert records[-1].metrics["test_coco_eval_bbox/AP"] == 0.426505715014377


def test_dino_log_keeps_numbers_drops_strings_and_reads_now_time() -> None:
    _, records = parse("dino_logtxt_ChunTsungHsiao_cvpdl_hw1.txt")
    assert len(records) == 24 and runs(records) == [0]
    first = records[0]
    assert first.time == datetime(2023, 10, 17, 18, 42, 1, 279628).timestamp()
    assert first.metrics["train_loss"] == 15.679579261144003
    assert "train_loss_bbox_dn_0" in first.metrics and "train_loss_ce_interm" in first.metrics
    assert not {"now_time", "epoch_time", "best_ep", "epoch", "n_parameters"} & set(first.metrics)
    assert records[-1].metrics["best_res"] == 0.5141227333125316


def test_rtdetr_log_splits_its_appended_restarts() -> None:
    _, records = parse("rtdetr_logtxt_Hammer-888_pvt_small_improved_many_restarts.txt")
    assert len(records) == 302
    # The first line is a one-epoch run of its own (val_* keys), then epoch 0 again: 9 runs by
    # the step-goes-back rule (the logs README counts 8).
    assert runs(records) == list(range(9))
    starts = [i for i, r in enumerate(records) if i == 0 or r.run != records[i - 1].run]
    assert starts == [0, 1, 57, 137, 210, 216, 221, 268, 270]
    assert records[0].metrics["val_coco_eval_bbox/AP"] == 0.09836623974103154
    assert records[0].metrics["val_mAP"] == 0.09836623974103154
    assert "train_loss_vfl_aux_5" in records[0].metrics and "train_loss_giou_dn_3" in records[2].metrics
    assert not {"model_type", "total_parameters", "train_batch_size"} & set(records[0].metrics)
    assert records[-1].step == 31.0 and records[-1].metrics["train_loss"] == 16.7775412883274
    assert records[-1].metrics["test_coco_eval_bbox/AP"] == 0.47520220626573095


# --- detr-stdout -------------------------------------------------------------------------


def test_detr_console_log_10_epochs() -> None:
    parser, records = parse("detr_stdout_FarjadAhmed_default_mha_10ep.txt")
    train = [r for r in records if "train_loss" in r.metrics]
    assert len(records) == 170 and len(train) == 140 and runs(records) == [0]
    assert parser.skipped == 86
    assert (train[0].step, train[0].epoch, train[0].metrics["train_loss"]) == (0.0, 0.0, 68.5848)
    assert train[0].metrics["train_lr"] == 0.0001 and train[0].metrics["train_class_error"] == 98.96
    assert train[1].step == 10.0 and train[1].metrics["train_loss"] == 55.7937  # the median, not (56.1581)
    last = train[-1]
    assert (last.step, last.epoch) == (9 * 128 + 127.0, 9 + 127 / 128)
    assert last.metrics["train_loss"] == 26.5718
    assert last.metrics["train_iter_time"] > 0 and "train_data_time" in last.metrics
    assert not {"train_eta", "train_mem", "train_max mem", "train_time"} & set(last.metrics)
    assert all(r.axis == ITER for r in records)


def test_detr_console_log_evaluation_records_sit_at_the_end_of_their_epoch() -> None:
    _, records = parse("detr_stdout_FarjadAhmed_default_mha_10ep.txt")
    assert series(records, "train_avg_loss")[0] == (128.0, 43.3952)  # the global average
    assert series(records, "test_loss")[0] == (128.0, 56.3321)
    assert series(records, "test_class_error")[-1] == (1280.0, 92.26)
    ap = series(records, "test_coco_eval_bbox/AP")
    assert len(ap) == 10 and ap[-1] == (1280.0, 0.002)
    assert series(records, "test_coco_eval_bbox/ARl")[-1] == (1280.0, 0.005)
    table = [r for r in records if "test_coco_eval_bbox/AP" in r.metrics][-1]
    assert table.epoch == 10.0 and len(table.metrics) == 12 and table.run == 0


def test_detr_console_log_interrupted_inside_a_test_loop() -> None:
    parser, records = parse("detr_stdout_FarjadAhmed_test_dcmha_interrupted.txt")
    train = [r for r in records if "train_loss" in r.metrics]
    assert len(train) == 76 * 14 and len(records) == 76 * 14 + 75 * 3 + 1 and runs(records) == [0]
    assert len(series(records, "test_coco_eval_bbox/AP")) == 75
    assert train[-1].step == 75 * 128 + 127.0 and train[-1].metrics["train_loss"] == 28.1213
    assert records[-1].step == 76 * 128.0 and records[-1].metrics["train_avg_loss"] == 29.0541
    assert parser.recognised


# --- detectron2 --------------------------------------------------------------------------


def test_detrex_metrics_json() -> None:
    parser, records = parse("detrex_d2_metricsjson_Lontoone_detr_r50_300ep.json")
    assert len(records) == 17 and runs(records) == [0] and parser.skipped == 0
    assert [r.step for r in records] == [float(19 + 20 * i) for i in range(17)]
    assert records[0].metrics["total_loss"] == 50.6027794778347
    assert records[-1].metrics["total_loss"] == 22.917622432112694
    assert records[0].metrics["lr"] == 0.0001 and records[0].metrics["time"] == 7.173977450000002
    assert not {"iteration", "eta_seconds"} & set(records[0].metrics)
    assert all(r.axis == ITER for r in records)


def test_detrex_console_log_matches_its_metrics_json() -> None:
    parser, records = parse("detrex_d2_stdoutlog_Lontoone_detr_r50_300ep.txt")
    _, from_json = parse("detrex_d2_metricsjson_Lontoone_detr_r50_300ep.json")
    assert [r.step for r in records] == [r.step for r in from_json]
    assert set(records[0].metrics) <= set(from_json[0].metrics)  # the names metrics.json uses
    assert records[0].metrics["total_loss"] == 50.6 and records[0].metrics["loss_class"] == 0.6882
    assert records[0].metrics["data_time"] == 0.4431 and "max_mem" not in records[0].metrics
    assert records[-1].metrics["total_loss"] == 22.92
    assert parser.skipped == 904  # environment, config and model dumps
    stamp = datetime(datetime.now().year, 1, 8, 22, 47, 8).timestamp()
    assert records[0].time in (stamp, datetime(datetime.now().year - 1, 1, 8, 22, 47, 8).timestamp())


# --- mmdet-json --------------------------------------------------------------------------


def test_mmdet_header_only_log_is_recognised_without_records() -> None:
    parser, records = parse("mmdet_codetr_logjson_Ly-Lynn_co_dino_headeronly.log.json")
    assert records == [] and parser.recognised and parser.skipped == 0


# --- ultralytics-csv ---------------------------------------------------------------------


def test_ultralytics_csv_restart_inside_the_file_is_a_second_run() -> None:
    parser, records = parse("ultralytics_rtdetr_resultscsv_cui123000_rtdetr_l_coco_indoor_restart.csv")
    assert len(records) == 93 and parser.skipped == 0
    assert [r.run for r in records] == [0] * 13 + [1] * 80
    assert [r.step for r in records] == [float(e) for e in [*range(1, 14), *range(1, 81)]]
    assert records[12].metrics["metrics/mAP50-95(B)"] == 0.23346
    assert records[-1].metrics["metrics/mAP50-95(B)"] == 0.23541
    assert records[-1].metrics["lr/pg0"] == 0.000159398 and "epoch" not in records[-1].metrics
    assert all(r.axis == EPOCH for r in records)


def test_ultralytics_csv_single_run() -> None:
    _, records = parse("ultralytics_rtdetr_resultscsv_samsio2005_uae_lp.csv")
    assert len(records) == 20 and runs(records) == [0]
    assert records[0].metrics["train/giou_loss"] == 0.65904 and records[0].metrics["time"] == 2275.63
    assert records[-1].step == 20.0 and records[-1].metrics["metrics/mAP50-95(B)"] == 0.86279
    assert len(records[-1].metrics) == 14
