"""The CLI in-process: exit codes, one-line errors, plain output into pipes, stream and summary."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, REAL_LOGS

from detr_watch.cli import run

MOQIXIS = DATA / "detr_logtxt_Moqixis_object_detection_detr.txt"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def assert_one_line_error(err: str, *fragments: str) -> None:
    print(repr(err))
    lines = err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: ")
    for f in fragments:
        assert f in err
    assert "Traceback" not in err


def test_version() -> None:
    from detr_watch import __version__

    proc = subprocess.run([sys.executable, "-m", "detr_watch", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"detr-watch {__version__}"


def test_once_prints_a_plain_frame(tmp_path: Path) -> None:
    code, out, err = cli("--once", "--width", "100", "--height", "30", str(MOQIXIS))
    print(out)
    assert code == 0, err
    assert "\x1b" not in out
    lines = out.splitlines()
    assert len(lines) <= 30 and max(len(x) for x in lines) <= 100
    assert "epoch 1" in out and "7 records" in out


def test_pipe_without_once_behaves_as_once() -> None:
    code, out, _ = cli("--width", "100", "--height", "30", str(MOQIXIS))
    assert code == 0 and "7 records" in out and "\x1b" not in out


def test_force_color_keeps_colours_in_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    code, out, _ = cli("--once", "--width", "100", "--height", "30", str(MOQIXIS))
    assert code == 0 and "\x1b[" in out


def test_columns_and_lines_set_the_frame_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "90")
    monkeypatch.setenv("LINES", "26")
    code, out, _ = cli("--once", str(MOQIXIS))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) <= 26 and max(len(x) for x in lines) <= 90


def test_missing_file_is_one_line_error(tmp_path: Path) -> None:
    code, _, err = cli("--once", str(tmp_path / "nope.txt"))
    assert code != 0
    assert_one_line_error(err, "does not exist")


def test_directory_is_one_line_error(tmp_path: Path) -> None:
    code, _, err = cli("--once", str(tmp_path))
    assert code != 0
    assert_one_line_error(err, "is a directory")


def test_not_a_log_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\nnothing to see here\n" * 50)
    for argv in (("--once", str(path)), ("summary", str(path)), ("stream", str(path))):
        code, _, err = cli(*argv)
        assert code != 0
        assert_one_line_error(err, "not a training log")


def test_empty_file_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(b"")
    code, _, err = cli("summary", str(path))
    assert code != 0
    assert_one_line_error(err, "is empty")


def test_unknown_format_and_bad_size_are_usage_errors() -> None:
    code, _, err = cli("--once", "--format", "nope", str(MOQIXIS))
    assert code != 0
    assert_one_line_error(err, "unknown format")
    code, _, err = cli("--once", "--width", "0", str(MOQIXIS))
    assert code == 2
    assert_one_line_error(err, "--width")


def test_no_path_is_a_usage_error() -> None:
    code, _, err = cli()
    assert code == 2
    assert_one_line_error(err, "no log given")


def test_traceback_flag_shows_the_stack(tmp_path: Path) -> None:
    code, _, err = cli("--once", "--traceback", str(tmp_path / "nope.txt"))
    assert code != 0
    assert "Traceback" in err and "error: " in err


def test_stream_emits_one_json_object_per_record() -> None:
    code, out, err = cli("stream", str(MOQIXIS))
    assert code == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 7
    assert [x["run"] for x in lines] == [0, 0, 0, 0, 0, 1, 1]
    assert [x["step"] for x in lines] == [0, 1, 2, 3, 4, 0, 1]
    assert set(lines[0]) == {"run", "step", "metrics"}
    assert lines[0]["metrics"]["train_loss"] == pytest.approx(4.234414317799276)


def test_stream_writes_nan_as_null(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text(
        '{"train_loss": NaN, "train_loss_ce": Infinity, "epoch": 0}\n{"train_loss": 1.5, "epoch": 1}\n'
    )
    code, out, _ = cli("stream", str(path))
    assert code == 0
    first, second = (json.loads(x) for x in out.splitlines())
    assert first["metrics"] == {"train_loss": None, "train_loss_ce": None}
    assert second["metrics"] == {"train_loss": 1.5}


def test_summary_json_schema_and_values(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    coco0 = "[0.1, 0.2, 0.3, -1, 0.5, 0.6, 0.7, 0.8, 0.9, -1, 1.0, 1.1]"
    coco2 = "[0.3, 0.4, 0.5, -1, 0.5, 0.6, 0.7, 0.8, 0.9, -1, 1.0, 1.1]"
    path.write_text(
        f'{{"train_loss": 3.0, "test_coco_eval_bbox": {coco0}, "epoch": 0}}\n'
        '{"train_loss": NaN, "epoch": 1}\n'
        f'{{"train_loss": 1.0, "test_coco_eval_bbox": {coco2}, "epoch": 2}}\n'
        '{"train_loss": 2.0, "epoch": 0}\n'
        "this line is junk\n"
    )
    code, out, err = cli("summary", "--json", str(path))
    assert code == 0, err
    data = json.loads(out)
    assert data["path"] == str(path) and data["format"] == "detr-json"
    assert data["records"] == 4 and data["skipped_lines"] == 1
    assert data["runs"] == [
        {"first_step": 0, "last_step": 2, "records": 3},
        {"first_step": 0, "last_step": 0, "records": 1},
    ]
    loss = data["series"]["train_loss"]
    base_keys = ("count", "nonfinite", "first", "last", "min", "max", "step_of_min", "step_of_max")
    assert {k: loss[k] for k in base_keys} == {
        "count": 3,
        "nonfinite": 1,
        "first": 3.0,
        "last": 2.0,
        "min": 1.0,
        "max": 3.0,
        "step_of_min": 2,
        "step_of_max": 0,
    }
    ap = data["series"]["test_coco_eval_bbox/AP"]
    assert ap["max"] == 0.3 and ap["step_of_max"] == 2
    assert "test_coco_eval_bbox/APs" not in data["series"]


def test_summary_for_people_lists_main_series() -> None:
    code, out, err = cli("summary", str(MOQIXIS))
    assert code == 0, err
    assert "train_loss" in out and "runs" in out.lower()


def test_demo_into_a_pipe_prints_one_frame() -> None:
    code, out, err = cli("--demo", "--width", "120", "--height", "40")
    assert code == 0, err
    assert "epoch 7" in out and "8 records" in out


def test_summary_on_every_real_log_runs(tmp_path: Path) -> None:
    from conftest import SHARED_LOGS

    if not SHARED_LOGS.exists():
        pytest.skip("../shared/logs not available")
    for path in sorted(SHARED_LOGS.iterdir()):
        if path.name == "README.md":
            continue
        code, out, err = cli("summary", "--json", str(path))
        assert code == 0, (path.name, err)
        data = json.loads(out)
        for name, stats in data["series"].items():
            for key in ("first", "last", "min", "max"):
                v = stats[key]
                assert v is None or math.isfinite(v), (path.name, name)


def test_last_record_age_comes_from_the_file_not_the_read(tmp_path: Path) -> None:
    """A log last written two hours ago must not look fresh because we just read it."""
    import os
    import time

    path = tmp_path / "log.txt"
    path.write_bytes(MOQIXIS.read_bytes())
    two_hours_ago = time.time() - 2 * 3600 - 30
    os.utime(path, (two_hours_ago, two_hours_ago))
    code, out, _ = cli("--once", "--width", "120", "--height", "30", str(path))
    assert code == 0
    assert "last record 2h 00m ago" in out.splitlines()[0]


def test_a_pipe_or_device_is_one_line_error(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/null"):
        code, _, err = cli("summary", path)
        assert code != 0
        assert_one_line_error(err, "not a regular file")


@pytest.mark.parametrize("fmt_log", REAL_LOGS)
def test_every_real_log_in_once_and_stream(fmt_log: str) -> None:
    from conftest import shared_log

    path = shared_log(fmt_log)
    code, out, err = cli("--once", "--width", "120", "--height", "40", str(path))
    assert code == 0, err
    assert len(out.splitlines()) <= 40
    code, out, err = cli("stream", str(path))
    assert code == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    if "headeronly" in fmt_log:
        assert lines == []
    else:
        assert lines and all(set(x) == {"run", "step", "metrics"} for x in lines)
