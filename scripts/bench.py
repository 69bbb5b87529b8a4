#!/usr/bin/env python3
"""detr-watch against the performance targets of issue #6, each as a ratio to its baseline in the same run.

    python scripts/bench.py                 # 300 MB console log, 20,000-line log.txt: a few minutes
    python scripts/bench.py --quick         # 30 MB and 5,000 lines: about a minute
    python scripts/bench.py --pandas-python /path/to/venv/bin/python   # pandas lives elsewhere

The logs are generated (scripts/gen_logs.py, deterministic) into bench-results/data and reused.
Timed rows run the tool and its baseline as separate processes of this Python, alternately, and
report medians; the table goes to stdout (plain and Markdown) and to bench-results/bench.json.
Nothing here is a pass/fail test of CI: the machine's load moves every number, the ratios less.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import gen_logs  # noqa: E402

if TYPE_CHECKING:
    from detr_watch.records import Record

PY = sys.executable
TOOL = [PY, "-m", "detr_watch"]
DEPS = "import numpy, orjson, plotext, rich.console, watchdog.observers"
HEAVY = ("plotext", "rich.live", "matplotlib", "pandas")
MB = 1_000_000


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


ENV = clean_env()


def run(cmd: Sequence[str]) -> float:
    """Seconds a command takes, start to exit (it must succeed)."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return took


def paired(cmd: Sequence[str], base: Sequence[str], runs: int) -> tuple[float, float]:
    """Medians of `cmd` and `base`, run alternately so that a load spike hits both alike."""
    run(cmd)  # warm the page cache and the bytecode cache
    run(base)
    a, b = [], []
    for _ in range(runs):
        a.append(run(cmd))
        b.append(run(base))
    return statistics.median(a), statistics.median(b)


def peak_rss_mb(cmd: Sequence[str]) -> float:
    """Peak resident memory of a command, from its own process accounting (getrusage of a child)."""
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "assert done.returncode == 0, done.returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([PY, "-c", probe, *cmd], capture_output=True, env=ENV, check=True)
    return int(out.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux


class Table:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        target: str,
        what: str,
        value: Optional[float],
        unit: str,
        baseline: str = "",
        base_value: Optional[float] = None,
        ratio: Optional[float] = None,
        limit: str = "",
        ok: Optional[bool] = None,
        note: str = "",
    ) -> None:
        row = dict(
            target=target,
            what=what,
            value=value,
            unit=unit,
            baseline=baseline,
            baseline_value=base_value,
            ratio=ratio,
            limit=limit,
            result="n/a" if ok is None else ("pass" if ok else "FAIL"),
            note=note,
        )
        self.rows.append(row)
        print(
            f"  {target:<12} {what:<48} {_num(value, unit):>10}  {_ratio(ratio):>7}  {limit:<10} "
            f"{row['result']}  {note}",
            flush=True,
        )

    def failed(self, target: str, what: str, exc: BaseException) -> None:
        self.add(target, what, None, "", ok=False, note=f"error: {type(exc).__name__}: {str(exc)[:200]}")


def _num(v: Optional[float], unit: str) -> str:
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:.3f} s"
    if unit == "ms":
        return f"{v:.1f} ms"
    if unit == "MB":
        return f"{v:.0f} MB"
    if unit == "%":
        return f"{v:.2f} %"
    return f"{v:g} {unit}".strip()


def _ratio(r: Optional[float]) -> str:
    return "-" if r is None else f"{r:.2f}x"


# --- the targets -------------------------------------------------------------------------------


def first_frame(t: Table, console_log: Path, runs: int) -> None:
    cmd = [*TOOL, "--once", "--width", "160", "--height", "48", str(console_log)]
    base = [PY, "-c", DEPS]
    ours, deps = paired(cmd, base, runs)
    r = ours / deps
    t.add(
        "first frame",
        f"--once 160x48, {_size(console_log)} console log",
        ours,
        "s",
        "import of the dependencies",
        deps,
        r,
        "<= 2x",
        r <= 2.0,
    )


