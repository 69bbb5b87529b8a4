"""One hand-written file per quirk of each format (tests/data/README.md says what each stands for)."""

from __future__ import annotations

import json
import math
import time

from conftest import DATA

from detr_watch import formats
from detr_watch.formats.base import Parser
from detr_watch.formats.detectron2_stdout import Detectron2StdoutParser
from detr_watch.records import EPOCH, ITER, Record


def parse(name: str, parser: Parser | None = None) -> tuple[Parser, list[Record]]:
    lines = (DATA / name).read_bytes().splitlines()
    if parser is None:
        fmt = formats.detect(lines)
        assert fmt is not None, name
        parser = formats.create(fmt)
    return parser, parser.feed(lines)


def with_key(records: list[Record], key: str) -> list[Record]:
    return [r for r in records if key in r.metrics]


# --- detr-json ---------------------------------------------------------------------------


def test_rtdetr_log_txt_with_nan_infinity_aux_and_dn_keys() -> None:
    parser, records = parse("detr_logtxt_rtdetr_aux_dn_nan.txt")
    assert parser.name == "detr-json" and parser.skipped == 0
    first, diverged, dead = records
    assert first.metrics["train_loss_vfl_aux_0"] == 0.3362 and first.metrics["train_loss_bbox_dn_0"] == 0.2296
    assert (
        "test_coco_eval_bbox/APs" not in first.metrics and first.metrics["test_coco_eval_bbox/AP"] == 0.0623
    )
    assert not {"model_type", "backbone", "n_parameters"} & set(first.metrics)
    assert math.isnan(diverged.metrics["train_loss"])
    assert (
        diverged.metrics["train_loss_vfl"] == math.inf
        and diverged.metrics["train_loss_vfl_aux_0"] == -math.inf
    )
    assert "test_coco_eval_bbox/AP" not in diverged.metrics  # the key set changes from line to line
    assert not any(k.startswith("test_coco_eval_bbox/") for k in dead.metrics)  # all twelve were -1


def test_rfdetr_log_txt_with_ema_segm_and_a_line_without_epoch() -> None:
    _, records = parse("detr_logtxt_rfdetr_ema_noepoch.txt")
    assert [r.step for r in records] == [0.0, 1.0, 2.0]  # the last line continues from epoch 1
    first = records[0]
    assert first.metrics["ema_test_coco_eval_bbox/AP"] == 0.311 and first.metrics["ema_test_loss"] == 10.0
    assert first.metrics["test_coco_eval_segm/ARl"] == 0.55
    assert "test_coco_eval_segm/AP" not in records[1].metrics
    assert first.time is not None and records[2].time is None
    assert all(type(v) is float for r in records for v in r.metrics.values())


def test_detr_json_recognises_only_detr_keys() -> None:
    parser = formats.create("detr-json")
    parser.feed([b'{"name": "x", "value": 3}', b"[1, 2]", b"not json", b""])
    assert not parser.recognised and parser.skipped == 2  # the object has a number: it is a record
    parser.feed([b'{"train_loss": 1.5, "epoch": 0}'])
    assert parser.recognised


def test_detr_json_odd_epochs_continue_the_count() -> None:
    parser = formats.create("detr-json")
    lines = [
        b'{"train_loss": 1, "epoch": NaN}',
        b'{"train_loss": 2, "epoch": true}',
        b'{"train_loss": 3, "epoch": "7"}',
    ]
    assert [r.step for r in parser.feed(lines)] == [0.0, 1.0, 2.0]


# --- detr-stdout -------------------------------------------------------------------------


def test_dino_info_txt_prefix_before_epoch() -> None:
    parser, records = parse("detr_stdout_dino_info_prefix.txt")
    assert parser.name == "detr-stdout" and parser.recognised
    train = with_key(records, "train_loss")
    assert [(r.step, r.epoch) for r in train] == [(0.0, 0.0), (2.0, 0.5), (3.0, 0.75), (4.0, 1.0)]
    assert (
        train[0].metrics["train_loss_bbox_dn"] == 0.9123
        and train[0].metrics["train_loss_ce_interm"] == 1.9001
    )
    assert train[0].metrics["train_iter_time"] == 13.6254 and train[0].metrics["train_data_time"] == 4.1238
    (avg,) = with_key(records, "train_avg_loss")
    assert (avg.step, avg.metrics["train_avg_loss"], avg.metrics["train_avg_lr"]) == (4.0, 31.223, 0.0001)
    (test,) = with_key(records, "test_loss")
    assert (test.step, test.metrics["test_loss"], test.metrics["test_class_error"]) == (4.0, 24.05, 20.0)
    # git:, its sha line, Command:, Full config, number of params, Start training
    assert parser.skipped == 6


