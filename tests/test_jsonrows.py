"""The compiled reader of log.txt lines (detr_watch/_jsonrows.c) against Python's own JSON reading.

What it converts must be the float Python gives, to the bit; what it cannot convert exactly it
must refuse (the line then goes through the JSON parser). The layout must match to the byte.
"""

from __future__ import annotations

import json
import math
import os
import random
import struct
from typing import Optional

import numpy as np
import pytest
from conftest import REAL_LOGS, shared_log
from hypothesis import given, settings
from hypothesis import strategies as st
from plain import json_reader

from detr_watch.formats import detect, detr_json, feed_blocks
from detr_watch.tail import Lines

try:
    from detr_watch import _jsonrows
except ImportError:  # pragma: no cover - only where the install could not compile it
    _jsonrows = None  # type: ignore[assignment]

needs_reader = pytest.mark.skipif(_jsonrows is None, reason="detr_watch._jsonrows not built (no C compiler)")

ONE = (b'{"a": ', b"}")


def test_ci_builds_the_compiled_reader() -> None:
    # Elsewhere it is optional (pip goes on without a compiler); CI must test it.
    if os.environ.get("CI") and _jsonrows is None:
        pytest.fail("CI installed detr-watch without detr_watch._jsonrows: is a C compiler missing?")


def number(token: bytes) -> Optional[float]:
    """What the reader makes of `token` as the one value of a line; None when it refuses it."""
    out = np.empty(1)
    n, _ = _jsonrows.rows([b'{"a": ' + token + b"}"], 0, ONE, out)
    return float(out[0]) if n else None


def python(token: bytes) -> Optional[float]:
    """What Python's json gives (as detr-json stores it), None for what is no JSON number."""
    constants = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    try:
        value = json.loads(token, parse_constant=constants.__getitem__)
    except (ValueError, KeyError):
        return None
    if type(value) not in (int, float):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def same(a: float, b: float) -> bool:
    return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))


def agrees(token: bytes) -> bool:
    """Refused, or the bits Python gives; never a number where Python sees none."""
    got = number(token)
    if got is None:
        return True
    want = python(token)
    return want is not None and same(got, want)


@needs_reader
@settings(max_examples=3000, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_python_writes_is_read_to_the_bit_or_refused(x: float) -> None:
    assert agrees(json.dumps(x).encode())


@needs_reader
@settings(max_examples=2000, deadline=None)
@given(st.integers(min_value=-(10**22), max_value=10**22))
def test_integers_are_read_as_python_makes_them_floats(n: int) -> None:
    token = json.dumps(n).encode()
    assert agrees(token)
    if abs(n) <= 2**53:  # exact as a double (larger ones may be ties, left to Python)
        assert number(token) is not None


DIGITS = st.text("0123456789", min_size=1, max_size=24)


@needs_reader
@settings(max_examples=3000, deadline=None)
@given(
    sign=st.sampled_from(["", "-"]),
    whole=DIGITS,
    fraction=st.one_of(st.none(), DIGITS),
    exponent=st.one_of(
        st.none(), st.tuples(st.sampled_from(["e", "E"]), st.sampled_from(["", "+", "-"]), DIGITS)
    ),
)
def test_every_shape_of_number_is_read_to_the_bit_or_refused(
    sign: str, whole: str, fraction: Optional[str], exponent: Optional[tuple[str, str, str]]
) -> None:
    # Leading zeros (no JSON), runs of digits across the eight-at-once reads, 19 and 20 digits.
    token = sign + whole + ("." + fraction if fraction is not None else "")
    if exponent is not None:
        token += "".join(exponent)
    assert agrees(token.encode())


@needs_reader
@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=10) | st.text("0123456789.eE+-NaInfity ", max_size=10).map(str.encode))
def test_what_is_no_json_number_is_refused(token: bytes) -> None:
    assert agrees(token)


@needs_reader
@pytest.mark.parametrize(
    ("token", "value"),
    [
        (b"0", 0.0),
        (b"-0", 0.0),  # JSON's -0 is the integer 0
        (b"-0.0", -0.0),
        (b"0.0", 0.0),
        (b"NaN", math.nan),
        (b"Infinity", math.inf),
        (b"-Infinity", -math.inf),
        (b"9.999999999999782e-05", 9.999999999999782e-05),
        (b"0.28022936960238687", 0.28022936960238687),  # 17 digits: the long double path
        (b"75.90739504568013", 75.90739504568013),
        (b"41302368", 41302368.0),
        (b"1e22", 1e22),
        (b"0.000123456789012345678", 0.000123456789012345678),  # 18 significant digits after zeros
    ],
)
def test_numbers_of_detr_logs(token: bytes, value: float) -> None:
    got = number(token)
    assert got is not None and same(got, value)


