"""Every way out leaves the terminal as it was and says how it ended, in the conventional status.

Already covered in tests/test_e2e_tmux.py: `q` and Ctrl-C exit 0, SIGTERM exits 143, each with the
terminal restored; in tests/test_stream_follow.py: `stream --follow` exits 0 on SIGINT and SIGTERM.
Here: SIGHUP, a dropped SSH session (the terminal itself goes away), errors and crashes inside the
live view, one-shot commands interrupted, and readers that go away.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tmux import Pane, detr_watch_argv

from detr_watch.demo import epoch_record

WAIT = 20.0


def write_log(path: Path, epochs: int) -> None:
    import random

    rng = random.Random(3)
    with open(path, "w", encoding="utf-8") as f:
        for e in range(epochs):
            f.write(json.dumps(epoch_record(e, rng)) + "\n")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.txt"
    write_log(path, 3)
    return path


def wait_until(predicate: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Poll a condition of another process (a file appearing, a process ending) with a deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sighup_restores_the_terminal_and_exits_129(log: Path, tmp_path: Path, panes: list[Pane]) -> None:
    pane = Pane(detr_watch_argv(str(log)), width=100, height=30, cwd=tmp_path)
    panes.append(pane)
    pane.wait_for(lambda s: "epoch 2" in s, what="the first frame")
    os.kill(pane.program_pid(), signal.SIGHUP)
    assert pane.wait_exit() == 128 + signal.SIGHUP


# The session leader of an SSH login: on hangup the shell gets SIGHUP and sends it on to its jobs
# (as bash does), then records how the job ended. The job keeps the (now dead) terminal.
_LOGIN_SHELL = textwrap.dedent(
    """
    import signal, subprocess, sys
    status, err = sys.argv[1], sys.argv[2]
    with open(err, "w") as stderr:
        job = subprocess.Popen(sys.argv[3:], stderr=stderr)
        signal.signal(signal.SIGHUP, lambda s, f: job.send_signal(signal.SIGHUP))
        code = job.wait()
    with open(status + ".tmp", "w") as f:
        f.write(str(code))
    import os
    os.replace(status + ".tmp", status)
    """
)


def test_ssh_dropped_exits_129_quietly(log: Path, tmp_path: Path, panes: list[Pane]) -> None:
    status, err = tmp_path / "status", tmp_path / "stderr"
    login = [sys.executable, "-c", _LOGIN_SHELL, str(status), str(err), *detr_watch_argv(str(log))]
    pane = Pane(login, width=100, height=30, cwd=tmp_path)
    panes.append(pane)
    pane.wait_for(lambda s: "epoch 2" in s, what="the first frame")
    pane.kill()  # the SSH connection drops: the terminal is hung up
    wait_until(status.exists, "the program to end after the hangup")
    print(err.read_text())
    assert int(status.read_text()) == 128 + signal.SIGHUP
    assert err.read_text() == ""


def test_a_terminal_gone_without_sighup_ends_the_view(log: Path, tmp_path: Path, panes: list[Pane]) -> None:
    # A session leader that ignores SIGHUP (nohup, some multiplexers): the view only sees its terminal
    # fail. It must end, not spin on a dead terminal or stay behind forever.
    status, err = tmp_path / "status", tmp_path / "stderr"
    program = " ".join(shlex.quote(a) for a in detr_watch_argv(str(log)))
    script = f"trap '' HUP; {program} 2>{shlex.quote(str(err))}; echo $? > {shlex.quote(str(status))}"
    pane = Pane(["sh", "-c", script], width=100, height=30, cwd=tmp_path)
    panes.append(pane)
    pane.wait_for(lambda s: "epoch 2" in s, what="the first frame")
    pane.kill()
    wait_until(lambda: status.exists() and status.read_text().strip() != "", "the program to end")
    print(err.read_text())
    assert int(status.read_text()) == 128 + signal.SIGHUP
    assert err.read_text() == ""


def test_an_error_inside_the_live_view_is_printed_after_the_terminal_is_restored(
    log: Path, tmp_path: Path, panes: list[Pane]
) -> None:
    pane = Pane(detr_watch_argv(str(log)), width=100, height=30, cwd=tmp_path)
    panes.append(pane)
    pane.wait_for(lambda s: "epoch 2" in s, what="the first frame")
    os.rename(log, tmp_path / "log.txt.1")
    log.mkdir()  # the log's name now holds a folder: nothing to follow any more
    assert pane.wait_exit() == 1
    screen = pane.screen()
    print(screen)
    # Printed on the main screen, after the alternate screen was left: a message printed before
    # would have vanished with the alternate screen.
    assert "error: " in screen and "log.txt" in screen
    assert "Traceback" not in screen


_CRASHING_VIEW = textwrap.dedent(
    """
    import sys
    from detr_watch.render import screen

    painted = []
    show = screen.Screen.show

    def crash_on_the_second_frame(self, renderable):
        painted.append(1)
        if len(painted) == 2:
            raise RuntimeError("a renderer failed")
        show(self, renderable)

    screen.Screen.show = crash_on_the_second_frame
    from detr_watch.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_a_crash_inside_the_live_view_is_printed_after_the_terminal_is_restored(
    log: Path, tmp_path: Path, panes: list[Pane]
) -> None:
    # No log makes the view crash (that is the point of the other tests), so the test replaces the
    # painter with one that fails on the second frame (the "last record 1s ago" tick brings it).
    pane = Pane([sys.executable, "-c", _CRASHING_VIEW, str(log)], width=100, height=30, cwd=tmp_path)
    panes.append(pane)
    assert pane.wait_exit() == 70
    screen = pane.screen()
    print(screen)
    assert "error: internal error: RuntimeError: a renderer failed" in screen
    assert "hint: rerun with --traceback" in screen


