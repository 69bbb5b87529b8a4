"""Property tests: no parser raises whatever the bytes, and batching never changes the records."""

from __future__ import annotations

import json
import math

import pytest
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detr_watch import formats
from detr_watch.records import Record

# Small files of each format: their lines seed the mutations and the batching test.
SAMPLES = {
    "detr-json": ["detr_logtxt_Moqixis_object_detection_detr.txt", "detr_logtxt_rtdetr_aux_dn_nan.txt"],
    "detr-stdout": ["detr_stdout_segm_tables.txt", "detr_stdout_dino_info_prefix.txt"],
    "detectron2-json": ["detectron2_metricsjson_eval_bookkeeping.json"],
    "detectron2-stdout": ["detectron2_stdout_console_color.txt"],
    "ultralytics-csv": ["ultralytics_resultscsv_padded_restart_header.csv"],
    "mmdet-json": ["mmdet_2x_train_val.log.json", "mmengine_scalars.json"],
}
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sample_lines(fmt: str) -> list[bytes]:
    return [line for name in SAMPLES[fmt] for line in (DATA / name).read_bytes().splitlines()]


@st.composite
def mutated_line(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A line of the format with a random cut, splice or junk, or plain random bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=300))
    line = draw(st.sampled_from(seeds))
    i = draw(st.integers(0, len(line)))
    j = draw(st.integers(i, len(line)))
    junk = draw(
        st.sampled_from([b"", b"nan", b"-1", b":", b" ", b"(", b"]", b",", b'"', b"\xff\xfe", b"1e999"])
    )
    return line[:i] + junk + draw(st.binary(max_size=8)) + line[j:]


def check(records: list[Record]) -> None:
    for rec in records:
        assert isinstance(rec.step, float) and not math.isnan(rec.step)
        assert all(type(v) is float for v in rec.metrics.values())
        assert all(isinstance(k, str) for k in rec.metrics)


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
@FUZZ
@given(data=st.data())
def test_feed_never_raises_whatever_the_bytes(fmt: str, data: st.DataObject) -> None:
    seeds = sample_lines(fmt)
    lines = data.draw(st.lists(mutated_line(seeds), max_size=40))
    parser = formats.create(fmt)
    check(parser.feed(lines))
    parser.reset()
    check(parser.feed(lines))
    assert parser.skipped <= 2 * len(lines)


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
@FUZZ
@given(data=st.data())
def test_sniff_never_raises_and_stays_in_range(fmt: str, data: st.DataObject) -> None:
    lines = data.draw(st.lists(mutated_line(sample_lines(fmt)), max_size=20))
    assert 0 <= formats.FORMATS[fmt].sniff(lines) <= 100
    formats.detect(lines)


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
@FUZZ
@given(data=st.data())
def test_same_records_whole_or_in_batches(fmt: str, data: st.DataObject) -> None:
    lines = sample_lines(fmt)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(lines)), max_size=12)))
    whole = formats.create(fmt)
    expected = whole.feed(lines)
    batched = formats.create(fmt)
    got: list[Record] = []
    for a, b in zip([0, *cuts], [*cuts, len(lines)]):
        got.extend(batched.feed(lines[a:b]))
    assert repr(got) == repr(expected)  # repr: NaN never equals itself
    assert (batched.skipped, batched.recognised) == (whole.skipped, whole.recognised)


JSON_TRAPS = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    b"{" + b",".join(b'"k%d": %d' % (i, i) for i in range(5000)) + b"}",
    b'{"train_loss": 1, "train_loss": 2, "iteration": 3, "mode": "train", "epoch": 1, "iter": 1, "step": 4}',
    b'{"train_loss": "1.5", "iteration": "3", "epoch": "1", "total_loss": "2", "step": "4", "loss": "x"}',
    b'{"train_loss": 1e999, "epoch": 1e400, "iteration": -1e999, "iter": NaN, "step": Infinity}',
    b'{"train_loss": ' + b"9" * 5000 + b', "epoch": ' + b"9" * 400 + b"}",
    b'{"train_loss": true, "epoch": false, "iteration": null, "test_coco_eval_bbox": [true, "x", {}, -1]}',
    b'"just a string"',
    b"123",
    b"null",
    b'{"\xff\xfe": 1, "epoch": 0}',
    json.dumps({"test_coco_eval_bbox": [[1]] * 12, "epoch": 0}).encode(),
]


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_json_traps_never_raise(fmt: str) -> None:
    parser = formats.create(fmt)
    records = parser.feed(JSON_TRAPS)
    check(records)
    assert not any(isinstance(v, bool) for r in records for v in r.metrics.values())


def test_json_traps_duplicate_keys_last_wins_and_strings_are_not_numbers() -> None:
    parser = formats.create("detr-json")
    (rec,) = parser.feed([JSON_TRAPS[3], JSON_TRAPS[4]])
    assert rec.metrics["train_loss"] == 2.0 and "total_loss" not in rec.metrics


def test_huge_lines_and_binary_junk_in_a_console_log() -> None:
    parser = formats.create("detr-stdout")
    huge = b"Epoch: [0]  [0/1]  eta: 0:00:01  " + b"loss: 1.0 (1.0)  " * 200_000
    records = parser.feed([huge, b"\x00" * 1_000_000, b"Averaged stats: " + b"x: (" * 100_000])
    assert len(records) == 1 and records[0].metrics == {"train_loss": 1.0}
