"""Soak test: a writer appends records to a DETR log.txt at a steady rate while the live view runs in
a real terminal (a private tmux server) and `detr-watch stream --follow` runs beside it.

    python scripts/soak.py                        # 10 minutes at 1,000 records a second
    python scripts/soak.py --duration 30 --json   # what the test suite runs; the report as JSON

Three phases: writing (`--duration` seconds at `--rate`), idle (`--idle` seconds, nothing written),
and repaints (the terminal resized back and forth, nothing written). Checked, with the measurements
printed either way (exit status 1 when a check fails):
- every record reaches `stream --follow` exactly once and in order, and the live view's status line
  ends on the final count;
- the live view keeps updating: the record count on its screen, sampled every second, does not stand
  still in `MAX_STILL` samples in a row (a loaded machine may delay a frame, not three seconds);
- memory grows only with the data ("memory"): while writing, the live view by at most `VALUE_FACTOR`
  times the 8-byte values it stores (the store's arrays with room to grow, about twice the values,
  and what the current frame derives from them) plus `ALLOWANCE_MIB`; with no new data it stays
  within `FLAT_MIB` through the idle phase and the repaints ("flat"); `stream --follow`, which keeps
  nothing, within `ALLOWANCE_MIB` ("stream-memory");
- CPU stays modest: below `--live-cpu` of a core for the live view while writing, and near nothing
  for both when idle;
- both exit cleanly: `q` -> 0, SIGINT -> 0.
Needs tmux and Linux's /proc.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

# The main series of a DETR log.txt line, scaled and unscaled, and the last decoder layer's copies
# (a full line has ~90 keys; this keeps a 10-minute soak near half a gigabyte).
METRICS = (
    "train_lr",
    "train_loss",
    "train_class_error",
    "train_class_error_unscaled",
    "train_cardinality_error_unscaled",
    "train_cardinality_error_4_unscaled",
    *(
        f"train_{loss}{layer}{s}"
        for loss in ("loss_ce", "loss_bbox", "loss_giou")
        for layer in ("", "_4")
        for s in ("", "_unscaled")
    ),
)
EVAL_EVERY = 50  # an evaluation (test_loss and the twelve COCO stats) every this many records
EVAL_SERIES = 13
VALUE_FACTOR = 4.0
ALLOWANCE_MIB = 8.0  # allocator arenas, the first frames' caches
FLAT_MIB = 8.0
IDLE_CPU = 0.15  # the live view repaints once a second for the "last record N ago" clock
TICK = 0.02  # the writer writes a batch 50 times a second
RESIZES = 40
MAX_STILL = 3


def record(i: int) -> str:
    """Record `i`: its epoch is `i`, so a reader can tell a lost or repeated one."""
    decay = 1.0 / (1 + i * 1e-3)
    obj: dict[str, Any] = {name: decay * (1 + k * 0.1) for k, name in enumerate(METRICS)}
    obj["train_lr"] = 1e-4
    if i % EVAL_EVERY == 0:
        obj["test_loss"] = 1.2 * decay
        obj["test_coco_eval_bbox"] = [min(0.6, i * 1e-5)] + [0.1] * 11
    obj["epoch"] = i
    return json.dumps(obj) + "\n"


def points(records: int) -> int:
    """How many values the live view stores for `records` records (the first `initial` included)."""
    return records * len(METRICS) + ((records + EVAL_EVERY - 1) // EVAL_EVERY) * EVAL_SERIES


@dataclass
class Proc:
    """CPU seconds and resident memory of one process, from /proc."""

    pid: int

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


@dataclass
class Sample:
    t: float
    written: int
    streamed: int
    on_screen: Optional[int]
    live_rss_mib: float
    live_cpu_s: float
    stream_rss_mib: float
    stream_cpu_s: float


@dataclass
class Report:
    duration: float
    rate: float
    written: int = 0
    streamed: int = 0
    stream_errors: list[str] = field(default_factory=list)
    max_stream_lag_s: float = 0.0
    on_screen_final: Optional[int] = None
    stale_samples: int = 0  # one-second samples in which the count on screen did not grow
    most_still: int = 0  # the most samples in a row in which it did not grow
    live_cpu_share: float = 0.0
    stream_cpu_share: float = 0.0
    live_idle_cpu_share: float = 0.0
    stream_idle_cpu_share: float = 0.0
    live_rss_start_mib: float = 0.0
    live_rss_written_mib: float = 0.0
    live_rss_end_mib: float = 0.0
    live_values_mib: float = 0.0
    stream_rss_start_mib: float = 0.0
    stream_rss_end_mib: float = 0.0
    resized_on_screen: bool = False
    live_exit: Optional[int] = None
    stream_exit: Optional[int] = None
    failures: dict[str, str] = field(default_factory=dict)  # check -> what went wrong
    samples: list[Sample] = field(default_factory=list)


class Tmux:
    """A private tmux server running one command; the command's exit status goes to a file."""

    def __init__(self, argv: Sequence[str], width: int, height: int, workdir: Path) -> None:
        self.socket = f"detr-watch-soak-{uuid.uuid4().hex[:8]}"
        self.status = workdir / "live.status"
        command = " ".join(shlex.quote(a) for a in argv)
        script = f"{command}; echo $? > {shlex.quote(str(self.status))}; exec sleep 600"
        env = "env -u COLUMNS -u LINES -u NO_COLOR -u FORCE_COLOR TERM=xterm-256color LANG=C.UTF-8"
        self.run(
            "new-session", "-d", "-x", str(width), "-y", str(height), f"{env} sh -c {shlex.quote(script)}"
        )

    def run(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, "-f", os.devnull, *args], capture_output=True, text=True, timeout=20
        )
        return out.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def program_pid(self) -> int:
        shell = self.run("display-message", "-p", "#{pane_pid}").strip()
        found = subprocess.run(
            ["pgrep", "-P", shell], capture_output=True, text=True, timeout=10
        ).stdout.split()
        return int(found[0])

    def kill(self) -> None:
        socket = self.run("display-message", "-p", "#{socket_path}").strip()
        self.run("kill-server")
        if socket:  # a killed server leaves its socket file behind
            Path(socket).unlink(missing_ok=True)


