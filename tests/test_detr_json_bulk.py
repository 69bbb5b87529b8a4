"""detr-json's bulk path (a plan per key order, steps and runs per block) reads what the plain path reads.

The plain path (`numeric_fields` per object, `_next_step` per line) is the reference: the bulk
path must give the same records (to the bit), skip the same lines and leave the same state,
whatever the lines hold and however they are batched.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plain import PlainJson, json_reader

from detr_watch.formats import detr_json, feed_blocks
from detr_watch.formats.base import json_object
from detr_watch.records import Record
from detr_watch.tail import Lines

COCO = [0.42, 0.6, 0.45, 0.2, 0.46, 0.6, 0.33, 0.53, 0.57, 0.35, 0.6, 0.77]


def line(epoch: Any = 0, **extra: Any) -> bytes:
    obj: dict[str, Any] = {"train_lr": 1e-4, "train_loss": 25.99649900791449, "train_class_error": 3.5}
    obj["test_coco_eval_bbox"] = list(COCO)
    if epoch is not None:
        obj["epoch"] = epoch
    obj["n_parameters"] = 41302368
    obj.update(extra)
    return json.dumps(obj).encode()


def bits(records: list[Record]) -> list[Any]:
    # repr hides the sign of zero and NaN never equals itself: compare the bytes of every float
    return [
        (
            r.run,
            r.axis,
            struct.pack("<d", r.step),
            r.time,
            list(r.metrics),
            [struct.pack("<d", v) for v in r.metrics.values()],
        )
        for r in records
    ]


def state(p: detr_json.DetrJsonParser) -> tuple[Any, ...]:
    return (p.skipped, p.recognised, p.positional, p._runs.run, p._runs.last_step, p._step)


def read(parser: detr_json.DetrJsonParser, lines: list[bytes], cuts: list[int]) -> list[Record]:
    out: list[Record] = []
    for a, b in zip([0, *cuts], [*cuts, len(lines)]):
        out.extend(parser.feed(lines[a:b]))
    return out


def read_texts(parser: detr_json.DetrJsonParser, lines: list[bytes], cuts: list[int]) -> list[Record]:
    """`read`, each batch handed over as the tailer does: one text (`tail.Lines`)."""
    out: list[Record] = []
    for a, b in zip([0, *cuts], [*cuts, len(lines)]):
        if a < b:
            out.extend(parser.feed(Lines([b"\n".join(lines[a:b])])))
    return out


def check(lines: list[bytes], cuts: Optional[list[int]] = None) -> list[Record]:
    """The bulk path, with and without the compiled reader, on lists and on texts, reads as the plain one."""
    assert not any(b"\n" in x for x in lines)  # a text of these lines is these lines again
    plain = PlainJson()
    want = plain.feed(lines)
    # (how, with the compiled reader, texts from how many bytes are read by two threads)
    ways = [(read, True, None), (read_texts, True, None), (read_texts, True, 1), (read, False, None)]
    got: list[Record] = []
    for way, compiled, split in ways:
        bulk = detr_json.create()
        with json_reader(compiled, split):
            got = way(bulk, lines, cuts or [])
        print(way.__name__, compiled, split, repr(got[:3]), repr(want[:3]))
        assert repr(got) == repr(want)
        assert bits(got) == bits(want)
        assert state(bulk) == state(plain)
    return got


MIXED_ROUND = [
    line(0),
    line(1, train_loss=math.nan),  # bare NaN: orjson refuses, json reads it
    b"not json at all",
    line(2, train_loss=math.inf, train_class_error=-math.inf),
    b"",
    line(3)[::-1],  # junk that ends with {
    json.dumps(dict(reversed(json.loads(line(4)).items()))).encode(),  # the key order changes
    line(5),
    line(6, test_coco_eval_bbox=COCO[:10]),  # the list gets shorter
    line(7, test_coco_eval_bbox=COCO + [0.1]),  # and longer than the stats it names
    line(8, test_coco_eval_bbox=[0.4, -1.0] + COCO[2:]),  # a missing stat
    line(9, test_coco_eval_bbox=[0.4, -1] + COCO[2:]),
    line(10, test_coco_eval_bbox=None),
    line(11, test_coco_eval_bbox=0.5),
    line(12, test_coco_eval_bbox="x" * 12),
    line(13, test_coco_eval_bbox=[1] * 12),
    line(14, test_coco_eval_bbox=[True] + COCO[1:]),
    line(15, train_loss=True),  # a boolean is no number, though it passes as 1.0
    line(16, train_loss=False, train_class_error=0.0),
    line(17, train_class_error=0.0, train_lr=1.0),  # real 0.0 and 1.0 stay numbers
    line(18, train_loss="1.5"),
    line(19, train_loss=None),
    line(20, train_loss={"a": 1}),
    line(21, train_loss=[1.0]),
    line(22, train_loss=10**400),  # an integer beyond float range
    line(23, train_loss=2**63 + 1),
    line(24, train_loss=3),
    line(25, now_time="2023-10-17 18:42:01.279628"),
    line(26, now_time="2023-10-17 18:42:02"),
    line(0),  # a restart
    line(0),
    line(1),
    line(None),  # no epoch: the position
    line(None),
    line(2.5),
    line(None),
    line(math.nan),
    line(True),
    line("7"),
    line(10**400),
    line(2**70 + 1),
    line(-3),
    b"  " + line(40) + b"\x00",
    b'{"name": "x", "value": "no number"}',
    b"[1, 2]",
    line(41, train_true_positives=3.0, note="false"),  # true/false in names and strings
    line(42)[:-30],  # torn
]


def test_a_round_of_odd_lines_reads_as_the_plain_path_reads_it() -> None:
    got = check(MIXED_ROUND)
    assert len(got) > 30


@pytest.mark.parametrize("cuts", [[1], [5, 6, 7], [10, 20, 30], list(range(len(MIXED_ROUND)))])
def test_odd_lines_read_the_same_however_they_are_batched(cuts: list[int]) -> None:
    check(MIXED_ROUND, cuts)


def test_alike_lines_come_as_one_block_and_a_boolean_splits_it() -> None:
    lines = [line(i, train_class_error=0.0 if i % 3 else 1.0) for i in range(50)]
    (block,) = feed_blocks(detr_json.create(), lines)
    assert len(block) == 50 and block.keys[:3] == ("train_lr", "train_loss", "train_class_error")
    assert block.keys[-1] == "test_coco_eval_bbox/ARl" and block.steps.tolist() == list(range(50))
    lines[20] = line(20, train_class_error=True)
    before, one, after = feed_blocks(detr_json.create(), lines)
    assert (len(before), len(one), len(after)) == (20, 1, 29)
    assert "train_class_error" not in one.keys
    check(lines)


def test_steps_and_runs_of_a_block_follow_restarts_and_positions() -> None:
    lines = [line(e) for e in (0, 1, 2, 2, 3, 0, 1)] + [line(None)] * 3 + [line(2**53)] + [line(None)] * 40
    got = check(lines)
    assert [r.run for r in got[:8]] == [0, 0, 0, 1, 1, 2, 2, 2]
    assert [r.step for r in got[7:10]] == [2.0, 3.0, 4.0]
    want = float(2**53)
    for _ in range(40):
        want += 1  # one addition after another, each rounded (to 2**53 again): not 2**53 + 40
    assert got[-1].step == want


def test_integer_epochs_beyond_int64_take_the_floats_python_gives() -> None:
    got = check([line(e) for e in (2**53 + 1, 2**63 + 1, 2**64 + 3, 2**70 + 1, 2**1000 + 1)])
    assert [r.step for r in got] == [
        float(2**53 + 1),
        float(2**63 + 1),
        float(2**64 + 3),
        float(2**70 + 1),
        float(2**1000 + 1),
    ]


def test_a_coco_list_that_became_null_or_a_number_is_no_crash() -> None:
    lines = [line(0), line(1), line(2, test_coco_eval_bbox=None), line(3, test_coco_eval_bbox=0.5)]
    got = check(lines)
    assert "test_coco_eval_bbox/AP" in got[1].metrics and "test_coco_eval_bbox/AP" not in got[2].metrics
    assert got[3].metrics["test_coco_eval_bbox"] == 0.5


def test_a_reset_starts_a_new_run_in_the_middle_of_alike_lines() -> None:
    bulk, plain = detr_json.create(), PlainJson()
    first = [line(i) for i in range(5)]
    for p in (bulk, plain):
        p.feed(first)
        p.reset()
    assert bits(bulk.feed(first)) == bits(plain.feed(first))
    assert state(bulk) == state(plain)


@pytest.mark.parametrize(
    "text",
    [
        line(0),
        b"  " + line(0),
        line(0) + b"\x00\x00",
        b"\x00" + line(0),
        line(0, train_loss=math.nan),
        b"  " + line(0, train_loss=math.nan) + b"\r",
        b"{",
        b"{}",
        b"[1]",
        b'"{}"',
        b"   ",
        b"",
        b"{\xff}",
    ],
)
def test_json_object_reads_the_usual_line_as_the_stripped_line(text: bytes) -> None:
    got = json_object(text)
    want = json_object(b" " + text + b" ")  # never the shortcut: always stripped first
    assert repr(got) == repr(want)


VARIANTS = [
    line(3),
    line(4, train_loss=math.nan),
    line(5, train_loss=True),
    line(6, train_loss="s"),
    line(7, train_class_error=0.0),
    line(8, test_coco_eval_bbox=COCO[:11]),
    line(9, test_coco_eval_bbox=[-1] * 12),
    line(10, test_coco_eval_bbox=None),
    line(None),
    line(0),
    line(2, extra_key=1.5),
    json.dumps(dict(reversed(json.loads(line(1)).items()))).encode(),
    b"junk",
    b"",
    line(11)[:-5],
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_mix_of_lines_reads_as_the_plain_path_reads_it(data: st.DataObject) -> None:
    lines = data.draw(st.lists(st.sampled_from(VARIANTS), max_size=40))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(lines)), max_size=4)))
    check(lines, cuts)
