"""Throughput: a console log of hundreds of MB must parse at tens of MB/s (issue #3)."""

from __future__ import annotations

import time

from conftest import DATA

from detr_watch import formats

# Measured on a 2-core box: detr-stdout ~40 MB/s, detr-json ~180 MB/s. The floor is far below
# so that a loaded CI machine passes, and far above what a per-field or quadratic parser does.
FLOOR_MB_S = 5.0


def _rate(fmt: str, lines: list[bytes]) -> float:
    parser = formats.create(fmt)
    size = sum(len(line) + 1 for line in lines)
    start = time.perf_counter()
    records = parser.feed(lines)
    elapsed = time.perf_counter() - start
    assert records
    return size / elapsed / 1e6


def test_console_log_parses_at_tens_of_mb_per_second() -> None:
    one = (DATA / "detr_stdout_FarjadAhmed_default_mha_10ep.txt").read_bytes().splitlines()
    lines = one * 32  # ~10 MB, 32 runs
    rate = _rate("detr-stdout", lines)
    print(f"detr-stdout: {rate:.1f} MB/s")
    assert rate > FLOOR_MB_S


def test_json_log_parses_fast() -> None:
    one = (DATA / "conditional_detr_swin_logtxt_Gaw4Gura.txt").read_bytes().splitlines()
    rate = _rate("detr-json", one * 40)
    print(f"detr-json: {rate:.1f} MB/s")
    assert rate > FLOOR_MB_S