def big_log(path: Path, epochs: int, timed: bool = False) -> Path:
    """A log.txt of `epochs` lines; `timed` adds DINO's `now_time` string, which keeps every line on
    the JSON path (the compiled reader reads a big tail in a few ms: a command would be done
    before a signal could reach it)."""
    with open(path, "w", encoding="utf-8") as f:
        for e in range(epochs):
            stamp = f', "now_time": "2023-10-17 18:{e // 60 % 60:02d}:{e % 60:02d}"' if timed else ""
            f.write(f'{{"train_loss": {1 + 1 / (e + 1)!r}, "train_class_error": 3.5{stamp}, "epoch": {e}}}\n')
    return path


def has_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize(
    "command", [("summary",), ("summary", "--json"), ("--once",), ("export", "--csv", "-")]
)
def test_interrupted_one_shot_commands_exit_130(tmp_path: Path, command: tuple[str, ...]) -> None:
    path = big_log(tmp_path / "log.txt", 300_000, timed=command == ("--once",))
    proc = subprocess.Popen(
        [sys.executable, "-m", "detr_watch", *command, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: has_open(proc.pid, path) or proc.poll() is not None, "the log to be opened")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(repr(err))
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_interrupted_stream_exits_130(tmp_path: Path) -> None:
    path = big_log(tmp_path / "log.txt", 100_000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "detr_watch", "stream", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        json.loads(proc.stdout.readline())  # it is writing; with nobody reading, the pipe fills
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert len(out.splitlines()) < 100_000 - 1
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


@pytest.mark.parametrize(
    "command", [("stream",), ("stream", "--follow"), ("summary",), ("summary", "--json"), ("--once",)]
)
def test_a_reader_that_goes_away_is_no_error(tmp_path: Path, command: tuple[str, ...]) -> None:
    path = big_log(tmp_path / "log.txt", 20_000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "detr_watch", *command, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline()  # `| head -1`
        proc.stdout.close()
        code = proc.wait(timeout=WAIT)
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(repr(err))
    assert code == 0 and err == ""


def run_script(tmp_path: Path, before: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """`detr_watch.cli.script()` (the console script's entry) after `before`, in a new interpreter."""
    code = textwrap.dedent(before) + f"\nimport sys\nsys.argv = {['detr-watch', *argv]!r}\n"
    code += "from detr_watch.cli import script\nscript()\n"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT, cwd=tmp_path
    )


# The console script skips the interpreter's teardown (40-50 ms) once the command is done: these
# say what it still does (exit code, output, exit handlers, waiting for threads) and that the
# teardown is indeed skipped.
TEARDOWN = """
import sys
class Teardown:
    def __del__(self):
        sys.stderr.write("teardown ran\\n")
kept = Teardown()
"""


def test_the_script_leaves_without_the_teardown_and_keeps_output_and_code(log: Path, tmp_path: Path) -> None:
    done = run_script(tmp_path, TEARDOWN, ["summary", "--json", str(log)])
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads(done.stdout)["records"] == 3  # all of it, flushed
    done = run_script(tmp_path, TEARDOWN, ["summary", str(tmp_path / "missing.txt")])
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: ") and "teardown ran" not in done.stderr


def test_the_script_runs_exit_handlers_and_waits_for_threads(log: Path, tmp_path: Path) -> None:
    handler = """
    import atexit, sys
    atexit.register(lambda: sys.stdout.write("handler ran\\n"))
    """
    done = run_script(tmp_path, handler, ["summary", "--json", str(log)])
    assert done.returncode == 0 and done.stdout.endswith("}\nhandler ran\n")
    thread = """
    import sys, threading, time
    def late():
        time.sleep(0.3)
        sys.stdout.write("thread done\\n")
    threading.Thread(target=late).start()
    """
    done = run_script(tmp_path, TEARDOWN + textwrap.dedent(thread), ["--version"])
    assert done.returncode == 0 and done.stdout.endswith("thread done\n")
    assert "teardown ran" in done.stderr  # a normal exit then, which waits for the thread


@pytest.mark.parametrize("given", [None, "3"])
def test_the_script_gives_openblas_one_thread_unless_told(tmp_path: Path, given: str | None) -> None:
    # numpy's OpenBLAS threads spin at start for nothing (no linear algebra here); a user's own
    # setting stands.
    before = f"""
    import atexit, os, sys
    os.environ.pop("OPENBLAS_NUM_THREADS", None)
    if {given!r} is not None:
        os.environ["OPENBLAS_NUM_THREADS"] = {given!r}
    atexit.register(lambda: sys.stdout.write("threads " + os.environ["OPENBLAS_NUM_THREADS"] + "\\n"))
    """
    done = run_script(tmp_path, before, ["--version"])
    assert done.returncode == 0 and done.stdout.endswith(f"threads {given or '1'}\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("unbuffered", [False, True])  # written at exit, or while the command runs
def test_output_to_a_full_disk_is_an_error(tmp_path: Path, unbuffered: bool) -> None:
    path = big_log(tmp_path / "log.txt", 3)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "detr_watch", "summary", "--json", str(path)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=WAIT,
            env=env,
        )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: cannot write the output: ") and "\nhint: " in done.stderr


def test_a_closed_stdout_is_no_crash(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "detr_watch", "--version"],
        stdout=subprocess.DEVNULL,
        close_fds=True,
        stderr=subprocess.PIPE,
        text=True,
        timeout=WAIT,
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr
