"""`detr-watch stream --follow` as a real process: records arrive as written; SIGINT/SIGTERM exit 0."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _line(epoch: int, loss: float) -> str:
    return (
        json.dumps({"train_loss": loss, "test_coco_eval_bbox": [0.1 * epoch] + [0.0] * 11, "epoch": epoch})
        + "\n"
    )


class Follower:
    def __init__(self, path: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "detr_watch", "stream", "--follow", *extra, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        return self.lines.get(timeout=timeout)

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        return code


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.txt"
    path.write_text(_line(0, 3.0))
    return path


@pytest.fixture
def follower(log: Path) -> Iterator[Follower]:
    f = Follower(log)
    yield f
    if f.proc.poll() is None:
        f.proc.kill()
        f.proc.wait()


def test_records_arrive_as_written_and_sigint_exits_zero(log: Path, follower: Follower) -> None:
    first = follower.next()
    assert (first["run"], first["step"], first["metrics"]["train_loss"]) == (0, 0, 3.0)
    assert len(first["metrics"]) == 13  # train_loss + the 12 COCO stats
    with open(log, "a") as f:
        f.write(_line(1, 2.0))
        f.flush()
        f.write(_line(2, 1.0)[:20])  # torn: must wait for the rest
    got = follower.next()
    assert (got["step"], got["metrics"]["train_loss"]) == (1, 2.0)
    with pytest.raises(queue.Empty):
        follower.lines.get(timeout=0.5)
    with open(log, "a") as f:
        f.write(_line(2, 1.0)[20:])
    assert follower.next()["step"] == 2
    assert follower.stop(signal.SIGINT) == 0


def test_overwritten_log_continues_as_a_new_run_and_sigterm_exits_zero(log: Path, follower: Follower) -> None:
    assert follower.next()["step"] == 0
    log.write_text(_line(0, 9.0))  # the training restarted and rewrote log.txt
    got = follower.next()
    assert (got["run"], got["step"], got["metrics"]["train_loss"]) == (1, 0, 9.0)
    assert follower.stop(signal.SIGTERM) == 0


def test_waits_for_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "later.txt"
    f = Follower(path)
    try:
        path.write_text(_line(0, 1.5))
        assert f.next()["metrics"]["train_loss"] == 1.5
        assert f.stop(signal.SIGINT) == 0
    finally:
        if f.proc.poll() is None:
            f.proc.kill()
            f.proc.wait()


def test_poll_mode_follows_too(log: Path) -> None:
    f = Follower(log, "--poll")
    try:
        assert f.next()["step"] == 0
        with open(log, "a") as fh:
            fh.write(_line(1, 2.5))
        assert f.next()["metrics"]["train_loss"] == 2.5
        assert f.stop(signal.SIGINT) == 0
    finally:
        if f.proc.poll() is None:
            f.proc.kill()
            f.proc.wait()