@needs_reader
@pytest.mark.parametrize(
    "token",
    [
        b"-NaN",
        b"nan",
        b"inf",
        b"+1",
        b"01",
        b"1.",
        b".5",
        b"1e",
        b"1e+",
        b"--1",
        b"0x10",
        b"1_000",
        b"",
        b" 1",
        b"1 ",
    ],
)
def test_what_json_does_not_allow_is_refused(token: bytes) -> None:
    assert number(token) is None


@needs_reader
@pytest.mark.parametrize(
    "token",
    [
        b"12345678901234567890",  # 20 significant digits
        b"1e-400",  # below the smallest double
        b"1e400",
        b"5e-324",  # a subnormal
        b"1.2345678901234567e-12",  # 10^-28: beyond exact powers of ten
        b"9007199254740993",  # 2^53 + 1: halfway between two doubles
    ],
)
def test_what_it_cannot_convert_exactly_is_left_to_python(token: bytes) -> None:
    assert number(token) is None
    assert python(token) is not None  # and Python reads it: the JSON path takes the line


@needs_reader
@pytest.mark.parametrize(
    "token",
    [
        # Halfway cases after the long double step: with the tie check off, these come out one
        # unit in the last place off (found by a reviewer's variant of the reader).
        b"981919795182.569397",
        b"945705.23077380826",
        b"599249.3779882428e-14",
        b"0." + b"0" * 99_999 + b"1e1000000",  # an exponent past 100,000 is no longer cut short
        b"1e1000000",
        b"-0.000e-1000000",
    ],
)
def test_ties_and_huge_exponents_are_exact_or_refused(token: bytes) -> None:
    assert agrees(token)


def test_its_long_double_check_is_true_here() -> None:
    # The tie check needs 64-bit long doubles; on x86-64 Linux and aarch64 they are there.
    if _jsonrows is not None and os.uname().machine in ("x86_64", "aarch64"):
        assert _jsonrows.EXTENDED == 1


LINE = json.dumps({"train_loss": 1.5, "test_coco_eval_bbox": [0.4, 0.5], "epoch": 3}).encode()
PIECES = (b'{"train_loss": ', b', "test_coco_eval_bbox": [', b", ", b'], "epoch": ', b"}")


@needs_reader
def test_a_line_is_read_only_when_it_is_the_layout_to_the_byte() -> None:
    out = np.empty((8, 4))
    assert _jsonrows.rows([LINE], 0, PIECES, out) == (1, 1)
    assert out[0].tolist() == [1.5, 0.4, 0.5, 3.0]
    others = [
        LINE.replace(b", ", b","),  # other separators
        LINE.replace(b"train_loss", b"train_lost"),  # another key of the same length
        LINE + b"\r",
        b" " + LINE,
        LINE[:-1],
        LINE.replace(b"1.5", b"true"),
        LINE.replace(b"1.5", b"null"),
        LINE.replace(b"1.5", b'"1.5"'),
        LINE.replace(b"0.5]", b"0.5, 0.6]"),
        LINE.replace(b"[0.4, 0.5]", b"[0.4]"),
        b"",
    ]
    for other in others:
        assert _jsonrows.rows([LINE, other, LINE], 0, PIECES, out) == (1, 1), other
        assert _jsonrows.rows(b"\n".join([LINE, other, LINE]), 0, PIECES, out) == (1, len(LINE) + 1), other


@needs_reader
def test_texts_and_lists_read_alike_and_stop_where_told() -> None:
    lines = [LINE.replace(b"1.5", str(i).encode()) for i in range(10)]
    text = b"\n".join(lines)
    out = np.full((10, 4), -7.0)
    assert _jsonrows.rows(lines, 2, PIECES, out) == (8, 10)
    assert out[:8, 0].tolist() == list(range(2, 10))
    assert _jsonrows.rows(text, 0, PIECES, out) == (10, len(text) + 1)  # past the end: all read
    assert out[:, 0].tolist() == list(range(10))
    assert _jsonrows.rows(text, len(lines[0]) + 1, PIECES, out[:3]) == (3, sum(len(x) + 1 for x in lines[:4]))
    assert _jsonrows.rows(text + b"\n", 0, PIECES, out) == (10, len(text) + 1)  # then an empty line
    assert _jsonrows.rows(lines, 10, PIECES, out) == (0, 10)
    assert _jsonrows.rows(text, len(text) + 1, PIECES, out) == (0, len(text) + 1)