def full_ingest(t: Table, console_log: Path, runs: int) -> None:
    cmd = [*TOOL, "summary", "--json", str(console_log)]
    base = [PY, "-c", f"for line in open({str(console_log)!r}, 'rb'): pass"]
    ours, loop = paired(cmd, base, runs)
    r = ours / loop
    t.add(
        "full ingest",
        f"summary --json, {_size(console_log)} console log",
        ours,
        "s",
        "for line in open(path, 'rb')",
        loop,
        r,
        "<= 10x",
        r <= 10.0,
    )


def logtxt_vs_pandas(t: Table, logtxt: Path, lines: int, runs: int, pandas_python: str) -> None:
    what = f"summary --json, {lines:,}-line log.txt"
    probe = subprocess.run([pandas_python, "-c", "import pandas"], capture_output=True)
    if probe.returncode != 0:
        ours = statistics.median(run([*TOOL, "summary", "--json", str(logtxt)]) for _ in range(runs))
        t.add(
            "log.txt",
            what,
            ours,
            "s",
            "pandas.read_json(lines=True)",
            note="skipped: pandas not installed (pip install pandas, or --pandas-python PATH)",
        )
        return
    base = [pandas_python, "-c", f"import pandas; pandas.read_json({str(logtxt)!r}, lines=True)"]
    ours, pandas = paired([*TOOL, "summary", "--json", str(logtxt)], base, runs)
    r = pandas / ours
    t.add(
        "log.txt",
        what,
        ours,
        "s",
        "pandas.read_json(lines=True)",
        pandas,
        r,
        ">= 5x faster",
        r >= 5.0,
        note=f"ratio = pandas / ours ({_version(pandas_python, 'pandas')})",
    )
    ours, pandas = paired([PY, "-c", INGEST, str(logtxt)], base, runs)
    r = pandas / ours
    t.add(
        "log.txt",
        f"read into the store only, {lines:,}-line log.txt",
        ours,
        "s",
        "pandas.read_json(lines=True)",
        pandas,
        r,
        ">= 5x faster",
        r >= 5.0,
        note="ratio = pandas / ours",
    )


INGEST = (
    "import sys\n"
    "from detr_watch.commands.common import load\n"
    "from detr_watch.pipeline import Source\n"
    "from detr_watch.store import SeriesStore\n"
    "load(Source(sys.argv[1]), SeriesStore())\n"
)


def ingest_only(t: Table, console_log: Path, runs: int) -> None:
    """The reading alone (tail, parse, store), without the statistics `summary` computes."""
    base = [PY, "-c", f"for line in open({str(console_log)!r}, 'rb'): pass"]
    ours, loop = paired([PY, "-c", INGEST, str(console_log)], base, runs)
    r = ours / loop
    t.add(
        "full ingest",
        f"read into the store only, {_size(console_log)} console log",
        ours,
        "s",
        "for line in open(path, 'rb')",
        loop,
        r,
        "<= 10x",
        r <= 10.0,
        note="what summary does before its statistics",
    )


def render(t: Table, console_log: Path, short_log: Path, frames: int) -> None:
    """One dashboard frame at 160x48, in process: after a new record (charts rebuilt) and unchanged."""
    for log in (short_log, console_log):
        _render_log(t, log, frames)


