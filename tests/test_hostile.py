"""Hostile and broken input: a correct result or a one-line error, never a traceback, within seconds.

Each case runs the real program in its own process (a crash must not take pytest down with it) for
the four one-shot faces: `stream`, `summary --json`, `summary` and `--once` into a file. Output goes
to files; each child notes its peak memory as it exits.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest
from tmux import Pane, detr_watch_argv

SECONDS = 10.0  # "within seconds": generous for a loaded CI machine, far below a hang
MiB = 1024 * 1024
COMMANDS = {
    "stream": ("stream",),
    "summary-json": ("summary", "--json"),
    "summary": ("summary",),
    "once": ("--once", "--width", "120", "--height", "40"),
}


# `python -m detr_watch`, noting the peak resident memory of this process image at exit: the
# rusage of a child also counts the parent's memory it was forked from.
_MAIN = """
import atexit, runpy, sys
def peak(path=sys.argv.pop(1)):
    with open("/proc/self/status") as f:
        kib = [line.split()[1] for line in f if line.startswith("VmHWM:")]
    with open(path, "w") as f:
        f.write(kib[0])
atexit.register(peak)
runpy.run_module("detr_watch", run_name="__main__", alter_sys=True)
"""


@dataclass
class Result:
    code: int
    out: str
    err: str
    seconds: float
    peak_kib: int  # the child's peak resident memory (VmHWM), -1 when it died before telling

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.out.splitlines()]


def run_all(path: Path, tmp: Path, commands: Sequence[str] = tuple(COMMANDS)) -> dict[str, Result]:
    """Every command on `path`, side by side (two cores)."""
    started = {}
    for name in commands:
        out, err = tmp / f"{name}.out", tmp / f"{name}.err"
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen(
                [sys.executable, "-c", _MAIN, str(tmp / f"{name}.peak"), *COMMANDS[name], str(path)],
                stdin=subprocess.DEVNULL,
                stdout=o,
                stderr=e,
                env={k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")},
            )
        started[name] = (proc, time.monotonic(), out, err)
    ended: dict[str, float] = {}

    def reap(name: str, proc: subprocess.Popen[bytes]) -> None:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        ended[name] = time.monotonic()

    reapers = [threading.Thread(target=reap, args=(n, s[0])) for n, s in started.items()]
    for t in reapers:
        t.start()
    for t in reapers:
        t.join()
    results = {}
    for name, (proc, t0, out, err) in started.items():
        seconds = ended[name] - t0
        assert seconds < 60, f"{name} still running after 60 s"
        peak = tmp / f"{name}.peak"
        results[name] = Result(
            proc.returncode,
            out.read_text("utf-8", "replace"),
            err.read_text("utf-8", "replace"),
            seconds,
            int(peak.read_text()) if peak.exists() else -1,
        )
    return results


def check_common(results: dict[str, Result]) -> None:
    for name, r in results.items():
        print(name, r.code, f"{r.seconds:.2f}s", f"{r.peak_kib // 1024} MiB", repr(r.err[:300]))
        assert r.code >= 0, f"{name} killed by signal {-r.code}"
        assert "Traceback" not in r.err and "Exception" not in r.err, r.err
        assert r.seconds < SECONDS, f"{name} took {r.seconds:.1f} s"
        if r.code == 0:
            assert all(x.startswith("warning: ") for x in r.err.splitlines()), r.err
        else:
            lines = r.err.splitlines()
            assert r.code == 1 and len(lines) == 2, lines
            assert lines[0].startswith("error: ") and lines[1].startswith("hint: ")


def check_error(results: dict[str, Result], fragment: str) -> None:
    check_common(results)
    for name, r in results.items():
        assert r.code == 1 and fragment in r.err, (name, r.err)
        assert r.out == ""


def check_ok(results: dict[str, Result]) -> dict[str, Any]:
    """The common checks for a log that must be read; returns the summary --json object."""
    check_common(results)
    for name, r in results.items():
        assert r.code == 0, (name, r.err)
    summary: dict[str, Any] = json.loads(results["summary-json"].out)
    once = results["once"].out.splitlines()
    assert 0 < len(once) <= 40 and max(len(x) for x in once) <= 120
    return summary


def record(epoch: int, **metrics: float) -> bytes:
    return json.dumps({**metrics, "epoch": epoch}).encode() + b"\n"


GOOD = b"".join(record(i, train_loss=10.0 - i, train_class_error=50.0 - i) for i in range(5))


def losses(r: Result) -> list[Optional[float]]:
    return [x["metrics"].get("train_loss") for x in r.json_lines()]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "log.txt"


def test_missing_file(tmp_path: Path, log: Path) -> None:
    check_error(run_all(log, tmp_path), "does not exist")


def test_a_directory(tmp_path: Path) -> None:
    (tmp_path / "output").mkdir()
    check_error(run_all(tmp_path / "output", tmp_path), "is a directory")


def test_an_empty_file(tmp_path: Path, log: Path) -> None:
    log.write_bytes(b"")
    check_error(run_all(log, tmp_path), "is empty")


def test_binary_garbage(tmp_path: Path, log: Path) -> None:
    rng = random.Random(11)
    log.write_bytes(bytes(rng.randrange(256) for _ in range(300_000)))
    check_error(run_all(log, tmp_path), "not a training log")


def test_binary_junk_from_a_dying_disk_inside_a_log(tmp_path: Path, log: Path) -> None:
    rng = random.Random(5)
    junk = bytes(rng.randrange(256) for _ in range(20_000))
    # A crash leaves a block of NULs where the file system had allocated space; the restarted job's
    # first line then starts right after them, on the same "line".
    log.write_bytes(
        GOOD + junk + b"\n" + record(5, train_loss=5.0) + b"\x00" * 4096 + record(6, train_loss=4.0) + b"\n"
    )
    results = run_all(log, tmp_path)
    summary = check_ok(results)
    assert losses(results["stream"]) == [10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0]
    assert summary["records"] == 7 and summary["skipped_lines"] >= 1


def test_invalid_utf8_inside_lines(tmp_path: Path, log: Path) -> None:
    log.write_bytes(
        GOOD
        + b'{"train_loss": 5.0, "note": "\xff\xfe broken \xc3", "epoch": 5}\n'
        + b'{"train_lo\xe9ss": 3.0, "train_loss": 4.0, "epoch": 6}\n'
    )
    results = run_all(log, tmp_path)
    summary = check_ok(results)
    assert losses(results["stream"]) == [10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0]
    assert results["stream"].json_lines()[-1]["metrics"]["train_lo\ufffdss"] == 3.0
    assert "train_lo\ufffdss" in summary["series"]


def test_crlf_line_endings(tmp_path: Path, log: Path) -> None:
    log.write_bytes(GOOD.replace(b"\n", b"\r\n"))
    results = run_all(log, tmp_path)
    check_ok(results)
    assert losses(results["stream"]) == [10.0, 9.0, 8.0, 7.0, 6.0]
    csv = tmp_path / "results.csv"
    csv.write_bytes(b"epoch,train/giou_loss,metrics/mAP50-95(B)\r\n1,0.9,0.1\r\n2,0.8,0.2\r\n")
    rows = run_all(csv, tmp_path, ["stream"])["stream"].json_lines()
    assert [r["metrics"] for r in rows] == [
        {"train/giou_loss": 0.9, "metrics/mAP50-95(B)": 0.1},
        {"train/giou_loss": 0.8, "metrics/mAP50-95(B)": 0.2},
    ]


def _peak_over_baseline(tmp_path: Path, log: Path) -> dict[str, int]:
    base = tmp_path / "base"
    base.mkdir()
    good = base / "log.txt"
    good.write_bytes(GOOD)
    baseline = run_all(good, base)
    results = run_all(log, tmp_path)
    return {name: results[name].peak_kib - baseline[name].peak_kib for name in results}


def test_a_30_mb_line_without_newline_is_capped_and_reported(tmp_path: Path, log: Path) -> None:
    log.write_bytes(GOOD + b'{"train_loss": [' + b"1.0, " * (6 * MiB))  # 30 MiB, still being written
    results = run_all(log, tmp_path)
    check_ok(results)
    assert losses(results["stream"]) == [10.0, 9.0, 8.0, 7.0, 6.0]
    for name, r in results.items():
        warnings = [x for x in r.err.splitlines() if x.startswith("warning: ")]
        assert len(warnings) == 1 and "MiB" in warnings[0], (name, r.err)
    growth = _peak_over_baseline(tmp_path, log)
    print(growth)
    # The held-back part is capped at 16 MiB; reading it costs at most about twice that.
    assert max(growth.values()) < 48 * 1024, growth


def test_a_30_mb_line_in_the_middle_is_skipped_and_reported(tmp_path: Path, log: Path) -> None:
    log.write_bytes(GOOD + b"x" * (30 * MiB) + b"\n" + record(5, train_loss=5.0))
    results = run_all(log, tmp_path)
    check_ok(results)
    assert losses(results["stream"]) == [10.0, 9.0, 8.0, 7.0, 6.0, 5.0]
    assert all("warning: " in r.err for r in results.values())


@pytest.mark.parametrize("opening,closing", [(b"[", b"]"), (b'{"a": ', b"}")], ids=["arrays", "objects"])
def test_deeply_nested_json(tmp_path: Path, log: Path, opening: bytes, closing: bytes) -> None:
    deep = b'{"train_loss": 1.0, "x": ' + opening * 200_000 + b"1" + closing * 200_000 + b', "epoch": 5}\n'
    log.write_bytes(GOOD + deep + record(6, train_loss=4.0))
    results = run_all(log, tmp_path)
    summary = check_ok(results)
    assert losses(results["stream"]) == [10.0, 9.0, 8.0, 7.0, 6.0, 4.0]
    assert summary["skipped_lines"] == 1


def test_five_thousand_keys_on_one_line(tmp_path: Path, log: Path) -> None:
    wide = {f"train_metric_{i}": float(i) for i in range(5000)}
    log.write_bytes(GOOD + record(5, train_loss=5.0, **wide))
    results = run_all(log, tmp_path)
    summary = check_ok(results)
    last = results["stream"].json_lines()[-1]["metrics"]
    assert len(last) == 5001 and last["train_metric_4999"] == 4999.0
    assert len(summary["series"]) == 5002
    assert "train_loss" in results["once"].out
    assert "more rows ('summary --json' has them all)" in results["summary"].out


def test_nan_and_infinity_tokens(tmp_path: Path, log: Path) -> None:
    log.write_bytes(
        GOOD
        + b'{"train_loss": NaN, "train_class_error": Infinity, "epoch": 5}\n'
        + b'{"train_loss": -Infinity, "train_class_error": 1.0, "epoch": 6}\n'
    )
    results = run_all(log, tmp_path)
    summary = check_ok(results)
    rows = results["stream"].json_lines()
    assert rows[-2]["metrics"] == {"train_loss": None, "train_class_error": None}
    assert rows[-1]["metrics"] == {"train_loss": None, "train_class_error": 1.0}
    assert summary["series"]["train_loss"]["nonfinite"] == 2
    assert summary["series"]["train_loss"]["min"] == 6.0
    assert "NaN/Inf" in results["once"].out


def test_json_that_is_not_an_object(tmp_path: Path, log: Path) -> None:
    log.write_bytes(GOOD + b'[1, 2, 3]\n"train_loss"\n42\nnull\ntrue\n' + record(5, train_loss=5.0))
    results = run_all(log, tmp_path)
    summary = check_ok(results)
    assert losses(results["stream"]) == [10.0, 9.0, 8.0, 7.0, 6.0, 5.0]
    assert summary["skipped_lines"] == 5
    # At the top of the file it is no DETR log.txt at all: a one-line error (or, were it read, the records).
    log.write_bytes(b"[1, 2, 3]\n" + GOOD)
    check_common(run_all(log, tmp_path))


def test_numbers_as_strings_are_not_numbers(tmp_path: Path, log: Path) -> None:
    log.write_bytes(
        GOOD + b'{"train_loss": "5.0", "train_class_error": 1.0, "train_lr": "1e-4", "epoch": "5"}\n'
    )
    results = run_all(log, tmp_path)
    summary = check_ok(results)
    last = results["stream"].json_lines()[-1]
    assert last["metrics"] == {"train_class_error": 1.0}
    assert "train_lr" not in summary["series"]


def test_duplicate_keys_the_last_one_wins(tmp_path: Path, log: Path) -> None:
    log.write_bytes(GOOD + b'{"train_loss": 1.0, "train_loss": 2.0, "epoch": 5, "epoch": 6}\n')
    results = run_all(log, tmp_path)
    check_ok(results)
    last = results["stream"].json_lines()[-1]
    assert last["metrics"] == {"train_loss": 2.0} and last["step"] == 6


def test_csv_with_ragged_rows(tmp_path: Path) -> None:
    csv = tmp_path / "results.csv"
    csv.write_bytes(
        b"epoch,train/giou_loss,train/cls_loss,metrics/mAP50-95(B)\n"
        b"1,0.9,0.8,0.1\n"
        b"2,0.7\n"  # short: the missing cells are missing values
        b"3,0.6,0.5,0.2,99,99\n"  # long: the extra cells belong to no column
        b"4,,0.4,0.3\n"  # an empty cell
        b"5\n"  # nothing but the epoch
        b"six,0.1,0.1,0.1\n"  # no epoch
    )
    results = run_all(csv, tmp_path)
    summary = check_ok(results)
    rows = [(r["step"], r["metrics"]) for r in results["stream"].json_lines()]
    assert rows == [
        (1, {"train/giou_loss": 0.9, "train/cls_loss": 0.8, "metrics/mAP50-95(B)": 0.1}),
        (2, {"train/giou_loss": 0.7}),
        (3, {"train/giou_loss": 0.6, "train/cls_loss": 0.5, "metrics/mAP50-95(B)": 0.2}),
        (4, {"train/cls_loss": 0.4, "metrics/mAP50-95(B)": 0.3}),
    ]
    assert summary["skipped_lines"] == 2


def test_stream_follow_says_when_it_skips_an_over_long_line(tmp_path: Path, log: Path) -> None:
    log.write_bytes(GOOD)
    proc = subprocess.Popen(
        [sys.executable, "-m", "detr_watch", "stream", "--follow", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        for _ in range(5):
            assert proc.stdout.readline()
        with open(log, "ab") as f:
            f.write(b'{"train_loss": [' + b"1.0, " * (4 * MiB))  # 20 MiB and going on
        warning = proc.stderr.readline()  # blocks until the warning comes (pytest-timeout guards it)
        assert warning.startswith("warning: ") and "MiB in lines longer than 16 MiB" in warning
        with open(log, "ab") as f:
            f.write(b"]}\n" + record(5, train_loss=5.0))
        assert json.loads(proc.stdout.readline())["metrics"] == {"train_loss": 5.0}
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        rest = proc.stderr.read().splitlines()
        assert len(rest) == 1 and rest[0].startswith("warning: "), rest  # the total, once at the end
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- the live view in a real terminal: the same inputs give a frame, never a crash ---


def _live(path: Path, cwd: Path, panes: list[Pane]) -> Pane:
    pane = Pane(detr_watch_argv(str(path)), width=140, height=44, cwd=cwd)
    panes.append(pane)
    return pane


LIVE_CASES: dict[str, tuple[bytes, str]] = {
    "5000-keys": (
        GOOD + record(5, train_loss=5.0, **{f"train_m{i}": float(i) for i in range(5000)}),
        "6 records",
    ),
    "nan-inf": (GOOD + b'{"train_loss": NaN, "train_class_error": Infinity, "epoch": 5}\n', "6 records"),
    "crlf": (GOOD.replace(b"\n", b"\r\n"), "5 records"),
    "junk-and-nuls": (
        GOOD + b"\x00\xff\xfe junk \x1b[2J\n" + b"\x00" * 4096 + record(5, train_loss=5.0),
        "6 records",
    ),
    "deep-nesting": (
        GOOD + b'{"x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}\n" + record(5, train_loss=5.0),
        "6 records",
    ),
    "not-objects": (GOOD + b"[1, 2]\n42\nnull\n" + record(5, train_loss=5.0), "6 records"),
    "huge-partial-line": (GOOD + b'{"train_loss": [' + b"1.0, " * (4 * MiB), "5 records"),
}


@pytest.mark.parametrize("case", sorted(LIVE_CASES))
def test_live_view_reads_hostile_logs(tmp_path: Path, log: Path, panes: list[Pane], case: str) -> None:
    content, expected = LIVE_CASES[case]
    log.write_bytes(content)
    pane = _live(log, tmp_path, panes)
    pane.wait_for(lambda s: expected in s, timeout=SECONDS, what=expected)
    pane.keys("q")
    assert pane.wait_exit() == 0


def test_live_view_waits_for_an_empty_file(tmp_path: Path, log: Path, panes: list[Pane]) -> None:
    log.write_bytes(b"")
    pane = _live(log, tmp_path, panes)
    pane.wait_for(lambda s: "waiting" in s, timeout=SECONDS, what="waiting")
    with open(log, "ab") as f:
        f.write(GOOD)
    pane.wait_for(lambda s: "5 records" in s, timeout=SECONDS, what="the records")
    pane.keys("q")
    assert pane.wait_exit() == 0


def test_live_view_says_when_a_file_is_not_a_training_log(
    tmp_path: Path, log: Path, panes: list[Pane]
) -> None:
    # Past what detection looks at (2 MiB or 1,500 lines): before that, more lines could still tell.
    log.write_bytes(random.Random(11).randbytes(3 * MiB))
    pane = _live(log, tmp_path, panes)
    pane.wait_for(lambda s: "not a training log" in s, timeout=SECONDS, what="'not a training log'")
    pane.keys("q")
    assert pane.wait_exit() == 0


def test_live_view_says_when_it_skips_an_over_long_line(tmp_path: Path, log: Path, panes: list[Pane]) -> None:
    log.write_bytes(GOOD + b'{"train_loss": [' + b"1.0, " * (4 * MiB))
    pane = _live(log, tmp_path, panes)
    pane.wait_for(lambda s: "MiB" in s.splitlines()[0], timeout=SECONDS, what="MiB on the status line")
    pane.keys("q")
    assert pane.wait_exit() == 0