@needs_reader
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (([LINE], 0, (b"x",), np.empty(4)), ValueError),  # no number
        (([LINE], -1, PIECES, np.empty(4)), ValueError),
        (([LINE], 0, (b"a", 1), np.empty(4)), TypeError),
        (([LINE], 0, PIECES, np.empty(4, dtype=np.float32)), TypeError),
        (([LINE], 0, PIECES, bytes(32)), (TypeError, BufferError)),  # not writable
        ((5, 0, PIECES, np.empty(4)), TypeError),
    ],
)
def test_wrong_arguments_raise_and_do_not_crash(args: tuple[object, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        _jsonrows.rows(*args)  # type: ignore[arg-type]


@needs_reader
def test_it_stops_before_a_line_with_minus_one_where_told() -> None:
    lines = [LINE, LINE.replace(b"0.5]", b"-1]"), LINE, LINE.replace(b"1.5", b"-1")]
    out = np.empty((8, 4))
    assert _jsonrows.rows(lines, 0, PIECES, out, 10, (1, 2)) == (1, 1)  # the COCO items
    assert _jsonrows.rows(lines, 0, PIECES, out, 10, (0,)) == (3, 3)
    assert _jsonrows.rows(b"\n".join(lines), 0, PIECES, out, 10**9, (2,)) == (1, len(LINE) + 1)
    assert _jsonrows.rows(lines, 0, PIECES, out, 10, ()) == (4, 4)
    with pytest.raises(ValueError):
        _jsonrows.rows(lines, 0, PIECES, out, 10, (4,))


def counted(parser: detr_json.DetrJsonParser, lines: object) -> tuple[list[object], int]:
    """The records of `lines`, and how many lines `_jsonrows` read for them in all (the lines it
    read to check a plan on one line not counted)."""
    seen: list[int] = []
    real = _jsonrows.rows

    def counting(*args: object) -> tuple[int, int]:
        n, after = real(*args)  # type: ignore[arg-type]
        source = args[0]
        if not (isinstance(source, list) and len(source) == 1):
            seen.append(n)
        return n, after

    detr_json._jsonrows.rows = counting  # type: ignore[union-attr]
    try:
        records = parser.feed(lines)  # type: ignore[arg-type]
    finally:
        detr_json._jsonrows.rows = real  # type: ignore[union-attr]
    return list(records), sum(seen)


def logtxt(n: int, **extra: object) -> list[bytes]:
    return [
        json.dumps(
            {"train_loss": 1.0 + i / 7, "test_coco_eval_bbox": [0.4 + i / 1e4, 0.5, 0.6], "epoch": i, **extra}
        ).encode()
        for i in range(n)
    ]


@needs_reader
def test_a_coco_minus_one_now_and_then_costs_no_rereading() -> None:
    # A -1 every 5th line: each stops the reader there; no line is read twice.
    lines = [x.replace(b"0.5,", b"-1,") if i % 5 == 4 else x for i, x in enumerate(logtxt(3000))]
    for source in (lines, Lines([b"\n".join(lines)])):
        with json_reader(split=1000):
            got, read = counted(detr_json.create(), source)
        with json_reader(compiled=False):
            want = detr_json.create().feed(lines)
        assert repr(got) == repr(want)
        # Every line but the -1 ones and the one after each (the JSON path's, which the reader
        # goes on from), and the first; at most once a text, a second thread's few lines are dropped.
        assert 1800 <= read <= 1800 + 5
        assert read == 3000 - 600 - 599 - 1 or isinstance(source, Lines)


@needs_reader
def test_lines_it_refuses_early_in_a_long_text_do_not_make_it_read_the_rest_again_and_again() -> None:
    # Two threads read a text only until a line stops the first: else each -1 near the start
    # would have the second thread read (and drop) half of the rest again.
    lines = logtxt(20_000)
    lines[:1000] = [x.replace(b"0.5,", b"-1,") if i % 5 == 4 else x for i, x in enumerate(lines[:1000])]
    with json_reader(split=1000):
        got, read = counted(detr_json.create(), Lines([b"\n".join(lines)]))
    assert len(got) == 20_000
    assert read <= 20_000 + 10_000


@needs_reader
def test_two_threads_read_each_line_once_however_short_the_lines() -> None:
    lines = [b'{"train_loss": %d, "epoch": %d}' % (i % 10, i) for i in range(60_000)]  # 1.8 MB
    with json_reader(split=4096):
        got, read = counted(detr_json.create(), Lines([b"\n".join(lines)]))
    assert len(got) == 60_000
    assert read == 60_000 - 1


@needs_reader
@pytest.mark.parametrize(
    "odd_first",
    [
        b"\x00" * 4,  # a crash's NULs before the next run's first line
        b"",
    ],
)
def test_a_first_line_it_does_not_read_does_not_turn_it_off(odd_first: bytes) -> None:
    lines = logtxt(500)
    lines[0] = odd_first + lines[0].replace(b'"train_loss": 1.0', b'"train_loss": 1e-300')
    got, read = counted(detr_json.create(), lines)
    with json_reader(compiled=False):
        want = detr_json.create().feed(lines)
    assert repr(got) == repr(want)
    assert read >= 500 - 3


@needs_reader
def test_a_list_under_epoch_is_read_as_the_json_path_reads_it() -> None:
    lines = [b'{"train_loss": 1.0, "epoch": [5, 6]}'] * 3 + logtxt(3)
    got, _ = counted(detr_json.create(), lines)
    with json_reader(compiled=False):
        want = detr_json.create().feed(lines)
    assert repr(got) == repr(want)
    assert [r.step for r in got[:3]] == [0.0, 1.0, 2.0]  # no epoch: the line's position


@needs_reader
def test_a_list_holding_no_bytes_stops_there() -> None:
    out = np.empty((4, 4))
    assert _jsonrows.rows([LINE, "text", LINE], 0, PIECES, out) == (1, 1)


DETR_JSON_LOGS = [name for name in REAL_LOGS if "logtxt" in name]


def read(path: str, compiled: bool, split: Optional[int] = None) -> list[tuple[object, ...]]:
    data = shared_log(path).read_bytes()
    lines = data.split(b"\n")
    fmt = detect(lines[:50])
    assert fmt == "detr-json"
    with json_reader(compiled, split):
        parser = detr_json.create()
        blocks = feed_blocks(parser, Lines([data.rstrip(b"\n")]))

    def raw(a: object) -> object:
        return a.tobytes() if isinstance(a, np.ndarray) else a

    return [tuple(raw(x) for x in b) for b in blocks]


@needs_reader
@pytest.mark.parametrize("name", DETR_JSON_LOGS)
def test_real_logs_read_the_same_with_and_without_it(name: str) -> None:
    assert read(name, compiled=True) == read(name, compiled=False)
    for split in (1, 5000, 20000):  # two threads from texts this long (the lines are 1-5 KB)
        assert read(name, compiled=True, split=split) == read(name, compiled=False)


@needs_reader
@pytest.mark.parametrize("name", DETR_JSON_LOGS)
def test_it_reads_the_lines_of_real_logs_that_are_numbers_only(name: str) -> None:
    # DINO's lines hold a time string (the JSON path reads those); in the others nearly every
    # line is read by the compiled reader.
    lines = [x for x in shared_log(name).read_bytes().split(b"\n") if x]
    parser = detr_json.create()
    seen: list[int] = []
    real = _jsonrows.rows

    def counting(*args: object) -> tuple[int, int]:
        n, after = real(*args)  # type: ignore[arg-type]
        source = args[0]
        if not (isinstance(source, list) and len(source) == 1):  # not a plan checked on its line
            seen.append(n)
        return n, after

    detr_json._jsonrows.rows = counting  # type: ignore[union-attr]
    try:
        parser.feed(lines)
    finally:
        detr_json._jsonrows.rows = real  # type: ignore[union-attr]
    read_here = sum(seen)
    if "dino" in name:
        assert read_here <= 0
    else:
        assert read_here >= 0.9 * len(lines) - 20, (read_here, len(lines))


@needs_reader
@pytest.mark.skipif(not DETR_JSON_LOGS, reason="../shared/logs is not beside this checkout")
def test_mutated_lines_of_a_real_log_read_as_without_it() -> None:
    lines = [x for x in shared_log(DETR_JSON_LOGS[0]).read_bytes().split(b"\n") if x][:60]
    rng = random.Random(7)
    for _ in range(40):
        mutated = list(lines)
        for _ in range(5):
            i = rng.randrange(len(mutated))
            line = bytearray(mutated[i])
            j = rng.randrange(len(line))
            line[j : j + 1] = bytes([rng.choice(b'0123456789.-eE,:" ]}{nNaIfty-1')])
            mutated[i] = bytes(line).replace(b"\n", b"")
        results = []
        for compiled in (True, False):
            with json_reader(compiled):
                parser = detr_json.create()
                recs = parser.feed(Lines([b"\n".join(mutated)]))
            results.append((repr(recs), parser.skipped))
        assert results[0] == results[1]