def _render_log(t: Table, log: Path, frames: int) -> None:
    from rich.console import Console

    from detr_watch.commands.common import load
    from detr_watch.pipeline import Source
    from detr_watch.render.dashboard import Dashboard
    from detr_watch.store import SeriesStore
    from detr_watch.view import View

    store = SeriesStore()
    source = Source(log)
    load(source, store)
    source.close()
    points = max(len(s) for s in store.snapshot().series.values())
    buf = io.StringIO()
    console = Console(file=buf, width=160, height=48, force_terminal=True, color_system="256")
    view = View(title=str(log))

    def frame() -> float:
        buf.seek(0)
        buf.truncate()
        t0 = time.perf_counter()
        console.print(Dashboard(store.snapshot(), view, time.time()), height=48, crop=True)
        return (time.perf_counter() - t0) * 1000

    frame()  # the first frame also builds caches that live as long as the process
    fresh, same = [], []
    for k in range(frames):
        last = store.snapshot().last_record
        assert last is not None
        store.append([_next_record(last, k)])  # a new record: charts change
        fresh.append(frame())
        same.append(frame())  # nothing changed: the "N ago" clock or a key
    f, s = statistics.median(fresh), statistics.median(same)
    p95 = sorted(fresh)[int(0.95 * (len(fresh) - 1))]
    t.add(
        "render",
        f"frame after a new record, {points:,} points/series",
        f,
        "ms",
        limit="<= 30 ms",
        ok=f <= 30.0,
        note=f"p95 {p95:.0f} ms",
    )
    t.add(
        "render", f"frame, nothing changed, {points:,} points/series", s, "ms", limit="<= 30 ms", ok=s <= 30.0
    )


def _next_record(last: Record, k: int) -> Record:
    """The record after `last` as training writes it: every value moved by up to +-20 %
    (deterministic), the learning rate as it was. Appending an exact copy would understate the cost:
    a copy often lands on pixels already drawn, so its charts need no rebuild."""
    metrics = {
        name: v if "lr" in name else v * (1.0 + 0.2 * math.sin(7.0 * k + i))
        for i, (name, v) in enumerate(last.metrics.items())
    }
    return last._replace(step=last.step + 1, epoch=None, metrics=metrics)


def latency(t: Table, poll: bool, lines: int) -> None:
    """From a line appended to a log.txt to its record out of `stream --follow` (read from the pipe)."""
    with tempfile.TemporaryDirectory(prefix="detr-bench-") as tmp:
        log = Path(tmp) / "log.txt"
        log.write_text("".join(json.dumps({"train_loss": 1.0, "epoch": i}) + "\n" for i in range(3)))
        cmd = [*TOOL, "stream", "--follow", *(["--poll"] if poll else []), str(log)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV, bufsize=0)
        assert proc.stdout is not None
        out = proc.stdout
        try:
            for _ in range(3):
                _readline(out, 30.0)
            delays = []
            with open(log, "a") as f:
                for i in range(3, 3 + lines):
                    time.sleep(0.05 + (i % 7) * 0.02)  # not in step with any poll
                    t0 = time.perf_counter()
                    f.write(json.dumps({"train_loss": 1.0 / i, "epoch": i}) + "\n")
                    f.flush()
                    _readline(out, 10.0)
                    delays.append((time.perf_counter() - t0) * 1000)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    delays.sort()
    med, p95 = statistics.median(delays), delays[int(0.95 * (len(delays) - 1))]
    if poll:
        t.add(
            "latency",
            f"stream --follow --poll, {lines} lines: p95",
            p95,
            "ms",
            limit="<= 1200 ms",
            ok=p95 <= 1200,
            note=f"median {med:.0f} ms; the poll interval is 1 s",
        )
    else:
        t.add(
            "latency",
            f"stream --follow (inotify), {lines} lines: median",
            med,
            "ms",
            limit="<= 50 ms",
            ok=med <= 50,
        )
        t.add(
            "latency",
            f"stream --follow (inotify), {lines} lines: p95",
            p95,
            "ms",
            limit="<= 200 ms",
            ok=p95 <= 200,
        )


def _readline(out: Any, timeout: float) -> bytes:
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(out, selectors.EVENT_READ)
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        if not sel.select(max(0.0, deadline - time.monotonic())):
            raise TimeoutError("no record out of stream --follow")
        chunk = out.read(1)
        if not chunk:
            raise EOFError("stream --follow ended")
        line += chunk
    sel.close()
    return bytes(line)


