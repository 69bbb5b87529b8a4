"""No record lost or duplicated, end to end: `stream --follow` as a real process while a writer
chunks, bursts, truncates, rotates, deletes and replaces the log; and the pipeline (tail -> detect
-> parse) under any chunking of real logs.

tests/test_tail.py proves the same at the byte level (Tailer); here the whole chain is checked:
records with ids, in order, each exactly once, in the run the documented rules give it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from detr_watch.pipeline import Source
from detr_watch.records import Record

WAIT = 30.0  # seconds a condition may take before the test fails (CI machines are slow, not that slow)
NOTE = "é → ✓ 🔥"  # multi-byte characters in every line, so that chunks split them


def line(rid: int, epoch: int) -> bytes:
    """One DETR log.txt record; `train_loss` carries its id."""
    obj = {"train_loss": float(rid), "train_class_error": rid % 7, "note": NOTE, "epoch": epoch}
    return (json.dumps(obj, ensure_ascii=False) + "\n").encode()


class Writer:
    """A training job's logger: an O_APPEND descriptor, ids and epochs counted up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.next_id = 0
        self.epoch = 0

    def records(self, n: int) -> tuple[bytes, list[int]]:
        ids = list(range(self.next_id, self.next_id + n))
        data = b"".join(line(i, self.epoch + k) for k, i in enumerate(ids))
        self.next_id += n
        self.epoch += n
        return data, ids

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def reopen(self) -> None:
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def close(self) -> None:
        os.close(self.fd)


class Follower:
    """`detr-watch stream --follow` in its own process; its records collected on a thread."""

    def __init__(self, path: Path, *options: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "detr_watch", "stream", "--follow", *options, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.records: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="follower-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            rec = json.loads(raw)
            with self._arrived:
                self.records.append(rec)
                self._arrived.notify_all()
        with self._arrived:
            self._arrived.notify_all()

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        with self._arrived:
            while not predicate(self.records):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"timed out waiting for {what}; got {len(self.records)} records")
                self._arrived.wait(left)

    def wait_count(self, n: int) -> None:
        self.wait_for(lambda recs: len(recs) >= n, f"{n} records")

    def ids(self) -> list[tuple[int, int]]:
        """(run, id) of every record so far, in arrival order."""
        with self._arrived:
            return [(r["run"], int(r["metrics"]["train_loss"])) for r in self.records]

    def stop(self) -> tuple[int, str]:
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=10)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read().decode("utf-8", "replace")


@pytest.fixture
def follow() -> Iterator[Callable[..., Follower]]:
    started: list[Follower] = []

    def start(path: Path, *options: str) -> Follower:
        f = Follower(path, *options)
        started.append(f)
        return f

    yield start
    for f in started:
        if f.proc.poll() is None:
            f.proc.kill()
            f.proc.wait()
        f._reader.join(timeout=10)


def chunked(data: bytes, rng: random.Random, largest: int) -> Iterator[bytes]:
    """`data` in pieces of 1..largest bytes: they end mid-line and mid-character."""
    i = 0
    while i < len(data):
        n = rng.randint(1, largest)
        yield data[i : i + n]
        i += n


def finish(writer: Writer, follower: Follower, expected: list[tuple[int, int]], run: int) -> None:
    """Write a last record and wait for it: records arrive in order, so nothing before it is in flight."""
    data, ids = writer.records(1)
    writer.write(data)
    expected += [(run, i) for i in ids]
    follower.wait_for(
        lambda recs: any(int(r["metrics"]["train_loss"]) == ids[0] for r in recs), "the last one"
    )
    got = follower.ids()
    assert len({i for _, i in got}) == len(got), "a record arrived twice"
    assert got == expected
    code, err = follower.stop()
    assert code == 0 and err == "", err


def test_chunked_appends_and_bursts_arrive_once_in_order(
    tmp_path: Path, follow: Callable[..., Follower]
) -> None:
    log = tmp_path / "log.txt"
    writer = Writer(log)
    follower = follow(log)
    rng = random.Random(7)
    expected: list[tuple[int, int]] = []
    # Small pieces, each its own write(): lines and UTF-8 characters torn across writes.
    data, ids = writer.records(200)
    for piece in chunked(data, rng, 40):
        writer.write(piece)
    expected += [(0, i) for i in ids]
    follower.wait_count(len(expected))
    # A writer far faster than the reader: 5,000 lines in one write, then 5,000 in tiny writes.
    data, ids = writer.records(5000)
    writer.write(data)
    expected += [(0, i) for i in ids]
    data, ids = writer.records(5000)
    for piece in chunked(data, rng, 300):
        writer.write(piece)
    expected += [(0, i) for i in ids]
    finish(writer, follower, expected, 0)
    writer.close()


