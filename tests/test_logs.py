"""Several logs: the logs in a folder (by content, bounded, never outside it); labels that tell them apart."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from detr_watch import logs
from detr_watch.demo import epoch_record
from detr_watch.errors import DetrWatchError


def _detr_log(path: Path, epochs: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    path.write_text("".join(json.dumps(epoch_record(e, rng)) + "\n" for e in range(epochs)))
    return path


def test_finds_logs_by_content_not_by_name(tmp_path: Path) -> None:
    a = _detr_log(tmp_path / "exp1" / "log.txt")
    b = _detr_log(tmp_path / "exp2" / "train.out")
    (tmp_path / "exp1" / "notes.txt").write_text("lr sweep, see wandb\n" * 20)
    (tmp_path / "exp1" / "config.json").write_text('{"lr": 0.0001, "epochs": 300}\n')
    (tmp_path / "exp2" / "checkpoint.pth").write_bytes(b"\x00" * 100)
    _detr_log(tmp_path / "exp2" / "metrics.bin")  # not a log-like name: never opened
    assert logs.find_logs(tmp_path) == [a, b]


def test_hidden_folders_and_depth_are_bounded(tmp_path: Path) -> None:
    _detr_log(tmp_path / ".git" / "log.txt")
    deep = tmp_path
    for i in range(logs.MAX_DEPTH + 1):
        deep = deep / f"d{i}"
    _detr_log(deep / "log.txt")
    shallow = _detr_log(tmp_path / "d0" / "log.txt")
    assert logs.find_logs(tmp_path) == [shallow]


def test_symlinks_out_of_the_folder_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _detr_log(outside / "log.txt")
    root = tmp_path / "runs"
    inside = _detr_log(root / "a" / "log.txt")
    os.symlink(outside, root / "escape")
    os.symlink(outside / "log.txt", root / "link.txt")
    os.symlink(root, root / "a" / "loop")  # a cycle inside the folder is walked once
    assert logs.find_logs(root) == [inside]


def test_expand_replaces_folders_and_keeps_files(tmp_path: Path) -> None:
    a = _detr_log(tmp_path / "runs" / "a" / "log.txt")
    b = _detr_log(tmp_path / "runs" / "b" / "log.txt")
    single = tmp_path / "other.txt"
    assert logs.expand([str(tmp_path / "runs"), str(single)]) == [str(a), str(b), str(single)]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DetrWatchError, match="is a directory with no training log in it"):
        logs.expand([str(tmp_path / "empty")])


def test_labels_tell_the_logs_apart() -> None:
    assert logs.labels(["runs/a/log.txt", "runs/b/log.txt"]) == ["a", "b"]
    assert logs.labels(["a/out/log.txt", "b/out/log.txt"]) == ["a", "b"]
    assert logs.labels(["r50.txt", "swin.txt"]) == ["r50", "swin"]
    assert logs.labels(["x.txt", "x.json"]) == ["x.txt", "x.json"]
    assert logs.labels(["only/log.txt"]) == ["log.txt"]
    long = ["runs/detr_r50_coco_lr1e-4_bs64_ep500/log.txt", "runs/detr_r50_coco_lr2e-4_bs64_ep500/log.txt"]
    short = logs.labels(long)
    assert short == ["…0_coco_lr1e-4_bs64…", "…0_coco_lr2e-4_bs64…"]  # cut around where they differ
    assert all(len(x) <= logs.MAX_LABEL for x in short)
    assert logs.labels(["a" * 30 + "1", "a" * 30 + "2"]) == ["…" + "a" * 17 + "1", "…" + "a" * 17 + "2"]


def test_as_board_wraps_a_single_snapshot() -> None:
    from detr_watch.store import SeriesStore

    snap = SeriesStore().snapshot()
    board = logs.as_board(snap, "log.txt")
    assert board == (logs.Log("log.txt", snap),)
    assert logs.as_board(board) == board