def idle(t: Table, log: Path, seconds: float) -> None:
    """CPU of the live view in a real terminal (tmux) on a log that does not change."""
    if shutil.which("tmux") is None:
        t.add("idle", "live view on an unchanging log", None, "%", note="skipped: tmux not installed")
        return
    sock = f"detr-bench-{os.getpid()}"
    tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
    command = " ".join([*map(_quote, TOOL), _quote(str(log))])
    env = {**ENV, "TERM": "xterm-256color"}
    subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "48", command], env=env, check=True)
    try:
        pid = int(
            subprocess.run(
                [*tmux, "list-panes", "-F", "#{pane_pid}"], capture_output=True, text=True, check=True
            ).stdout.split()[0]
        )
        pid = _python_child(pid)
        deadline = time.monotonic() + 120
        busy = 100.0
        while busy > 1.0 and time.monotonic() < deadline:  # until the history is read and drawn
            busy = _cpu_percent(pid, 1.0)
        cpu = _cpu_percent(pid, seconds)
        t.add(
            "idle",
            f"live view (tmux 160x48), {_size(log)} log, {seconds:.0f} s",
            cpu,
            "%",
            limit="<= 1 %",
            ok=cpu <= 1.0,
            note="utime+stime from /proc/PID/stat",
        )
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def _python_child(pid: int) -> int:
    """The python process of a tmux pane (the pane may run it through a shell)."""
    for _ in range(50):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"detr_watch" in cmdline:
            return pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if children:
            pid = int(children[0])
            continue
        time.sleep(0.1)
    return pid


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))


def _cpu_percent(pid: int, seconds: float) -> float:
    hz = os.sysconf("SC_CLK_TCK")
    a, t0 = _cpu_ticks(pid), time.monotonic()
    time.sleep(seconds)
    b, t1 = _cpu_ticks(pid), time.monotonic()
    return 100.0 * (b - a) / hz / (t1 - t0)


def memory(t: Table, console_log: Path) -> None:
    rss = peak_rss_mb([*TOOL, "summary", "--json", str(console_log)])
    t.add(
        "memory",
        f"peak RSS, summary --json, {_size(console_log)} console log",
        rss,
        "MB",
        limit="<= 200 MB",
        ok=rss <= 200,
    )
    rss = peak_rss_mb([PY, "-c", INGEST, str(console_log)])
    t.add(
        "memory",
        f"peak RSS, read into the store only, {_size(console_log)}",
        rss,
        "MB",
        limit="<= 200 MB",
        ok=rss <= 200,
    )


def imports(t: Table, runs: int) -> None:
    probe = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "import detr_watch.cli, detr_watch.commands.summary\n"
        "print(time.perf_counter() - t)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([PY, "-c", probe], capture_output=True, text=True, env=ENV, check=True).stdout.split(
        "\n"
    )
    seconds, heavy = float(out[0]), out[1]
    t.add(
        "import",
        "import detr_watch.cli + commands.summary",
        seconds * 1000,
        "ms",
        limit="no " + "/".join(HEAVY),
        ok=not heavy,
        note=f"loaded: {heavy}" if heavy else "none of them loaded",
    )
    ours, bare = paired([*TOOL, "--version"], [PY, "-c", "pass"], runs)
    t.add(
        "import", "detr-watch --version", ours, "s", "python -c pass", bare, ours / bare, note="whole process"
    )


