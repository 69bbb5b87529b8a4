"""The live view's options in-process: every one shapes the `--once` frame as it shapes the live view."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from conftest import DATA

from detr_watch.cli import run

MOQIXIS = DATA / "detr_logtxt_Moqixis_object_detection_detr.txt"
CONDITIONAL = DATA / "conditional_detr_swin_logtxt_Gaw4Gura.txt"
CONSOLE = DATA / "detr_stdout_FarjadAhmed_default_mha_10ep.txt"


def frame(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = run(["--once", "--width", "100", "--height", "30", *argv], out, err)
    assert code == 0, err.getvalue()
    text = out.getvalue()
    print(text)
    return text


def error(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    assert code == 2 and "Traceback" not in err.getvalue()
    return err.getvalue()


@pytest.mark.parametrize(
    ("options", "shows"),
    [
        (["--view", "losses"], "share of the total"),
        (["--view", "layers"], "layer 6 (final)"),
        (["--view", "coco"], "AR100"),
        (["--metrics", "loss_giou*"], "filter loss_giou*"),
        (["--smooth", "0.9"], "smooth 0.9"),
        (["--smooth", "0"], "no smoothing"),
        (["--smooth-epochs"], "smooth 0.6+epochs"),
        (["--log-y"], "x: epoch · log"),
        (["--ignore-outliers"], "x: epoch · 5-95%"),
        (["--x", "epoch"], "x: epoch"),
        (["--zoom", "2"], "zoom 1/4"),
        (["--stitch"], "runs stitched"),
        (["--epochs", "60"], "epoch 49/60"),
    ],
)
def test_each_view_option_shapes_the_frame(options: list[str], shows: str) -> None:
    assert shows in frame(*options, str(CONDITIONAL))


def test_epochs_and_time_stamps_give_an_eta() -> None:
    # DINO writes a time stamp per epoch: 85 s each over its last 10, 24 of 30 epochs done: 6 x 85 s
    assert "epoch 23/30 · ETA 8m · 1m/epoch" in frame(
        "--epochs", "30", str(DATA / "dino_logtxt_ChunTsungHsiao_cvpdl_hw1.txt")
    )


def test_no_raw_hides_the_faint_curve() -> None:
    assert "no raw" in frame("--no-raw", str(CONSOLE))
    plain = frame(str(CONSOLE))
    assert "no raw" not in plain and "smooth 0.6" in plain


def test_several_logs_and_a_folder(tmp_path: Path) -> None:
    out = frame(str(MOQIXIS), str(CONDITIONAL))
    assert out.startswith("2 logs · detr_logt…ction_detr: epoch 1/5") and "Total loss (train)" in out
    runs = tmp_path / "runs"
    for name, src in (("r50", MOQIXIS), ("swin", CONDITIONAL)):
        (runs / name).mkdir(parents=True)
        shutil.copy(src, runs / name / "log.txt")
    (runs / "notes.txt").write_text("hello\n" * 10)
    out = frame(str(runs))
    assert "r50: epoch 1/5" in out and "swin: epoch 49" in out
    header = next(line for line in out.split("\n") if line.startswith("series"))
    assert header.split() == ["series", "r50", "swin", "best"]


def test_bad_view_options_are_one_line_usage_errors(tmp_path: Path) -> None:
    for argv, words in (
        (["--smooth", "1", "x"], "must be in [0, 1)"),
        (["--smooth", "abc", "x"], "not a number"),
        (["--zoom", "13", "x"], "--zoom must be between 0 and 12"),
        (["--epochs", "0", "x"], "--epochs must be a positive number"),
        (["--view", "nope", "x"], "invalid choice"),
    ):
        err = error(*argv)
        assert words in err and err.count("\n") == 2, err
    (tmp_path / "empty").mkdir()
    out, err = io.StringIO(), io.StringIO()
    assert run(["--once", str(tmp_path / "empty")], out, err) == 1
    assert "is a directory with no training log in it" in err.getvalue()
