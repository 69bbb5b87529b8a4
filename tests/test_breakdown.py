"""Loss composition, decoder layers and the COCO table on tiny stores with hand-computed numbers."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from detr_watch import breakdown
from detr_watch.demo import epoch_record
from detr_watch.formats import detr_json
from detr_watch.records import EPOCH, ITER, Record
from detr_watch.store import SeriesStore, Snapshot


def snap(records: list[Record]) -> Snapshot:
    store = SeriesStore()
    store.append(records, 0.0)
    return store.snapshot()


def test_composition_of_a_detr_log_with_unscaled_twins() -> None:
    # DETR writes each loss already weighted, and the `_unscaled` value beside it
    rec = {
        "train_loss": 10.0,
        "train_loss_ce": 1.0,
        "train_loss_ce_unscaled": 1.0,
        "train_loss_bbox": 2.5,
        "train_loss_bbox_unscaled": 0.5,
        "train_loss_giou": 1.5,
        "train_loss_giou_unscaled": 0.75,
        "train_loss_ce_0": 2.0,
        "train_loss_bbox_0": 3.0,
        "train_loss_giou_dn": 0.5,
    }
    comp = breakdown.composition(snap([Record(0.0, rec, 0, EPOCH)]), "train")
    assert comp is not None
    assert comp.weights == (("cls", 1.0), ("bbox", 5.0), ("giou", 2.0)) and comp.weights_from == "unscaled"
    step, rows = breakdown.last_shares(comp)
    assert step == 0.0
    # 1 + 2.5 + 1.5 + (2 + 3) + 0.5 = 10.5 > 10: "other terms" is the remainder, -0.5
    assert rows == [
        ("classification", 1.0, 0.1),
        ("L1 box", 2.5, 0.25),
        ("GIoU", 1.5, 0.15),
        ("aux decoder layers", 5.0, 0.5),
        ("denoising", 0.5, 0.05),
        ("other terms", -0.5, -0.05),
    ]


def test_composition_applies_detrs_default_weights_only_when_the_values_need_them() -> None:
    # unweighted values that add up to the total only with 1/5/2: 1 + 5*0.2 + 2*0.5 = 3
    rec = {"loss": 3.0, "loss_class": 1.0, "loss_bbox": 0.2, "loss_giou": 0.5}
    comp = breakdown.composition(snap([Record(10.0, rec, 0, ITER)]), "")
    assert comp is not None and comp.weights_from == "default"
    assert [(label, v) for label, v, _ in breakdown.last_shares(comp)[1]] == [
        ("classification", 1.0),
        ("L1 box", 1.0),
        ("GIoU", 1.0),
    ]
    # values that already add up: as logged, weights unknown
    rec = {"loss": 3.0, "loss_class": 1.0, "loss_bbox": 1.0, "loss_giou": 1.0}
    comp = breakdown.composition(snap([Record(10.0, rec, 0, ITER)]), "")
    assert (
        comp is not None
        and comp.weights_from == "log"
        and dict(comp.weights) == {"cls": None, "bbox": None, "giou": None}
    )


def test_composition_without_a_total_is_the_sum_of_the_parts() -> None:
    comp = breakdown.composition(snap([Record(0.0, {"loss_ce": 1.0, "loss_giou": 3.0}, 0, EPOCH)]), "")
    assert comp is not None and not comp.total_logged
    assert comp.total.values.tolist() == [4.0]
    assert breakdown.composition(snap([Record(0.0, {"loss": 1.0}, 0, EPOCH)]), "") is None


def test_parts_are_matched_by_run_and_step() -> None:
    records = [
        Record(0.0, {"loss": 2.0, "loss_ce": 2.0}, 0, ITER),
        Record(1.0, {"loss": 3.0}, 0, ITER),  # no component at this step
        Record(0.0, {"loss": 4.0, "loss_ce": 4.0}, 1, ITER),  # a restart at step 0
    ]
    comp = breakdown.composition(snap(records), "")
    assert comp is not None
    values = comp.parts[0].series.values
    assert values[0] == 2.0 and math.isnan(values[1]) and values[2] == 4.0
    assert breakdown.last_shares(comp)[1] == [("classification", 4.0, 1.0)]


def test_the_demo_log_splits_into_its_real_weights() -> None:
    parser = detr_json.create()
    rng = random.Random(0)
    import json

    lines = [json.dumps(epoch_record(e, rng)).encode() for e in range(3)]
    s = snap(parser.feed(lines))
    comp = breakdown.composition(s, "train")
    assert comp is not None and dict(comp.weights) == {"cls": 1.0, "bbox": 5.0, "giou": 2.0}
    _, rows = breakdown.last_shares(comp)
    assert sum(share for _, _, share in rows) == pytest.approx(1.0)
    assert [label for label, _, _ in rows] == ["classification", "L1 box", "GIoU", "aux decoder layers"]
    sets = breakdown.decoder_layers(s)
    assert [(x.split, x.role, len(x.layers)) for x in sets] == [
        ("train", "cls", 6),
        ("train", "bbox", 6),
        ("train", "giou", 6),
        ("test", "cls", 6),
        ("test", "bbox", 6),
        ("test", "giou", 6),
    ]
    assert sets[0].layers[0] == ("layer 1", "train_loss_ce_0_unscaled")
    assert sets[0].layers[-1] == ("layer 6 (final)", "train_loss_ce_unscaled")


def test_decoder_layer_labels() -> None:
    assert [breakdown.layer_number(x) for x in ("0", "aux_3", "aux3", "d2", "dn", "dn_2", "enc", None)] == [
        0,
        3,
        3,
        2,
        None,
        None,
        None,
        None,
    ]


def test_coco_groups_of_each_format_and_missing_stats_as_none() -> None:
    names = [
        "test_coco_eval_bbox/AP",
        "test_coco_eval_bbox/AP50",
        "test_coco_eval_bbox/AR1",
        "bbox/AP",
        "bbox/APs",
        "coco/bbox_mAP",
        "coco/bbox_mAP_l",
        "metrics/mAP50-95(B)",
        "metrics/mAP50(B)",
        "train_loss",
    ]
    groups = {g.label: dict(g.stats) for g in breakdown.coco_groups(names)}
    assert set(groups) == {"test_coco_eval_bbox", "bbox", "coco/bbox", "box"}
    assert groups["test_coco_eval_bbox"]["AP50"] == "test_coco_eval_bbox/AP50"
    assert groups["test_coco_eval_bbox"]["APs"] is None  # COCO's -1: never written
    assert len(groups["test_coco_eval_bbox"]) == 12
    assert groups["bbox"] == {
        "AP": "bbox/AP",
        "AP50": None,
        "AP75": None,
        "APs": "bbox/APs",
        "APm": None,
        "APl": None,
    }
    assert groups["coco/bbox"]["APl"] == "coco/bbox_mAP_l"
    assert groups["box"] == {"AP": "metrics/mAP50-95(B)", "AP50": "metrics/mAP50(B)"}


def test_coco_rows_last_best_and_na() -> None:
    records = [
        Record(0.0, {"test_coco_eval_bbox/AP": 0.2, "test_coco_eval_bbox/APs": 0.05}, 0, EPOCH),
        Record(1.0, {"test_coco_eval_bbox/AP": 0.4, "test_coco_eval_bbox/APs": 0.1}, 0, EPOCH),
        Record(2.0, {"test_coco_eval_bbox/AP": 0.3}, 0, EPOCH),  # APs was -1 this time
    ]
    s = snap(records)
    (group,) = breakdown.coco_groups(list(s.series))
    rows = {r.stat: r for r in breakdown.coco_rows(s, group)}
    assert rows["AP"] == breakdown.StatRow("AP", 0.3, 0.4, 1.0)
    assert rows["APs"] == breakdown.StatRow("APs", None, 0.1, 1.0)  # n/a now, best earlier
    assert rows["ARl"] == breakdown.StatRow("ARl", None, None, None)


def test_align_by_run_and_step() -> None:
    a = snap(
        [
            Record(0.0, {"a": 1.0, "b": 10.0}, 0, ITER),
            Record(1.0, {"a": 2.0}, 0, ITER),
            Record(0.0, {"a": 3.0, "b": 30.0}, 1, ITER),
        ]
    )
    got = breakdown.align(a.series["a"], a.series["b"])
    assert got[0] == 10.0 and np.isnan(got[1]) and got[2] == 30.0


def test_coco_best_is_at_an_epoch_where_the_log_knows_it() -> None:
    # a console log: evaluations at iteration steps, after whole epochs
    records = [
        Record(100.0, {"test_coco_eval_bbox/AP": 0.2}, 0, ITER, epoch=1.0),
        Record(200.0, {"test_coco_eval_bbox/AP": 0.3}, 0, ITER, epoch=2.0),
    ]
    s = snap(records)
    (group,) = breakdown.coco_groups(list(s.series))
    assert breakdown.coco_rows(s, group)[0] == breakdown.StatRow("AP", 0.3, 0.3, 2.0)