_RECORDS = re.compile(r"(\d+) records?\b")


def records_on(screen: str) -> Optional[int]:
    """The record count on the status line (the first line that has one)."""
    for line in screen.splitlines():
        m = _RECORDS.search(line)
        if m:
            return int(m.group(1))
    return None


def poll_until(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Look at another process's state (a screen, a file) until `predicate` holds or time runs out."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


class StreamReader:
    """Reads `stream --follow`: counts records, checks that steps come once and in order, measures lag."""

    def __init__(self, proc: subprocess.Popen[str], written_at: dict[int, float]) -> None:
        self.proc = proc
        self.count = 0
        self.errors: list[str] = []
        self.max_lag = 0.0
        self._written_at = written_at
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, name="soak-stream-reader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            step = json.loads(line)["step"]
            now = time.monotonic()
            with self._cond:
                if step != self.count and len(self.errors) < 10:
                    self.errors.append(f"record {self.count}: got step {step}")
                written = self._written_at.get(step)
                if written is not None:
                    self.max_lag = max(self.max_lag, now - written)
                self.count += 1
                self._cond.notify_all()

    def wait_for(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.count < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def join(self) -> None:
        self._thread.join(timeout=10)


def soak(args: argparse.Namespace, workdir: Path) -> Report:
    report = Report(args.duration, args.rate)
    log = workdir / "log.txt"
    initial = 10
    with open(log, "w") as f:
        f.writelines(record(i) for i in range(initial))
    written = initial
    written_at: dict[int, float] = {}  # step of the last record of each batch -> when it was written
    pane = Tmux([sys.executable, "-m", "detr_watch", str(log)], args.width, args.height, workdir)
    stream = subprocess.Popen(
        [sys.executable, "-m", "detr_watch", "stream", "--follow", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reader = StreamReader(stream, written_at)
    try:
        if not poll_until(lambda: records_on(pane.screen()) == initial, 30):
            raise RuntimeError(f"the live view did not start:\n{pane.screen()}")
        if not reader.wait_for(initial, 30):
            raise RuntimeError("stream --follow did not start")
        live, streamer = Proc(pane.program_pid()), Proc(stream.pid)
        cpu0 = (live.cpu(), streamer.cpu())
        report.live_rss_start_mib, report.stream_rss_start_mib = live.rss_mib(), streamer.rss_mib()

        # 1. writing
        start = time.monotonic()
        next_sample = start + 1.0
        last_on_screen: Optional[int] = None
        still = 0
        with open(log, "a", buffering=1 << 20) as f:
            while True:
                now = time.monotonic()
                if now - start >= args.duration:
                    break
                due = initial + int((now - start) * args.rate)
                if due > written:
                    f.write("".join(record(i) for i in range(written, due)))
                    f.flush()
                    written = due
                    written_at[written - 1] = time.monotonic()
                if now >= next_sample:
                    on_screen = records_on(pane.screen())
                    report.samples.append(
                        Sample(
                            now - start,
                            written,
                            reader.count,
                            on_screen,
                            live.rss_mib(),
                            live.cpu() - cpu0[0],
                            streamer.rss_mib(),
                            streamer.cpu() - cpu0[1],
                        )
                    )
                    if on_screen is None or (last_on_screen is not None and on_screen <= last_on_screen):
                        report.stale_samples += 1
                        still += 1
                        report.most_still = max(report.most_still, still)
                    else:
                        still = 0
                    last_on_screen = on_screen
                    next_sample += 1.0
                time.sleep(max(0.0, TICK - (time.monotonic() - now)))  # pacing the load, not waiting
        elapsed = time.monotonic() - start
        report.written = written
        report.live_cpu_share = (live.cpu() - cpu0[0]) / elapsed
        report.stream_cpu_share = (streamer.cpu() - cpu0[1]) / elapsed
        if not reader.wait_for(written, 60):
            report.failures["records"] = f"stream --follow delivered {reader.count} of {written} records"
        poll_until(lambda: records_on(pane.screen()) == written, 60)
        report.on_screen_final = records_on(pane.screen())
        report.live_rss_written_mib = live.rss_mib()

        # 2. idle: nothing new, the view only repaints its clock
        cpu1, t1 = (live.cpu(), streamer.cpu()), time.monotonic()
        time.sleep(args.idle)  # measuring what nothing costs takes some time of nothing
        idle = time.monotonic() - t1
        report.live_idle_cpu_share = (live.cpu() - cpu1[0]) / idle
        report.stream_idle_cpu_share = (streamer.cpu() - cpu1[1]) / idle

        # 3. repaints at other sizes, still nothing new (each resize is a SIGWINCH and a new frame;
        # spaced by more than the frame interval so that none is merged into the next)
        sizes = [(args.width - 20, args.height - 8), (args.width, args.height)]
        for i in range(RESIZES):
            w, h = sizes[i % 2]
            pane.run("resize-window", "-x", str(w), "-y", str(h))
            time.sleep(0.15)
        report.resized_on_screen = records_on(pane.screen()) == written
        report.live_rss_end_mib, report.stream_rss_end_mib = live.rss_mib(), streamer.rss_mib()

        pane.run("send-keys", "q")
        poll_until(pane.status.exists, 20)
        report.live_exit = int(pane.status.read_text()) if pane.status.exists() else None
        stream.send_signal(signal.SIGINT)
        report.stream_exit = stream.wait(timeout=20)
        reader.join()
        report.streamed = reader.count
        report.stream_errors = reader.errors
        report.max_stream_lag_s = reader.max_lag
    finally:
        pane.kill()
        if stream.poll() is None:
            stream.kill()
            stream.wait()
    check(report, args.live_cpu)
    return report


def check(r: Report, live_cpu: float) -> None:
    f = r.failures
    if r.streamed != r.written or r.stream_errors:
        f["records"] = f"stream --follow: {r.streamed} of {r.written} records; {r.stream_errors[:3]}"
    if r.on_screen_final != r.written:
        f["screen"] = f"the live view shows {r.on_screen_final} records, {r.written} were written"
    if r.most_still >= MAX_STILL:
        f["updating"] = (
            f"the live view's record count stood still in {r.most_still} one-second samples in a row "
            f"({r.stale_samples} in all)"
        )
    r.live_values_mib = points(r.written) * 8 / 2**20
    grown = r.live_rss_written_mib - r.live_rss_start_mib
    if grown > VALUE_FACTOR * r.live_values_mib + ALLOWANCE_MIB:
        f["memory"] = (
            f"the live view grew {grown:.0f} MiB while {r.live_values_mib:.1f} MiB of values arrived "
            f"(limit {VALUE_FACTOR:g}x + {ALLOWANCE_MIB:g} MiB)"
        )
    if abs(r.live_rss_end_mib - r.live_rss_written_mib) > FLAT_MIB:
        f["flat"] = (
            f"with no new data the live view went from {r.live_rss_written_mib:.0f} to "
            f"{r.live_rss_end_mib:.0f} MiB over {RESIZES} resizes"
        )
    if r.stream_rss_end_mib - r.stream_rss_start_mib > ALLOWANCE_MIB:
        grew = r.stream_rss_end_mib - r.stream_rss_start_mib
        f["stream-memory"] = f"stream --follow grew {grew:.0f} MiB (it keeps nothing)"
    if r.live_cpu_share > live_cpu:
        f["cpu"] = f"the live view used {r.live_cpu_share:.0%} of a core while writing (limit {live_cpu:.0%})"
    if r.stream_cpu_share > 0.5:
        f["stream-cpu"] = f"stream --follow used {r.stream_cpu_share:.0%} of a core while writing (limit 50%)"
    if r.live_idle_cpu_share > IDLE_CPU:
        f["idle-cpu"] = (
            f"the idle live view used {r.live_idle_cpu_share:.0%} of a core (limit {IDLE_CPU:.0%})"
        )
    if r.stream_idle_cpu_share > 0.02:
        f["stream-idle-cpu"] = (
            f"an idle stream --follow used {r.stream_idle_cpu_share:.1%} of a core (limit 2%)"
        )
    if not r.resized_on_screen:
        f["resize"] = "after the resizes the live view did not show the record count"
    if r.live_exit != 0:
        f["live-exit"] = f"the live view exited with {r.live_exit} on q"
    if r.stream_exit != 0:
        f["stream-exit"] = f"stream --follow exited with {r.stream_exit} on SIGINT"


def summary_lines(r: Report) -> list[str]:
    return [
        f"{r.written} records written at {r.rate:g}/s for {r.duration:g} s",
        f"stream --follow: {r.streamed} records, max lag {r.max_stream_lag_s:.2f} s, "
        f"CPU {r.stream_cpu_share:.0%} (idle {r.stream_idle_cpu_share:.1%}), "
        f"RSS {r.stream_rss_start_mib:.0f} -> {r.stream_rss_end_mib:.0f} MiB",
        f"live view: {r.on_screen_final} records on screen, still in {r.stale_samples} samples "
        f"(at most {r.most_still} in a row), CPU "
        f"{r.live_cpu_share:.0%} (idle {r.live_idle_cpu_share:.1%}), RSS {r.live_rss_start_mib:.0f} -> "
        f"{r.live_rss_written_mib:.0f} MiB for {r.live_values_mib:.1f} MiB of values, "
        f"{r.live_rss_end_mib:.0f} MiB after {RESIZES} resizes",
        f"exits: live view {r.live_exit}, stream {r.stream_exit}",
        *(f"FAIL ({name}): {text}" for name, text in r.failures.items()),
        "ok" if not r.failures else f"{len(r.failures)} check(s) failed",
    ]


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(
        description="Soak test of the live view and stream --follow (see the module)."
    )
    p.add_argument("--duration", type=float, default=600.0, help="seconds of writing (default 600)")
    p.add_argument("--rate", type=float, default=1000.0, help="records a second (default 1000)")
    p.add_argument("--idle", type=float, default=5.0, help="seconds of nothing afterwards (default 5)")
    p.add_argument("--width", type=int, default=160, help="terminal columns (default 160)")
    p.add_argument("--height", type=int, default=48, help="terminal rows (default 48)")
    p.add_argument(
        "--live-cpu", type=float, default=0.8, help="CPU limit of the live view, of a core (default 0.8)"
    )
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = p.parse_args(argv)
    if shutil.which("tmux") is None or not os.path.isdir("/proc/self"):
        print("error: the soak test needs tmux and /proc", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="detr-watch-soak-") as tmp:
        report = soak(args, Path(tmp))
    print(json.dumps(asdict(report)) if args.json else "\n".join(summary_lines(report)))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
