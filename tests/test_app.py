"""The live loop in-process on a pseudo-terminal, and the screen painter: only changed lines are sent,
each frame in synchronized output; the bell rings once per new alert; NO_COLOR and 256 colours."""

from __future__ import annotations

import io
import json
import os
import pty
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from detr_watch.app import run_live
from detr_watch.demo import epoch_record
from detr_watch.pipeline import Source
from detr_watch.render.console import live_console
from detr_watch.render.screen import ENTER, LEAVE, SYNC_BEGIN, SYNC_END, Screen
from detr_watch.view import View

WAIT = 20.0


class Terminal:
    """A pseudo-terminal: the program gets the slave side, the test reads what it draws from the master."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.out = open(self.slave, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        self.inp = open(self.slave, encoding="utf-8", closefd=False)  # noqa: SIM115
        self.buffer = ""
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="pytest-pty-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._cond:
                self.buffer += data.decode("utf-8", "replace")
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[[str], bool], what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.buffer), timeout=WAIT):
                raise AssertionError(f"timed out waiting for {what}; got {self.buffer[-2000:]!r}")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        self.out.close()
        self.inp.close()
        os.close(self.slave)
        os.close(self.master)
        self._reader.join(timeout=5)


@pytest.fixture
def term(monkeypatch: pytest.MonkeyPatch) -> Iterator[Terminal]:
    # rich keeps the escape codes of a style for the first colour system it was rendered with (one
    # console per process): a 16-colour console here would change the colours other tests see
    monkeypatch.setenv("TERM", "xterm-256color")
    t = Terminal()
    yield t
    t.close()


def _log(path: Path, epochs: int, nan_at: int | None = None) -> Path:
    rng = random.Random(1)
    with open(path, "w", encoding="utf-8") as f:
        for e in range(epochs):
            rec = epoch_record(e, rng)
            if e == nan_at:
                rec["train_loss"] = float("nan")
            f.write(json.dumps(rec) + "\n")
    return path


def drive(term: Terminal, steps: list[tuple[Callable[[str], bool], str, str]]) -> threading.Thread:
    """Type each key once the screen shows what the step waits for (a condition, never a sleep)."""

    def run() -> None:
        for predicate, what, keys in steps:
            term.wait_for(predicate, what)
            term.type(keys)

    thread = threading.Thread(target=run, name="pytest-driver", daemon=True)
    thread.start()
    return thread


def test_keys_change_the_view_and_the_bell_rings_once_per_new_alert(tmp_path: Path, term: Terminal) -> None:
    log = _log(tmp_path / "log.txt", 4, nan_at=2)  # a NaN: one alert from the first frame on
    frames = lambda s: s.count(SYNC_BEGIN)  # noqa: E731
    driver = drive(
        term,
        [
            (lambda s: "NaN/Inf in train_loss at epoch 2" in s, "the first frame", "l"),
            (lambda s: "log y" in s, "the log-scale frame", "?"),
            (lambda s: "any key closes this help" in s, "the help box", "x"),
            (lambda s: frames(s) >= 4 and s.rfind("│ q ") < s.rfind(SYNC_BEGIN), "the help closed", "q"),
        ],
    )
    code = run_live(
        Source(log), View(title="log.txt"), stdout=term.out, stdin=term.inp, width=100, height=30, bell=True
    )
    driver.join(timeout=WAIT)
    assert code == 0
    term.wait_for(lambda s: s.endswith(LEAVE), "the terminal restored")
    out = term.buffer
    assert out.startswith(ENTER)  # the terminal is left as it was found
    assert out.count("\a") == 1  # one alert, many frames: one bell
    assert out.count(SYNC_BEGIN) == out.count(SYNC_END) >= 4
    assert "x epoch" not in out  # the key that closed the help did nothing else


def test_only_changed_lines_are_sent() -> None:
    file = io.StringIO()
    console = Console(
        file=file, width=40, height=5, force_terminal=True, color_system="256", legacy_windows=False
    )
    screen = Screen(console)
    with screen:
        first = Text("\n".join(["title", "a", "b", "c", "last record 1s ago"]))
        assert screen.show(first) == 5
        size_first = screen.bytes_written
        second = Text("\n".join(["title", "a", "b", "c", "last record 2s ago"]))
        assert screen.show(second) == 1  # the clock ticked: one line
        assert screen.show(second) == 0  # nothing changed: nothing sent
    out = file.getvalue()
    frames = out.split(SYNC_BEGIN)[1:]
    assert len(frames) == 2
    assert "\x1b[5;1H" in frames[1] and "title" not in frames[1]  # line 5 only, addressed directly
    assert screen.bytes_written - size_first < size_first / 2
    assert out.endswith(LEAVE)


def test_a_resize_repaints_everything() -> None:
    file = io.StringIO()
    console = Console(
        file=file, width=40, height=3, force_terminal=True, color_system=None, legacy_windows=False
    )
    screen = Screen(console)
    frame = Text("a\nb\nc")
    assert screen.show(frame) == 3
    console.width = 50
    assert screen.show(frame) == 3


def test_no_color_and_256_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("COLORTERM", raising=False)
    red = Text("alert", style="bold red")
    file = io.StringIO()
    Screen(live_console(file, 20, 1)).show(red)
    assert "\x1b[1;31m" in file.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    file = io.StringIO()
    Screen(live_console(file, 20, 1)).show(red)
    assert "31m" not in file.getvalue() and "\x1b[1m" in file.getvalue()  # bold stays, colour goes


def test_idle_loop_sleeps(tmp_path: Path, term: Terminal) -> None:
    """An unchanging log: after the first frame, the clock's tick repaints at most once a second."""
    log = _log(tmp_path / "log.txt", 3)
    start = time.monotonic()
    cpu = time.process_time()
    driver = drive(
        term,
        [
            (lambda s: "epoch 2" in s, "the first frame", ""),
            (lambda s: "last record" in s and s.count(SYNC_BEGIN) >= 3, "two ticks", "q"),
        ],
    )
    code = run_live(Source(log), View(title="log.txt"), stdout=term.out, stdin=term.inp, width=100, height=30)
    driver.join(timeout=WAIT)
    assert code == 0
    elapsed = time.monotonic() - start
    frames = term.buffer.count(SYNC_BEGIN)
    assert frames <= 2 + elapsed * 1.5  # the first frame, then a tick a second at most
    assert time.process_time() - cpu < elapsed  # not spinning (a loose bound: the first frame costs)


def test_a_terminal_that_hangs_up_ends_the_view_with_129(tmp_path: Path) -> None:
    t = Terminal()
    log = _log(tmp_path / "log.txt", 3)

    def hang_up() -> None:
        t.wait_for(lambda s: "epoch 2" in s, "the first frame")
        os.close(t.master)  # the SSH connection drops: reads give EIO or end-of-file, writes fail

    thread = threading.Thread(target=hang_up, name="pytest-hangup", daemon=True)
    thread.start()
    try:
        code = run_live(Source(log), View(title="log.txt"), stdout=t.out, stdin=t.inp, width=100, height=30)
    finally:
        thread.join(timeout=WAIT)
        t.out.close()
        t.inp.close()
        os.close(t.slave)
    assert code == 129


def test_ingest_observes_the_pace_of_live_records(tmp_path: Path) -> None:
    """After catching up, arrival times give the usual interval (quiet alert) and seconds per epoch (ETA)."""
    from detr_watch.ingest import Ingest
    from detr_watch.store import SeriesStore

    log = _log(tmp_path / "log.txt", 3)
    now = [1000.0]
    store = SeriesStore()
    ingest = Ingest(Source(log), store, clock=lambda: now[0])
    try:
        assert ingest.pump() is False  # the history: not observed (it did not arrive now)
        assert "interval" not in store.snapshot().meta
        rng = random.Random(2)
        for e, t in ((3, 1060.0), (4, 1120.0), (5, 1180.0)):
            now[0] = t
            with open(log, "a", encoding="utf-8") as f:
                f.write(json.dumps(epoch_record(e, rng)) + "\n")
            ingest.pump()
        meta = store.snapshot().meta
        assert meta["interval"] == "60.000"  # a record a minute
        assert meta["epoch_seconds"] == "60.000"  # epochs 3 -> 5 in 120 s
        assert meta.get("loading", "") == ""
    finally:
        ingest.stop()


def test_ingest_says_how_much_of_a_big_file_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from detr_watch import ingest as ingest_module
    from detr_watch.store import SeriesStore

    monkeypatch.setattr(ingest_module, "ROUND_BYTES", 20_000)  # a "big" file is read in rounds
    log = _log(tmp_path / "log.txt", 30)
    size = log.stat().st_size
    store = SeriesStore()
    ingest = ingest_module.Ingest(Source(log), store)
    try:
        assert ingest.pump() is True
        loading = store.snapshot().meta["loading"]
        assert loading.endswith("%") and 0 < int(loading[:-1]) < 100
        assert int(loading[:-1]) == min(99, 100 * ingest.source.offset // size)
        while ingest.pump():
            pass
        assert store.snapshot().meta["loading"] == ""  # caught up: nothing to say
    finally:
        ingest.stop()
