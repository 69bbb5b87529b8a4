"""The bulk readers (numpy over many lines) give exactly what the line-by-line readers give.

detr-stdout reads runs of alike training lines with numpy (`_Layout`) and every other line the
plain way; detr-json reads objects of one key order through a plan. The plain way is the reference:
a parser whose bulk path is switched off must return the same records, skip the same lines and
keep the same state, whatever the lines and however they are batched.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Optional

import numpy as np
import pytest
from conftest import DATA, shared_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plain import PlainJson, PlainStdout

from detr_watch.formats import detr_json, detr_stdout, feed_blocks
from detr_watch.formats.numbers import decimals, digit_runs, integers
from detr_watch.records import Record
from detr_watch.tail import Lines

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def same(got: list[Record], want: list[Record]) -> None:
    assert repr(got) == repr(want)  # repr: NaN never equals itself
    for a, b in zip(got, want):  # repr hides the sign of zero and the exact bits
        assert [struct.pack("<d", v) for v in a.metrics.values()] == [
            struct.pack("<d", v) for v in b.metrics.values()
        ]


def both(fmt: str) -> tuple[Any, Any]:
    if fmt == "detr-stdout":
        return detr_stdout.create(), PlainStdout()
    return detr_json.create(), PlainJson()


def console(line: int = 0, value: str = "0.4200", name: str = "loss_bbox_1", prefix: str = "") -> bytes:
    return (
        f"{prefix}Epoch: [3]  [ {line:>3}/500]  eta: 0:01:01  lr: 0.000100  class_error: 98.08  "
        f"loss: 48.3847 (50.9741)  {name}: {value} (4.1)  time: 0.5787  data: 0.0121  max mem: 3123"
    ).encode()


REAL = {
    "detr-stdout": [
        "detr_stdout_FarjadAhmed_default_mha_10ep.txt",
        "detr_stdout_segm_tables.txt",
        "detr_stdout_dino_info_prefix.txt",
        "detr_stdout_rtdetr_restart_nan.txt",
    ],
    "detr-json": [
        "detr_logtxt_Moqixis_object_detection_detr.txt",
        "detr_logtxt_rtdetr_aux_dn_nan.txt",
        "detr_logtxt_rfdetr_ema_noepoch.txt",
        "dino_logtxt_ChunTsungHsiao_cvpdl_hw1.txt",
        "rtdetr_logtxt_Hammer-888_pvt_small_improved_many_restarts.txt",
        "conditional_detr_swin_logtxt_Gaw4Gura.txt",
    ],
}


@pytest.mark.parametrize("fmt,name", [(f, n) for f, names in REAL.items() for n in names])
def test_real_logs_read_in_bulk_as_line_by_line(fmt: str, name: str) -> None:
    lines = (DATA / name).read_bytes().splitlines()
    bulk, plain = both(fmt)
    same(bulk.feed(lines), plain.feed(lines))
    assert (bulk.skipped, bulk.recognised) == (plain.skipped, plain.recognised)


def test_interrupted_console_log_reads_in_bulk_as_line_by_line() -> None:
    lines = shared_log("detr_stdout_FarjadAhmed_test_dcmha_interrupted.txt").read_bytes().splitlines()
    bulk, plain = both("detr-stdout")
    same(bulk.feed(lines), plain.feed(lines))


def test_console_lines_of_one_layout_come_as_one_block() -> None:
    parser = detr_stdout.create()
    lines = [console(i) for i in range(100, 200)]
    first, block = feed_blocks(parser, lines)  # the first is read the plain way, to learn the layout
    assert (len(first), len(block)) == (1, 99)
    assert block.keys[:3] == ("train_lr", "train_class_error", "train_loss")
    assert block.steps[0] == 3 * 500 + 101 and block.epochs is not None and block.epochs[-1] == 3 + 199 / 500
    (more,) = feed_blocks(parser, [console(i) for i in range(200, 300)])
    assert len(more) == 100


@pytest.mark.parametrize(
    "odd",
    [
        console(150, value="1.2.3"),  # not a number: the plain path drops that metric
        console(150, value="nan"),  # a number, but not digits
        console(150, value="-0.5"),  # a sign changes the skeleton
        console(150, value="1234567890123456"),  # more digits than a float holds exactly
        console(150, name="loss_bbox_2"),  # same skeleton, another name
        console(150, name="loss_bbox_12"),  # a digit more in a name
        console(150, value="0.42 0"),  # a token more
        console(150, value="00000000000000000.5"),
        console(150, prefix="[10/17 18:42:01.279]: "),  # DINO's prefix
        console(150)[:40],  # cut
        console(150) + b"  extra: 1.0",
        console(150).replace(b"[3]", b"[3.0]"),
        console(150).replace(b"/500]", b"/0]"),  # N = 0
        console(150).replace(b"[3]", b"[1234567890]"),  # epoch too long for the bulk reader
        console(100),  # the step goes back: a new run
        b"Averaged stats: lr: 0.000100  loss: 1.0 (1.0)",
        b" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.123",
    ],
)
def test_an_odd_line_among_alike_lines_is_read_as_the_plain_path_reads_it(odd: bytes) -> None:
    lines = [console(i) for i in range(100, 150)] + [odd] + [console(i) for i in range(151, 200)]
    bulk, plain = both("detr-stdout")
    same(bulk.feed(lines), plain.feed(lines))
    assert (bulk.skipped, bulk._epoch, bulk._runs.run) == (plain.skipped, plain._epoch, plain._runs.run)


@st.composite
def mutated_console(draw: st.DrawFn) -> bytes:
    line = draw(st.sampled_from([console(i) for i in (100, 101, 250)]))
    i = draw(st.integers(0, len(line)))
    junk = draw(st.sampled_from([b"", b"1", b".", b"9", b"0", b" ", b":", b"-", b"e", b"12.5", b"a"]))
    return line[:i] + junk + line[i + draw(st.integers(0, 3)) :]


@FUZZ
@given(data=st.data())
def test_mutated_console_lines_read_in_bulk_as_line_by_line(data: st.DataObject) -> None:
    lines = data.draw(st.lists(st.one_of(mutated_console(), st.sampled_from([console(120)])), max_size=60))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(lines)), max_size=5)))
    bulk, plain = both("detr-stdout")
    got: list[Record] = []
    for a, b in zip([0, *cuts], [*cuts, len(lines)]):
        got.extend(bulk.feed(lines[a:b]))
    same(got, plain.feed(lines))
    assert bulk.skipped == plain.skipped


def logtxt(epoch: Optional[int], **extra: Any) -> bytes:
    import json

    obj: dict[str, Any] = {"train_lr": 1e-4, "train_loss": 25.99649900791449, "train_n": 3}
    obj["test_coco_eval_bbox"] = [0.42, 0.6, 0.45, 0.2, 0.46, 0.6, 0.33, 0.53, 0.57, 0.35, 0.6, 0.77]
    if epoch is not None:
        obj["epoch"] = epoch
    obj["n_parameters"] = 41302368
    obj.update(extra)
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    "odd",
    [
        logtxt(5, train_loss=math.nan),  # bare NaN: orjson refuses, json reads it
        logtxt(5, train_loss="1.5"),  # a string where a number was
        logtxt(5, train_loss=True),
        logtxt(5, train_loss=None),
        logtxt(5, train_loss=10**400),  # an integer beyond float range
        logtxt(5, train_loss=2**60 + 1),
        logtxt(5, test_coco_eval_bbox=[0.4, -1, 0.3]),
        logtxt(5, test_coco_eval_bbox=[0.4] * 13),
        logtxt(5, test_coco_eval_bbox=[1] * 12),
        logtxt(5, test_coco_eval_bbox="x"),
        logtxt(5, now_time="2023-10-17 18:42:01.279628"),
        logtxt(None),
        logtxt(5)[:-1] + b', "train_loss": 2}',  # a repeated key: the last wins
        b"  " + logtxt(5) + b"\x00",
        b"[1, 2]",
        b"",
        b"garbage",
    ],
)
def test_an_odd_json_line_among_alike_lines_is_read_as_the_plain_path_reads_it(odd: bytes) -> None:
    lines = [logtxt(i) for i in range(5)] + [odd] + [logtxt(i) for i in range(6, 9)]
    bulk, plain = both("detr-json")
    same(bulk.feed(lines), plain.feed(lines))
    assert (bulk.skipped, bulk.recognised) == (plain.skipped, plain.recognised)


def test_json_steps_continue_from_the_lines_before_a_tail() -> None:
    parser = detr_json.create()
    parser.continue_from(500)
    (rec,) = parser.feed([logtxt(None)])
    assert rec.step == 500.0 and parser.positional


@settings(max_examples=300, deadline=None)
@given(st.lists(st.from_regex(rb"\A[0-9]{0,17}(\.[0-9]{0,17})?\Z"), min_size=1, max_size=30))
def test_decimals_are_the_floats_python_reads_or_refused(tokens: list[bytes]) -> None:
    tokens = [t for t in tokens if t]
    buf = b" x ".join(tokens)
    u = np.frombuffer(buf, dtype=np.uint8)
    starts, ends = digit_runs(u)
    assert [buf[a:b] for a, b in zip(starts, ends)] == tokens
    values, ok = decimals(u, ends, ends - starts)
    for tok, v, good in zip(tokens, values.tolist(), ok.tolist()):
        digits = len(tok.replace(b".", b""))
        if good:
            assert struct.pack("<d", v) == struct.pack("<d", float(tok))
        else:
            assert digits == 0 or digits > 15, tok  # refused only what the fast way cannot be sure of


def test_integers_refuse_dots_and_long_runs() -> None:
    buf = b"7 0012 1.5 1234567890"
    u = np.frombuffer(buf, dtype=np.uint8)
    starts, ends = digit_runs(u)
    values, ok = integers(u, ends, ends - starts)
    assert values[:2].tolist() == [7, 12] and ok.tolist() == [True, True, False, False]


SUBSTITUTES = [b"0", b"7", b"9", b".", b":", b"/", b" ", b"a", b"(", b"\xca", b"\xff", b"\x00"]


def test_a_byte_changed_anywhere_in_a_learnt_line_reads_as_the_plain_path_reads_it() -> None:
    # Lines of a learnt line's length are read by their bytes alone (`_Fixed`): every byte counts.
    learn = [console(i) for i in range(100, 120)]
    template = console(150)
    odd = [
        template[:p] + sub + template[p + 1 :]
        for p in range(len(template))
        for sub in SUBSTITUTES
        if template[p : p + 1] != sub
    ]
    lines = [line for pair in zip(odd, [console(151)] * len(odd)) for line in pair]
    bulk, plain = both("detr-stdout")
    same(bulk.feed(learn) + bulk.feed(lines), plain.feed(learn) + plain.feed(lines))
    assert (bulk.skipped, bulk._epoch, bulk._runs.run) == (plain.skipped, plain._epoch, plain._runs.run)
    assert bulk._fixed  # the check above went through the fixed layouts


def test_lines_of_several_fixed_layouts_of_one_length_read_as_the_plain_path_reads_them() -> None:
    # Same length, dots and digits elsewhere: each line goes to the fixed layout that reads it.
    shapes = [("1.2345", "12.34"), ("12.345", "1.234"), ("123456", "12345"), ("1.2345", "1234.")]
    learn = [console(i, value=v) for i in range(100, 110) for v, _ in shapes]
    lines = [
        console(i, value=v if i % 3 else w).replace(b"class_error: 98.08", b"class_error: 9.808")
        for i in range(110, 200)
        for v, w in shapes
    ]
    lines += [console(i, value=v) for i in range(200, 300) for v, _ in shapes]
    bulk, plain = both("detr-stdout")
    same(bulk.feed(learn) + bulk.feed(lines), plain.feed(learn) + plain.feed(lines))
    assert len({length for _, length in bulk._fixed}) < sum(len(v) for v in bulk._fixed.values())


@FUZZ
@given(data=st.data())
def test_console_text_as_the_tail_hands_it_over_reads_as_its_lines(data: st.DataObject) -> None:
    # The tail hands over texts of lines (tail.Lines), which detr-stdout cuts itself with numpy.
    lines = (DATA / "detr_stdout_FarjadAhmed_default_mha_10ep.txt").read_bytes().splitlines()[:400]
    lines += [b"", console(120), b"", console(121)[:-3], console(122)]
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(lines) - 1), max_size=8))))
    parts = [b"\n".join(lines[a:b]) for a, b in zip([0, *cuts], [*cuts, len(lines)])]
    bulk, plain = both("detr-stdout")
    same(bulk.feed(Lines(parts)), plain.feed(lines))
    assert (bulk.skipped, bulk.recognised, bulk.meta) == (plain.skipped, plain.recognised, plain.meta)


def test_training_lines_at_the_very_end_of_the_text_read_as_the_plain_path_reads_them() -> None:
    # Its bytes are read in rows a little wider than the line: past the end of the text they are zeros.
    learn = [console(i) for i in range(100, 120)]
    bulk, plain = both("detr-stdout")
    for n in (1, 2, 5):
        text = Lines([b"\n".join(console(i) for i in range(200, 200 + n))])
        same(bulk.feed(learn) + bulk.feed(text), plain.feed(learn) + plain.feed(list(text)))


def test_a_line_holding_a_newline_stays_one_line_however_often_it_is_read() -> None:
    """feed() takes its lines as given: one holding a newline (never from the tailer, but from a
    caller's list) is one line, skipped once, on the first feed and after the parser knows it."""
    lines = [b"\x00\n\x00", b"nan\n| distributed init (rank 0): env://"]
    bulk, plain = detr_stdout.create(), PlainStdout()
    for _ in range(3):
        assert bulk.feed(lines) == plain.feed(lines) == []
    assert bulk.skipped == plain.skipped == 6


def test_an_odd_line_before_a_fixed_layout_is_learnt_does_not_break_the_bulk_read() -> None:
    """The fuzz test's find: the first line of a length no fixed layout reads is skipped, and the
    layout learnt from the next one is the one that reads the rest (it raised IndexError)."""
    good = (
        b"Epoch: [3]  [ 120/500]  eta: 0:01:01  lr: 0.000100  class_error: 98.08  loss: 48.3847 (50.9741)"
        b"  loss_bbox_1: 0.4200 (4.1)  time: 0.5787  data: 0.0121  max mem: 3123"
    )
    odd = good.replace(b"[ 120/500]", b"[ .00/500]")
    lines = [good, odd, good, good, good, good]
    bulk, plain = detr_stdout.create(), PlainStdout()
    for _ in range(2):
        assert repr(bulk.feed(lines)) == repr(plain.feed(lines))
    assert bulk.skipped == plain.skipped