def test_console_log_with_bbox_and_segm_tables() -> None:
    parser, records = parse("detr_stdout_segm_tables.txt")
    (bbox,) = with_key(records, "test_coco_eval_bbox/AP")
    (segm,) = with_key(records, "test_coco_eval_segm/AP")
    assert bbox.step == segm.step == 20.0 and bbox.epoch == 1.0
    assert bbox.metrics["test_coco_eval_bbox/AP"] == 0.512 and bbox.metrics["test_coco_eval_bbox/ARl"] == 0.66
    assert segm.metrics["test_coco_eval_segm/AP"] == 0.433 and segm.metrics["test_coco_eval_segm/ARm"] == 0.44
    assert len(bbox.metrics) == len(segm.metrics) == 10  # APs and ARs were -1.000
    # banners (distributed init, git:, sha, Namespace, number of params, Start training) and
    # pycocotools' chatter (Accumulating..., DONE, twice)
    assert parser.skipped == 10


def test_rtdetr_console_restart_nan_and_eta_over_a_day() -> None:
    parser, records = parse("detr_stdout_rtdetr_restart_nan.txt")
    assert [(r.step, r.run) for r in records] == [(0.0, 0), (100.0, 0), (200.0, 0), (0.0, 1), (100.0, 1)]
    assert (
        records[0].metrics["train_loss_vfl_aux_0"] == 0.2999
        and records[0].metrics["train_loss_vfl_dn_0"] == 0.4101
    )
    assert "train_eta" not in records[0].metrics and len(records[0].metrics) == 9
    assert math.isnan(records[2].metrics["train_loss"]) and records[2].metrics["train_loss_bbox"] == 0.79
    assert parser.skipped == 9  # launcher lines and the traceback


def test_averaged_stats_without_context_is_told_apart_by_lr() -> None:
    parser = formats.create("detr-stdout")
    records = parser.feed(
        [b"Averaged stats: lr: 0.000100  loss: 2.0000 (3.0000)", b"Averaged stats: loss: 4.0000 (5.0000)"]
    )
    assert [r.metrics for r in records] == [
        {"train_avg_lr": 0.0001, "train_avg_loss": 3.0},
        {"test_loss": 5.0},
    ]
    assert [r.step for r in records] == [0.0, 0.0]  # no training line seen yet


def test_keypoint_tables_are_not_mislabelled() -> None:
    parser = formats.create("detr-stdout")
    table = [b"IoU metric: keypoints"] + [
        b" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ] = 0.650"
    ] * 10
    assert parser.feed([*table, b"IoU metric: bbox"]) == [] and parser.skipped == 0


def test_stdout_lines_of_the_same_shape_but_odd_values_take_the_slow_path() -> None:
    parser = formats.create("detr-stdout")
    ok = b"Epoch: [0]  [0/4]  eta: 0:00:01  lr: 0.000100  loss: 2.0000 (2.0000)"
    odd = b"Epoch: [0]  [1/4]  eta: 0:00:01  lr: 0.000100  loss: 1,5 (2.0000)"
    records = parser.feed([ok, odd, ok.replace(b"[0/4]", b"[2/4]")])
    assert [r.metrics for r in records] == [
        {"train_lr": 0.0001, "train_loss": 2.0},
        {"train_lr": 0.0001},
        {"train_lr": 0.0001, "train_loss": 2.0},
    ]


# --- detectron2 --------------------------------------------------------------------------


def test_d2_metrics_json_evaluation_line_and_bookkeeping_line() -> None:
    parser, records = parse("detectron2_metricsjson_eval_bookkeeping.json")
    assert parser.name == "detectron2-json" and parser.skipped == 0
    assert [(r.step, r.run) for r in records] == [(4979.0, 0), (4999.0, 0), (4999.0, 0), (5019.0, 0)]
    ev = records[2]
    assert ev.metrics == {
        "bbox/AP": 40.213,
        "bbox/AP50": 61.02,
        "bbox/AP75": 43.51,
        "bbox/APl": 52.7,
        "bbox/APm": 44.1,
    }
    assert records[1].metrics["fast_rcnn/cls_accuracy"] == 0.94 and "eta_seconds" not in records[1].metrics


def test_d2_console_with_colours_copypaste_new_year_and_resume() -> None:
    now = time.mktime((2025, 1, 1, 12, 0, 0, 0, 0, -1))
    parser, records = parse("detectron2_stdout_console_color.txt", Detectron2StdoutParser(now=now))
    assert parser.recognised
    assert [(r.step, r.run) for r in records] == [(19.0, 0), (39.0, 0), (39.0, 0), (59.0, 0), (59.0, 1)]
    first = records[0]
    assert first.metrics == {
        "total_loss": 12.31,
        "loss_class": 0.9012,
        "loss_bbox": 0.4521,
        "loss_giou": 0.7012,
        "time": 0.5012,
        "last_time": 0.499,
        "data_time": 0.0101,
        "last_data_time": 0.0099,
        "lr": 0.0001,
    }
    # December 31 read on January 1: last year's; the stamps after midnight: this year's
    assert first.time == time.mktime((2024, 12, 31, 23, 55, 0, 0, 0, -1))
    ev = records[2]
    assert ev.metrics == {
        "bbox/AP": 12.3456,
        "bbox/AP50": 25.1,
        "bbox/AP75": 10.2,
        "bbox/APm": 8.7,
        "bbox/APl": 15.9,
    }
    assert ev.time == time.mktime((2025, 1, 1, 0, 5, 1, 0, 0, -1))
    # environment banner lines, the table rule, the WARNING, "Total inference time", the traceback
    assert parser.skipped == 9
    assert all(r.axis == ITER for r in records)


# --- ultralytics-csv ---------------------------------------------------------------------


def test_ultralytics_padded_csv_with_a_second_header_and_ragged_rows() -> None:
    parser, records = parse("ultralytics_resultscsv_padded_restart_header.csv")
    assert parser.name == "ultralytics-csv"
    assert [(r.step, r.run) for r in records] == [(0.0, 0), (1.0, 0), (2.0, 0), (0.0, 1), (1.0, 1)]
    assert records[0].metrics["train/giou_loss"] == 0.93201 and records[0].metrics["lr/pg2"] == 0.0033002
    assert len(records[0].metrics) == 13 and all(" " not in k for k in records[0].metrics)
    assert records[2].metrics == {
        "train/giou_loss": 0.75234,
        "train/cls_loss": 1.1011,
        "train/l1_loss": 0.31123,
    }
    assert parser.skipped == 1  # the row whose epoch is "x"
    assert all(r.axis == EPOCH for r in records)


def test_ultralytics_reads_the_header_again_after_a_reset() -> None:
    lines = (DATA / "ultralytics_rtdetr_resultscsv_samsio2005_uae_lp.csv").read_bytes().splitlines()
    parser = formats.create("ultralytics-csv")
    assert len(parser.feed(lines[:5])) == 4
    parser.reset()
    assert parser.feed(lines[5:7]) == [] and parser.skipped == 2  # rows of a file with no header yet
    records = parser.feed(lines[:3])
    assert [(r.step, r.run) for r in records] == [(1.0, 1), (2.0, 1)]


def test_csv_rows_before_a_header_are_skipped() -> None:
    parser = formats.create("ultralytics-csv")
    assert parser.feed([b"1,2,3", b"\xef\xbb\xbfepoch,train/cls_loss", b"1,0.5", b"2,nan", b"3,"]) != []
    assert parser.skipped == 2 and parser.recognised  # "1,2,3" before the header, "3," with no value


# --- mmdet-json --------------------------------------------------------------------------


def test_mmdet_2x_train_and_val_interleaved() -> None:
    parser, records = parse("mmdet_2x_train_val.log.json")
    assert parser.name == "mmdet-json" and parser.skipped == 0 and parser.recognised
    train = [r for r in records if r.axis == ITER]
    val = [r for r in records if r.axis == EPOCH]
    # 4 logged iterations per epoch (10..40 of 45): the second epoch continues from 40
    assert [r.step for r in train] == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0]
    assert train[0].metrics["d0.loss_cls"] == 1.05 and train[0].metrics["enc_loss_cls"] == 1.15
    assert train[0].metrics["memory"] == 9123.0 and not {"epoch", "iter", "mode"} & set(train[0].metrics)
    assert [(r.step, r.epoch, r.run) for r in val] == [(1.0, 1.0, 0), (2.0, 2.0, 0)]
    assert val[1].metrics == {
        "val/lr": 0.0002,
        "bbox_mAP": 0.4,
        "bbox_mAP_50": 0.6,
        "bbox_mAP_75": 0.31,
        "bbox_mAP_m": 0.29,
        "bbox_mAP_l": 0.41,
    }
    assert not {n for r in train for n in r.metrics} & {n for r in val for n in r.metrics}


