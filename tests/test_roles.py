"""Roles, splits and auxiliary copies, and the default charts, on the name sets of every real format."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import DATA, shared_log

from detr_watch.formats import detr_json
from detr_watch.records import numeric_fields
from detr_watch.roles import ChartSpec, NameInfo, aux_series, chart_specs, goal, main_series, parse_name
from detr_watch.store import SeriesStore


def _json_log_names(path: Path) -> set[str]:
    parser = detr_json.create()
    store = SeriesStore()
    store.append(parser.feed(path.read_bytes().splitlines()))
    return set(store.snapshot().series)


def _d2_names(path: Path) -> set[str]:
    names: set[str] = set()
    for line in path.read_text().splitlines():
        names.update(numeric_fields(json.loads(line), frozenset({"iteration"})))
    return names


def _csv_names(path: Path) -> set[str]:
    with path.open(newline="") as f:
        header = next(csv.reader(f))
    return {h.strip() for h in header} - {"epoch"}


# DETR console (`Averaged stats:` keys as train_<name>, plus the COCO table), as its parser names them.
_DETR_CONSOLE_BASES = (
    "lr class_error loss loss_bbox loss_bbox_0 loss_bbox_4 loss_ce loss_ce_0 loss_ce_4 loss_giou loss_giou_0 "
    "loss_giou_4 cardinality_error_unscaled cardinality_error_0_unscaled class_error_unscaled "
    "loss_bbox_unscaled loss_bbox_0_unscaled loss_ce_unscaled loss_giou_unscaled loss_giou_4_unscaled"
).split()
DETR_CONSOLE = (
    {f"train_{b}" for b in _DETR_CONSOLE_BASES}
    | {f"test_{b}" for b in _DETR_CONSOLE_BASES if b != "lr"}
    | {"test_coco_eval_bbox/AP", "test_coco_eval_bbox/AP50", "test_coco_eval_bbox/AR100"}
)
# detectron2/detrex console lines (`iter: N  total_loss: ...`).
D2_CONSOLE = {"total_loss", "loss_class", "loss_bbox", "loss_giou", "loss_class_0", "loss_bbox_4", "lr"}
# MMDetection 2.x .log.json of a DINO-family model (train lines and `mode: val` lines), and 3.x names.
MMDET = {
    "loss",
    "loss_cls",
    "loss_bbox",
    "loss_iou",
    "d0.loss_cls",
    "d0.loss_bbox",
    "d4.loss_iou",
    "dn_loss_cls",
    "d0.dn_loss_bbox",
    "enc_loss_cls",
    "enc_loss_iou",
    "grad_norm",
    "lr",
    "bbox_mAP",
    "bbox_mAP_50",
    "bbox_mAP_75",
    "bbox_mAP_s",
}
MMDET3 = {
    "loss",
    "loss_cls",
    "loss_bbox",
    "loss_iou",
    "d0.loss_cls",
    "coco/bbox_mAP",
    "coco/bbox_mAP_50",
    "lr",
}


def _lines(specs: list[ChartSpec]) -> dict[str, list[tuple[str, str]]]:
    return {spec.role: list(spec.lines) for spec in specs}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("train_loss", NameInfo("total", "train", None, False, "loss")),
        ("total_loss", NameInfo("total", "", None, False, "total_loss")),
        ("loss", NameInfo("total", "", None, False, "loss")),
        ("test_loss_ce", NameInfo("cls", "test", None, False, "loss_ce")),
        ("train_loss_ce_3_unscaled", NameInfo("cls", "train", "3", True, "loss_ce")),
        ("test_loss_giou_unscaled", NameInfo("giou", "test", None, True, "loss_giou")),
        ("train_loss_vfl_aux_3", NameInfo("cls", "train", "aux_3", False, "loss_vfl")),
        ("train_loss_bbox_dn_2", NameInfo("bbox", "train", "dn_2", False, "loss_bbox")),
        ("train_loss_giou_dn", NameInfo("giou", "train", "dn", False, "loss_giou")),
        ("test_loss_bbox_dn_unscaled", NameInfo("bbox", "test", "dn", True, "loss_bbox")),
        ("train_loss_ce_interm", NameInfo("cls", "train", "interm", False, "loss_ce")),
        ("train_loss_vfl_enc_0", NameInfo("cls", "train", "enc_0", False, "loss_vfl")),
        ("loss_class_4", NameInfo("cls", "", "4", False, "loss_class")),
        ("d0.loss_cls", NameInfo("cls", "", "d0", False, "loss_cls")),
        ("d3.dn_loss_iou", NameInfo("giou", "", "d3.dn", False, "loss_iou")),
        ("enc_loss_cls", NameInfo("cls", "", "enc", False, "loss_cls")),
        ("train/giou_loss", NameInfo("giou", "train", None, False, "giou_loss")),
        ("val/l1_loss", NameInfo("bbox", "val", None, False, "l1_loss")),
        ("metrics/mAP50-95(B)", NameInfo("ap", "val", None, False, "mAP50-95(B)")),
        ("metrics/mAP50(B)", NameInfo("ap50", "val", None, False, "mAP50(B)")),
        ("test_coco_eval_bbox/AP", NameInfo("ap", "test", None, False, "coco_eval_bbox/AP")),
        ("test_coco_eval_bbox/AP50", NameInfo("ap50", "test", None, False, "coco_eval_bbox/AP50")),
        ("ema_test_coco_eval_bbox/AP", NameInfo("ap", "ema_test", None, False, "coco_eval_bbox/AP")),
        ("test_coco_eval_bbox/AP75", NameInfo("", "test", None, False, "coco_eval_bbox/AP75")),
        ("coco/bbox_mAP", NameInfo("ap", "", None, False, "coco/bbox_mAP")),
        ("coco/bbox_mAP_50", NameInfo("ap50", "", None, False, "coco/bbox_mAP_50")),
        ("bbox_mAP", NameInfo("ap", "", None, False, "bbox_mAP")),
        ("bbox/AP50", NameInfo("ap50", "", None, False, "bbox/AP50")),
        # `_50` and `_10` here are IoU thresholds and max detections, not decoder layers.
        ("val_mAP_50", NameInfo("ap50", "val", None, False, "mAP_50")),
        ("val_AR_10", NameInfo("", "val", None, False, "AR_10")),
        ("train_class_error", NameInfo("class_error", "train", None, False, "class_error")),
        ("train_cardinality_error_2_unscaled", NameInfo("", "train", "2", True, "cardinality_error")),
        ("train_lr", NameInfo("lr", "train", None, False, "lr")),
        ("lr/pg0", NameInfo("lr", "", None, False, "lr/pg0")),
        ("lr/pg2", NameInfo("lr", "", "pg2", False, "lr/pg0")),
        ("train_", NameInfo("", "", None, False, "train_")),
    ],
)
def test_parse_name(name: str, expected: NameInfo) -> None:
    assert parse_name(name) == expected


def test_goal() -> None:
    assert goal("train_loss") == "min"
    assert goal("test_class_error") == "min"
    assert goal("test_coco_eval_bbox/AP") == "max"
    assert goal("metrics/mAP50(B)") == "max"
    assert goal("test_coco_eval_bbox/AR100") == "max"
    assert goal("metrics/recall(B)") == "max"
    assert goal("train_cardinality_error_unscaled") == "min"
    assert goal("train_lr") is None
    assert goal("n_parameters") is None


def test_aux_series_are_grouped_under_their_main_series() -> None:
    names = {
        "train_loss_ce",
        "train_loss_ce_0",
        "train_loss_ce_1",
        "train_loss_ce_dn",
        "train_loss_ce_0_unscaled",
        "test_loss_ce_0",
        "train_loss_bbox_0",
    }
    assert aux_series(names, "train_loss_ce") == ["train_loss_ce_0", "train_loss_ce_1", "train_loss_ce_dn"]


def test_detr_logtxt() -> None:
    names = _json_log_names(DATA / "detr_logtxt_Moqixis_object_detection_detr.txt")
    specs = chart_specs(names)
    assert [s.title for s in specs] == [
        "Total loss",
        "Box AP@[.5:.95]",
        "Classification loss",
        "L1 box loss (unscaled)",
        "GIoU loss (unscaled)",
        "Box AP50",
        "Class error (%)",
        "Learning rate",
    ]
    assert _lines(specs) == {
        "total": [("train_loss", "train"), ("test_loss", "test")],
        "ap": [("test_coco_eval_bbox/AP", "test")],
        "cls": [("train_loss_ce", "train"), ("test_loss_ce", "test")],
        "bbox": [("train_loss_bbox_unscaled", "train"), ("test_loss_bbox_unscaled", "test")],
        "giou": [("train_loss_giou_unscaled", "train"), ("test_loss_giou_unscaled", "test")],
        "ap50": [("test_coco_eval_bbox/AP50", "test")],
        "class_error": [("train_class_error", "train"), ("test_class_error", "test")],
        "lr": [("train_lr", "train")],
    }
    main = main_series(names)
    assert main[:4] == ["train_loss", "test_loss", "test_coco_eval_bbox/AP", "train_loss_ce"]
    assert not any(parse_name(n).aux for n in main)
    # one of each scaled/unscaled pair: the charted one, else the scaled one
    assert "train_loss_bbox" not in main and "train_loss_ce_unscaled" not in main
    assert "train_class_error_unscaled" not in main
    assert "train_cardinality_error_unscaled" in main  # it has no scaled twin
    assert "test_coco_eval_bbox/AP75" in main


def test_dino_logtxt() -> None:
    names = _json_log_names(shared_log("dino_logtxt_ChunTsungHsiao_cvpdl_hw1.txt"))
    specs = _lines(chart_specs(names))
    assert specs["cls"] == [("train_loss_ce", "train"), ("test_loss_ce", "test")]
    assert specs["bbox"] == [("train_loss_bbox_unscaled", "train"), ("test_loss_bbox_unscaled", "test")]
    main = main_series(names)
    assert not [n for n in main if "_dn" in n or "_interm" in n]
    assert len(main) < len(names) // 5


def test_rtdetr_logtxt() -> None:
    names = _json_log_names(shared_log("rtdetr_logtxt_Hammer-888_pvt_small_improved_many_restarts.txt"))
    specs = _lines(chart_specs(names))
    assert specs["cls"] == [("train_loss_vfl", "train"), ("val_loss_vfl", "val")]
    # train has no `_unscaled` bbox loss: the chart stays scaled rather than mix the two
    assert specs["bbox"] == [("train_loss_bbox", "train"), ("val_loss_bbox", "val")]
    # val_coco_eval_bbox/AP beats the log's own `val_mAP` name for the same number
    assert specs["ap"] == [("test_coco_eval_bbox/AP", "test"), ("val_coco_eval_bbox/AP", "val")]
    assert "class_error" not in specs
    main = main_series(names)
    assert not [n for n in main if "_aux_" in n or "_dn_" in n]


def test_conditional_detr_logtxt() -> None:
    names = _json_log_names(shared_log("conditional_detr_swin_logtxt_Gaw4Gura.txt"))
    assert [s.role for s in chart_specs(names)] == [
        "total",
        "ap",
        "cls",
        "bbox",
        "giou",
        "ap50",
        "class_error",
        "lr",
    ]


def test_detrex_metrics_json() -> None:
    names = _d2_names(shared_log("detrex_d2_metricsjson_Lontoone_detr_r50_300ep.json"))
    specs = _lines(chart_specs(names))
    assert specs == {
        "total": [("total_loss", "total_loss")],
        "cls": [("loss_class", "loss_class")],
        "bbox": [("loss_bbox", "loss_bbox")],
        "giou": [("loss_giou", "loss_giou")],
        "lr": [("lr", "lr")],
    }
    assert main_series(names)[:5] == ["total_loss", "loss_class", "loss_bbox", "loss_giou", "lr"]
    assert "loss_class_0" not in main_series(names)


@pytest.mark.parametrize(
    "name",
    [
        "ultralytics_rtdetr_resultscsv_samsio2005_uae_lp.csv",
        "ultralytics_rtdetr_resultscsv_cui123000_rtdetr_l_coco_indoor_restart.csv",
    ],
)
def test_ultralytics_csv(name: str) -> None:
    names = _csv_names(shared_log(name))
    specs = _lines(chart_specs(names))
    assert specs == {
        "ap": [("metrics/mAP50-95(B)", "val")],
        "cls": [("train/cls_loss", "train"), ("val/cls_loss", "val")],
        "bbox": [("train/l1_loss", "train"), ("val/l1_loss", "val")],
        "giou": [("train/giou_loss", "train"), ("val/giou_loss", "val")],
        "ap50": [("metrics/mAP50(B)", "val")],
        "lr": [("lr/pg0", "lr/pg0")],
    }
    assert "lr/pg1" not in main_series(names)


def test_mmdet_2x() -> None:
    specs = _lines(chart_specs(MMDET))
    assert specs["cls"] == [("loss_cls", "loss_cls")]
    assert specs["giou"] == [("loss_iou", "loss_iou")]
    assert specs["ap"] == [("bbox_mAP", "bbox_mAP")]
    assert specs["ap50"] == [("bbox_mAP_50", "bbox_mAP_50")]
    main = main_series(MMDET)
    assert not [n for n in main if n.startswith(("d0.", "d4.", "dn_", "enc_"))]
    assert "bbox_mAP_75" in main and "grad_norm" in main


def test_mmdet_3x() -> None:
    specs = _lines(chart_specs(MMDET3))
    assert specs["ap"] == [("coco/bbox_mAP", "coco/bbox_mAP")]
    assert specs["ap50"] == [("coco/bbox_mAP_50", "coco/bbox_mAP_50")]


def test_detr_console() -> None:
    specs = _lines(chart_specs(DETR_CONSOLE))
    assert specs["total"] == [("train_loss", "train"), ("test_loss", "test")]
    assert specs["giou"] == [("train_loss_giou_unscaled", "train"), ("test_loss_giou_unscaled", "test")]
    assert specs["ap"] == [("test_coco_eval_bbox/AP", "test")]
    assert specs["lr"] == [("train_lr", "train")]


def test_d2_console() -> None:
    assert [s.role for s in chart_specs(D2_CONSOLE)] == ["total", "cls", "bbox", "giou", "lr"]


def test_no_names_no_charts() -> None:
    assert chart_specs([]) == []
    assert main_series([]) == []
    assert chart_specs(["n_parameters", "train_loss_ce_0"]) == []
    assert main_series(["n_parameters", "train_loss_ce_0"]) == ["n_parameters"]


def test_axes_split_a_role_across_charts() -> None:
    names = ["loss_cls", "val_loss_cls"]
    specs = chart_specs(names, {"loss_cls": "iter", "val_loss_cls": "epoch"})
    assert specs == [
        ChartSpec("Classification loss (per iter)", "cls", (("loss_cls", "loss_cls"),), "iter"),
        ChartSpec("Classification loss (per epoch)", "cls", (("val_loss_cls", "val"),), "epoch"),
    ]
    same = chart_specs(names, {"loss_cls": "epoch", "val_loss_cls": "epoch"})
    assert same == [
        ChartSpec("Classification loss", "cls", (("loss_cls", "loss_cls"), ("val_loss_cls", "val")), "epoch")
    ]


def test_ap50_is_never_titled_map() -> None:
    specs = chart_specs(["test_coco_eval_bbox/AP50", "metrics/mAP50(B)"])
    assert [s.title for s in specs] == ["Box AP50"]
    assert all("mAP" not in s.title for s in specs)