def test_truncation_and_every_rotation_lose_and_repeat_nothing(
    tmp_path: Path, follow: Callable[..., Follower]
) -> None:
    log = tmp_path / "log.txt"
    writer = Writer(log)
    data, ids = writer.records(50)
    writer.write(data)
    follower = follow(log)
    expected = [(0, i) for i in ids]
    run = 0

    def caught_up() -> None:
        # Truncation destroys what was not read yet (for any reader): wait until it was.
        follower.wait_count(len(expected))

    def append(n: int) -> None:
        data, ids = writer.records(n)
        writer.write(data)
        expected.extend((run, i) for i in ids)

    # A restart that overwrites log.txt: truncated, then written from epoch 0 again.
    caught_up()
    os.truncate(log, 0)
    writer.epoch = 0
    run += 1
    append(30)
    # copy-truncate rotation (logrotate's copytruncate): the job keeps its descriptor.
    caught_up()
    shutil.copyfile(log, tmp_path / "log.txt.1")
    os.truncate(log, 0)
    run += 1
    append(30)
    # rename-and-recreate rotation: what the job writes to the old file until it reopens is read too.
    caught_up()
    os.rename(log, tmp_path / "log.txt.2")
    append(20)
    writer.reopen()
    run += 1
    append(20)
    # Deleted and created again, the job still writing to the deleted file for a while.
    caught_up()
    os.unlink(log)
    append(10)
    writer.reopen()
    run += 1
    append(10)
    # Replaced under the name (new inode) with other content: a new run.
    caught_up()
    writer.close()
    tmp = tmp_path / ".log.txt.swp"
    writer.fd = os.open(tmp, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    writer.epoch = 0
    run += 1
    append(15)
    os.replace(tmp, log)
    writer.reopen()
    append(15)
    finish(writer, follower, expected, run)
    writer.close()


def test_replacement_with_the_same_content_plus_more_repeats_nothing(
    tmp_path: Path, follow: Callable[..., Follower]
) -> None:
    # rsync (without --inplace) and editors write a new file and rename it over the log. When it
    # holds what was read plus new lines, only the new lines are new records.
    log = tmp_path / "log.txt"
    writer = Writer(log)
    data, ids = writer.records(40)
    writer.write(data + b'{"train_loss": 40.0, "train_class')  # the last line still being written
    follower = follow(log)
    expected = [(0, i) for i in ids]
    follower.wait_count(len(expected))
    writer.close()
    content = log.read_bytes()
    tmp = tmp_path / ".log.txt.rsync-tmp"
    more, more_ids = writer.records(10)
    tmp.write_bytes(content[: -len(b'{"train_loss": 40.0, "train_class')] + more)
    os.replace(tmp, log)
    expected += [(0, i) for i in more_ids]
    writer.fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    finish(writer, follower, expected, 0)
    writer.close()


_BLIND_WRITER = textwrap.dedent(
    """
    import os, sys, time
    path, count, burst, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    for start in range(0, count, burst):
        data = "".join(
            '{"train_loss": %d.0, "train_class_error": 1.0, "epoch": %d}\\n' % (i, i)
            for i in range(start, min(count, start + burst))
        ).encode()
        cut = len(data) // 3  # the burst becomes visible in two parts, the cut inside a line
        os.write(fd, data[:cut])
        time.sleep(pause)
        os.write(fd, data[cut:])
        time.sleep(pause)
    os.close(fd)
    """
)


@pytest.mark.parametrize("options", [("--poll",), ()], ids=["poll", "safety-poll"])
def test_writes_that_inotify_cannot_see_are_read_by_polling(
    tmp_path: Path, follow: Callable[..., Follower], options: Sequence[str]
) -> None:
    # On NFS, CIFS or SSHFS, writes from another machine raise no inotify event and become visible
    # late. Here another process writes through a hard link in another directory: inotify watches
    # on the log's directory see nothing of it (as on NFS), so only polling can find the lines.
    # Not simulated: NFS attribute caching that shows a size before the data (reads of zeros).
    log = tmp_path / "logs" / "log.txt"
    log.parent.mkdir()
    log.write_bytes(line(0, 0))
    elsewhere = tmp_path / "server"
    elsewhere.mkdir()
    os.link(log, elsewhere / "log.txt")
    follower = follow(log, *options)
    follower.wait_count(1)
    count = 300
    writer = subprocess.Popen(
        [sys.executable, "-c", _BLIND_WRITER, str(elsewhere / "log.txt"), str(count), "50", "0.2"]
    )
    try:
        assert writer.wait(timeout=WAIT) == 0
        follower.wait_count(1 + count)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    got = [int(r["metrics"]["train_loss"]) for r in follower.records]
    assert got == [0, *range(count)]
    assert {r["run"] for r in follower.records} == {0, 1}  # epoch 0 again after epoch 0: a new run
    code, err = follower.stop()
    assert code == 0 and err == ""


# --- the pipeline in-process: any chunking of any real log gives the records of one whole read ---

REAL_LOGS = sorted(p.name for p in DATA.iterdir() if p.suffix in (".txt", ".json", ".csv"))


def key(rec: Record) -> tuple[Any, ...]:
    # repr: NaN == NaN for the comparison, and -0.0 told from 0.0
    return (
        rec.run,
        repr(rec.step),
        rec.axis,
        repr(rec.time),
        repr(rec.epoch),
        repr(sorted(rec.metrics.items())),
    )


def whole(path: Path) -> tuple[list[tuple[Any, ...]], int, str | None]:
    source = Source(path)
    try:
        records = source.poll() + source.poll(final=True)
        return [key(r) for r in records], source.skipped, source.format
    finally:
        source.close()


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(REAL_LOGS), data=st.data())
def test_any_chunking_of_a_real_log_gives_the_records_of_one_read(name: str, data: st.DataObject) -> None:
    content = (DATA / name).read_bytes()
    expected, skipped, fmt = whole(DATA / name)
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(content)), max_size=30), label="cuts")))
    budget = data.draw(st.none() | st.integers(1, 4096), label="max_bytes per poll")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(b"")
        source = Source(path)
        got: list[tuple[Any, ...]] = []
        start = 0
        try:
            for end in [*cuts, len(content)]:
                with open(path, "ab") as f:
                    f.write(content[start:end])
                start = end
                while True:
                    got += [key(r) for r in source.poll(budget)]
                    if source.caught_up:
                        break
            got += [key(r) for r in source.poll(final=True)]
        finally:
            source.close()
    assert source.format == fmt
    assert got == expected
    assert source.skipped == skipped
