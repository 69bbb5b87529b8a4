from __future__ import annotations

import errno
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchdog.observers.api import BaseObserver

from detr_watch.tail import Tailer
from detr_watch.watch import Watcher

# Waits for an event that must come are long (they return as soon as it does); waits for one
# that must not come are short timeouts.
COMES = 5.0
QUIET = 0.3


def append(path: Path, data: bytes = b"1\n") -> None:
    with open(path, "ab") as f:
        f.write(data)


def settle(watcher: Watcher) -> None:
    """Let the events of the setup pass, so that the next wake is the test's own."""
    for _ in range(20):
        if not watcher.wait(QUIET):
            return
    raise AssertionError("the watcher keeps waking up")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.txt"
    path.write_bytes(b"0\n")
    return path


@pytest.fixture
def watcher(log: Path) -> Iterator[Watcher]:
    with Watcher(log) as w:
        assert w.mode == "inotify"
        settle(w)
        yield w


def test_append_wakes_it(watcher: Watcher, log: Path) -> None:
    append(log)
    assert watcher.wait(COMES)
    assert not watcher.wait(QUIET)  # the event was cleared


def test_another_file_in_the_directory_does_not_wake_it(watcher: Watcher, log: Path) -> None:
    other = log.parent / "other.txt"
    other.write_bytes(b"x\n")
    append(other)
    os.rename(other, log.parent / "other.txt.1")
    assert not watcher.wait(QUIET)
    append(log)
    assert watcher.wait(COMES)


def test_our_own_reads_do_not_wake_it(watcher: Watcher, log: Path) -> None:
    with Tailer(log) as tailer:
        assert tailer.read()
        assert not watcher.wait(QUIET)
        tailer.read()
        log.read_bytes()
        assert not watcher.wait(QUIET)


def test_truncation_wakes_it(watcher: Watcher, log: Path) -> None:
    os.truncate(log, 0)
    assert watcher.wait(COMES)


def test_rename_and_recreate_wakes_it(watcher: Watcher, log: Path) -> None:
    os.rename(log, log.parent / "log.txt.1")
    assert watcher.wait(COMES)
    log.write_bytes(b"new\n")
    assert watcher.wait(COMES)
    settle(watcher)
    append(log)
    assert watcher.wait(COMES)


def test_delete_and_recreate_wakes_it(watcher: Watcher, log: Path) -> None:
    os.unlink(log)
    assert watcher.wait(COMES)
    log.write_bytes(b"new\n")
    assert watcher.wait(COMES)


def test_replacement_by_os_replace_wakes_it(watcher: Watcher, log: Path) -> None:
    tmp = log.parent / ".log.txt.tmp"
    tmp.write_bytes(b"0\n1\n")
    os.replace(tmp, log)
    assert watcher.wait(COMES)


def test_polling_mode_wakes_it(log: Path) -> None:
    with Watcher(log, poll=True, poll_interval=0.1) as w:
        assert w.mode == "polling"
        settle(w)
        append(log)
        assert w.wait(COMES)
        os.rename(log, log.parent / "log.txt.1")
        assert w.wait(COMES)


def test_falls_back_to_polling_when_inotify_cannot_start(log: Path) -> None:
    def no_inotify() -> BaseObserver:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    class Limited(Watcher):
        _native = staticmethod(no_inotify)

    with Limited(log, poll_interval=0.1) as w:
        assert w.mode == "polling"
        assert w.fallback_reason is not None and "limit" in w.fallback_reason
        settle(w)
        append(log)
        assert w.wait(COMES)


def test_stop_joins_the_observer_threads(log: Path) -> None:
    before = set(threading.enumerate())
    w = Watcher(log)
    w.start()
    assert set(threading.enumerate()) - before
    w.stop()
    w.stop()
    assert set(threading.enumerate()) - before == set()


def test_wake_by_hand(log: Path) -> None:
    with Watcher(log) as w:
        settle(w)
        w.wake()
        assert w.wait(COMES)
        assert not w.wait(0)


def test_a_missing_directory_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "output" / "run1" / "log.txt"
    with Watcher(path) as w:
        settle(w)
        path.parent.mkdir(parents=True)
        assert w.wait(COMES)
        settle(w)  # the watch moves down to output/run1
        path.write_bytes(b"0\n")
        assert w.wait(COMES)
        settle(w)
        append(path)
        assert w.wait(COMES)


def test_directory_deleted_and_recreated(log: Path) -> None:
    directory = log.parent / "run"
    directory.mkdir()
    path = directory / "log.txt"
    path.write_bytes(b"0\n")
    with Watcher(path) as w:
        settle(w)
        shutil.rmtree(directory)
        assert w.wait(COMES)
        settle(w)
        directory.mkdir()
        assert w.wait(COMES)
        settle(w)
        path.write_bytes(b"1\n")
        assert w.wait(COMES)


def test_symlinked_log_wakes_on_writes_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "exp1" / "log.txt"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"0\n")
    link = tmp_path / "latest.txt"
    link.symlink_to(target)
    with Watcher(link) as w:
        settle(w)
        append(target)
        assert w.wait(COMES)