def scaling(
    console_sizes: Sequence[Path], series_logs: Sequence[tuple[int, Path]], runs: int
) -> dict[str, Any]:
    """Full-ingest time and peak memory at three sizes, and at three numbers of series."""
    out: dict[str, Any] = {"size": [], "series": []}
    print(f"\nscaling (median of {runs}): summary --json | read into the store only")

    def measure(log: Path) -> dict[str, float]:
        summary = [*TOOL, "summary", "--json", str(log)]
        ingest = [PY, "-c", INGEST, str(log)]
        return {
            "mb": log.stat().st_size / MB,
            "seconds": statistics.median(run(summary) for _ in range(runs)),
            "rss_mb": peak_rss_mb(summary),
            "ingest_seconds": statistics.median(run(ingest) for _ in range(runs)),
            "ingest_rss_mb": peak_rss_mb(ingest),
        }

    def show(label: str, m: dict[str, float]) -> None:
        print(
            f"  {label:>22}: {m['seconds']:6.2f} s {m['rss_mb']:5.0f} MB | "
            f"{m['ingest_seconds']:6.2f} s {m['ingest_rss_mb']:5.0f} MB"
        )

    for log in console_sizes:
        out["size"].append(measure(log))
        show(_size(log), out["size"][-1])
    for n_series, log in series_logs:
        out["series"].append({"series": n_series, **measure(log)})
        show(f"{n_series} series, {_size(log)}", out["series"][-1])
    for key, x in (("size", "mb"), ("series", "series")):
        pts = out[key]
        if len(pts) >= 2:
            out[f"{key}_fit"] = {
                y: _fit([p[x] for p in pts], [p[y] for p in pts])
                for y in ("seconds", "rss_mb", "ingest_seconds", "ingest_rss_mb")
            }
    return out


def _fit(x: Sequence[float], y: Sequence[float]) -> dict[str, float]:
    """Least-squares line y = a + b x."""
    mx, my = statistics.fmean(x), statistics.fmean(y)
    sxx = sum((a - mx) ** 2 for a in x)
    b = sum((a - mx) * (c - my) for a, c in zip(x, y)) / sxx if sxx else 0.0
    return {"intercept": my - b * mx, "slope": b}


# --- logs, machine, output ----------------------------------------------------------------------


def _size(path: Path) -> str:
    return f"{path.stat().st_size / MB:.0f} MB"


def _version(python: str, module: str) -> str:
    out = subprocess.run(
        [python, "-c", f"import {module}; print({module}.__version__)"], capture_output=True, text=True
    )
    return f"{module} {out.stdout.strip()}" if out.returncode == 0 else module