def test_mmengine_scalars_json() -> None:
    parser, records = parse("mmengine_scalars.json")
    assert parser.name == "mmdet-json" and parser.skipped == 0
    assert [(r.step, r.axis, r.run) for r in records] == [
        (50.0, ITER, 0),
        (100.0, ITER, 0),
        (1.0, EPOCH, 0),
        (150.0, ITER, 0),
        (2.0, EPOCH, 0),
        (50.0, ITER, 1),
    ]
    assert records[0].metrics["loss_vfl_dn_0"] == 0.8953 and records[0].metrics["base_lr"] == 0.0001
    assert records[2].metrics == {
        "coco/bbox_mAP": 0.012,
        "coco/bbox_mAP_50": 0.031,
        "coco/bbox_mAP_75": 0.006,
        "coco/bbox_mAP_m": 0.004,
        "coco/bbox_mAP_l": 0.02,
        "val/data_time": 0.0046,
        "val/time": 0.0163,
    }


def test_mmengine_iteration_based_evaluates_on_the_iteration_axis() -> None:
    parser = formats.create("mmdet-json")
    records = parser.feed(
        [
            b'{"lr": 0.01, "loss": 2.0, "iter": 500, "memory": 100, "step": 500}',
            b'{"coco/bbox_mAP": 0.2, "step": 500}',
        ]
    )
    assert [(r.step, r.axis) for r in records] == [(500.0, ITER), (500.0, ITER)]


def test_mmdet_2x_iteration_based_runner_logs_the_global_iteration() -> None:
    header = b'{"env_info": "x", "config": "runner = dict(type=\'IterBasedRunner\', max_iters=90000)"}'
    lines = [
        header,
        b'{"mode": "train", "epoch": 1, "iter": 50, "loss": 2.0}',
        b'{"mode": "train", "epoch": 2, "iter": 100, "loss": 1.9}',
        b'{"mode": "val", "epoch": 2, "iter": 5000, "bbox_mAP": 0.1}',
    ]
    parser = formats.create("mmdet-json")
    assert [(r.step, r.axis) for r in parser.feed(lines)] == [(50.0, ITER), (100.0, ITER), (100.0, ITER)]
    # the same log without the header: the epoch moves on while `iter` keeps counting
    parser = formats.create("mmdet-json")
    assert [r.step for r in parser.feed(lines[1:3])] == [50.0, 100.0]


def test_mmdet_lines_that_are_not_records_are_skipped() -> None:
    parser = formats.create("mmdet-json")
    assert parser.feed([b'{"name": "x"}', b'{"mode": "train", "loss": 1}', b"oops", b"", b"[]"]) == []
    assert parser.skipped == 4 and parser.recognised  # `mode` alone says mmdet


def test_console_output_in_dockers_json_lines_is_still_detected() -> None:
    # Docker's json-file log driver wraps each console line in a JSON object; detr-stdout's sniff
    # passes over JSON lines (log.txt) only when they hold no "eta:" (a review found them lost).
    line = (
        b'{"log":"Epoch: [0]  [   0/7393]  eta: 1 day, 2:03:04  lr: 0.000100  class_error: 76.19  '
        b'loss: 32.3 (32.3)  time: 12.6 (12.6)  data: 0.5 (0.5)  max mem: 5000\\n","stream":"stdout"}'
    )
    assert formats.detect([line]) == "detr-stdout"
    log_txt = json.dumps({"train_loss": 1.0, "epoch": 0}).encode()
    assert formats.detect([log_txt]) == "detr-json"
    # only the start of a JSON line is searched for it: a log.txt line that mentions one far in
    # (a config string, say) stays a log.txt line
    far = json.dumps({"train_loss": 1.0, "note": "x" * 600 + line.decode(), "epoch": 0}).encode()
    assert formats.detect([log_txt, far]) == "detr-json"