def cached(path: Path, make: Callable[[Path], Any]) -> Path:
    if not path.exists():
        tmp = path.with_suffix(".partial")
        t0 = time.perf_counter()
        make(tmp)
        tmp.rename(path)
        print(f"  generated {path.name} ({_size(path)}) in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


def machine() -> dict[str, Any]:
    import numpy

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "orjson": _version(PY, "orjson").split(" ")[-1],
        "plotext": _version(PY, "plotext").split(" ")[-1],
    }


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| target | measured | value | baseline | ratio | limit | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = r["baseline"]
        if r["baseline_value"] is not None:
            base += f" ({_num(r['baseline_value'], r['unit'])})"
        what = r["what"] + (f"; {r['note']}" if r["note"] else "")
        lines.append(
            f"| {r['target']} | {what} | {_num(r['value'], r['unit'])} | {base} | "
            f"{_ratio(r['ratio'])} | {r['limit']} | {r['result']} |"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller logs and fewer runs (about a minute)")
    p.add_argument("--console-mb", type=float, help="console log size (default 300, --quick 30)")
    p.add_argument("--logtxt-lines", type=int, help="log.txt lines (default 20000, --quick 5000)")
    p.add_argument("--runs", type=int, help="runs per timed row, median reported (default 5, --quick 3)")
    p.add_argument("--pandas-python", default=PY, help="a Python with pandas for the log.txt baseline")
    p.add_argument("--data", type=Path, default=ROOT / "bench-results" / "data", help="where the logs go")
    p.add_argument("--json", type=Path, default=ROOT / "bench-results" / "bench.json", help="the results")
    p.add_argument("--skip", default="", help="comma-separated targets to leave out, e.g. idle,latency")
    args = p.parse_args(argv)
    quick = args.quick
    console_mb = args.console_mb or (30.0 if quick else 300.0)
    lines = args.logtxt_lines or (5000 if quick else 20000)
    runs = args.runs or (3 if quick else 5)
    skip = set(filter(None, args.skip.split(",")))
    args.data.mkdir(parents=True, exist_ok=True)
    v = "v1"  # bump when gen_logs changes its output

    print(f"logs in {args.data}")
    console_log = cached(
        args.data / f"console_{console_mb:g}MB_{v}.log",
        lambda q: gen_logs.write_console(q, int(console_mb * MB)),
    )
    short_log = cached(args.data / f"console_2MB_{v}.log", lambda q: gen_logs.write_console(q, 2 * MB))
    logtxt = cached(
        args.data / f"logtxt_{lines}_{v}.txt", lambda q: gen_logs.write_logtxt(q, lines, nan_every=1000)
    )
    sizes = [console_mb / 10, console_mb / 3, console_mb]
    size_logs = [
        console_log
        if mb == console_mb
        else cached(
            args.data / f"console_{mb:g}MB_{v}.log", lambda q, mb=mb: gen_logs.write_console(q, int(mb * MB))
        )
        for mb in sizes
    ]
    series_mb = sizes[1]
    series_logs = []
    for aux in (2, 5, 11):
        n = 2 + 7 * (aux + 1) + 2  # the loss dict, lr and class_error; time and data are series too
        path = args.data / f"console_{series_mb:g}MB_aux{aux}_{v}.log"
        series_logs.append(
            (n, cached(path, lambda q, aux=aux: gen_logs.write_console(q, int(series_mb * MB), aux=aux)))
        )

    # An installed package has its bytecode compiled (pip does it); an editable checkout run with
    # PYTHONDONTWRITEBYTECODE would compile every module in every process and time that instead.
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "detr_watch")], check=True)
    info = machine()
    print(
        f"\n{info['cpu']}, {info['cores']} cores, load {info['load_average'][0]:.2f}, Python {info['python']}"
    )
    print(f"\n  {'target':<12} {'measured':<48} {'value':>10}  {'ratio':>7}  {'limit':<10} result")
    t = Table()
    steps: list[tuple[str, str, Callable[[], None]]] = [
        ("first", "first frame", lambda: first_frame(t, console_log, runs)),
        ("ingest", "full ingest", lambda: full_ingest(t, console_log, runs)),
        ("ingest", "ingest only", lambda: ingest_only(t, console_log, runs)),
        ("logtxt", "log.txt", lambda: logtxt_vs_pandas(t, logtxt, lines, runs, args.pandas_python)),
        ("render", "render", lambda: render(t, console_log, short_log, 10 if quick else 20)),
        ("latency", "latency", lambda: latency(t, False, 20 if quick else 40)),
        ("latency", "latency --poll", lambda: latency(t, True, 8 if quick else 15)),
        ("idle", "idle", lambda: idle(t, size_logs[0], 5.0 if quick else 10.0)),
        ("memory", "memory", lambda: memory(t, console_log)),
        ("import", "import", lambda: imports(t, runs)),
    ]
    for key, name, step in steps:
        if key in skip:
            continue
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - one broken measurement must not hide the others
            t.failed(name, "", exc)
    scale = scaling(size_logs, series_logs, 1 if quick else 3) if "scaling" not in skip else {}
    info["load_average_end"] = os.getloadavg()
    command = "python scripts/bench.py" + (" --quick" if quick else "")
    result = {
        "command": command,
        "machine": info,
        "console_mb": console_mb,
        "logtxt_lines": lines,
        "runs": runs,
        "rows": t.rows,
        "scaling": scale,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print("\n" + markdown(t.rows))
    print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
