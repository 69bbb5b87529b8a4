"""The tool only reads: it never writes to, locks or holds open for writing a file it watches, and
opens nothing but the path it was given (or, given a folder, files inside that folder).

Every system call that opens, writes, locks, renames, truncates or deletes is recorded with strace
(`-y` names the file behind each descriptor), for the one-shot commands, for `stream --follow` and
for the live view in a real terminal while the log is rotated under them. While they run, their
open descriptors and the kernel's lock table are looked at too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from tmux import Pane, detr_watch_argv

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")

TRACED = (
    "open,openat,openat2,creat,truncate,ftruncate,rename,renameat,renameat2,unlink,unlinkat,rmdir,"
    "mkdir,mkdirat,symlink,symlinkat,link,linkat,chmod,fchmod,fchmodat,chown,fchown,fchownat,lchown,"
    "utime,utimes,utimensat,futimesat,setxattr,fsetxattr,lsetxattr,flock,fcntl,"
    "write,pwrite64,writev,pwritev,pwritev2,sendfile,copy_file_range,fallocate,mmap"
)
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
CHANGES = {
    "truncate", "ftruncate", "rename", "renameat", "renameat2", "unlink", "unlinkat", "rmdir", "mkdir",
    "mkdirat", "symlink", "symlinkat", "link", "linkat", "chmod", "fchmod", "fchmodat", "chown", "fchown",
    "fchownat", "lchown", "utime", "utimes", "utimensat", "futimesat", "setxattr", "fsetxattr",
    "lsetxattr", "write", "pwrite64", "writev", "pwritev", "pwritev2", "sendfile", "copy_file_range",
    "fallocate",
}  # fmt: skip
_CALL = re.compile(r"^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?:<(.*?)>)?")
_PATH_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')
_FD_PATH = re.compile(r"\d+<(.*?)>")


@dataclass
class Call:
    name: str
    args: str
    result: str
    opened: str  # the file behind a returned descriptor ("" when none)

    def paths(self) -> list[str]:
        """Every file this call names: quoted paths and the files behind descriptor arguments."""
        return _PATH_ARG.findall(self.args) + _FD_PATH.findall(self.args)


def read_trace(path: Path) -> list[Call]:
    calls = []
    for line in path.read_text(errors="replace").splitlines():
        m = _CALL.match(line)
        if m:
            calls.append(Call(m.group(1), m.group(2), m.group(3), m.group(4) or ""))
    return calls


def strace(trace: Path) -> list[str]:
    return [
        "strace",
        "-f",
        "-y",
        "-qq",
        "-s",
        "0",
        "-e",
        "signal=none",
        "-e",
        f"trace={TRACED}",
        "-o",
        str(trace),
    ]


def inside(path: str, area: Path) -> bool:
    p = os.path.normpath(path)
    return p == str(area) or p.startswith(str(area) + os.sep)


def check_trace(calls: Sequence[Call], area: Path, allowed: set[Path]) -> None:
    """Nothing under `area` was changed, locked or opened for writing; files opened there are in `allowed`."""
    opened = set()
    for c in calls:
        names = c.paths() + ([c.opened] if c.opened else [])
        mine = [p for p in names if inside(p, area)]
        if c.name in ("flock",) or (c.name == "fcntl" and re.search(r"F_(OFD_)?SETLKW?\b", c.args)):
            raise AssertionError(f"a lock was taken: {c}")
        if not mine:
            continue
        assert c.name not in CHANGES, f"changed a file it watches: {c}"
        if c.name == "mmap":
            assert "PROT_WRITE" not in c.args or "MAP_PRIVATE" in c.args, f"a writable shared map: {c}"
        if c.name in ("open", "openat", "openat2", "creat"):
            flags = set(re.findall(r"O_[A-Z]+", c.args))
            assert c.name != "creat" and not flags & set(WRITE_FLAGS), f"opened for writing: {c}"
            if c.opened and "O_DIRECTORY" not in flags:
                opened.add(Path(c.opened))
    stray = {p for p in opened if p not in allowed}
    assert not stray, f"opened files it was not given: {sorted(map(str, stray))}"
    assert opened, "the trace saw the log opened: the check is not vacuous"


def write_log(path: Path, epochs: range) -> None:
    with open(path, "a", encoding="utf-8") as f:
        for e in epochs:
            f.write(json.dumps({"train_loss": 2.0 - 0.1 * e, "test_loss": 2.2 - 0.1 * e, "epoch": e}) + "\n")


@dataclass
class Area:
    root: Path  # everything the test made; nothing under it may change except by the test
    log: Path
    secret: Path  # a log outside the folder, reachable through a symlink inside it


@pytest.fixture
def area(tmp_path: Path) -> Area:
    root = tmp_path / "area"
    folder = root / "output"
    folder.mkdir(parents=True)
    log = folder / "log.txt"
    write_log(log, range(0, 5))
    write_log(folder / "log.txt.1", range(0, 2))  # an older rotated log
    (folder / "notes.md").write_text("lr 1e-4\n")
    secret = root / "elsewhere" / "log.txt"
    secret.parent.mkdir()
    write_log(secret, range(0, 3))
    (folder / "linked.log").symlink_to(secret)  # a log elsewhere, linked into the folder
    return Area(root, log, secret)


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.relpath(os.path.join(dirpath, name), root)] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


def run_traced(args: Sequence[str], trace: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*strace(trace), sys.executable, "-m", "detr_watch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.mark.parametrize(
    "command",
    [("stream",), ("summary",), ("summary", "--json"), ("--once",), ("export", "--csv", "-")],
    ids=["stream", "summary", "summary-json", "once", "export"],
)
def test_one_shot_commands_only_read_the_log(area: Area, tmp_path: Path, command: tuple[str, ...]) -> None:
    before = snapshot(area.root)
    trace = tmp_path / "trace"
    proc = run_traced([*command, str(area.log)], trace, tmp_path)
    assert proc.returncode == 0, proc.stderr
    check_trace(read_trace(trace), area.root, {area.log})
    assert snapshot(area.root) == before


def test_a_symlinked_log_is_read_where_it_points(area: Area, tmp_path: Path) -> None:
    link = area.log.parent / "linked.log"
    trace = tmp_path / "trace"
    proc = run_traced(["stream", str(link)], trace, tmp_path)
    assert proc.returncode == 0, proc.stderr
    check_trace(read_trace(trace), area.root, {area.secret})


def test_a_folder_is_read_only_inside_itself(area: Area, tmp_path: Path) -> None:
    # Given a folder, the tool may look at the files inside it, and nothing outside: the symlink to a
    # log elsewhere is not followed. (Where folders are not supported, it is a one-line error.)
    before = snapshot(area.root)
    trace = tmp_path / "trace"
    proc = run_traced(["--once", str(area.log.parent)], trace, tmp_path)
    calls = read_trace(trace)
    if proc.returncode != 0:
        assert proc.stderr.startswith("error: ") and "directory" in proc.stderr, proc.stderr
        return
    folder = area.log.parent
    check_trace(calls, area.root, {p for p in folder.iterdir() if not p.is_symlink()})
    assert snapshot(area.root) == before


def fds_and_locks(pid: int, area: Path) -> list[str]:
    """What is wrong right now with `pid`'s descriptors into `area` and the locks on files there."""
    wrong = []
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
        except OSError:
            continue
        if not inside(target.removesuffix(" (deleted)"), area):
            continue
        flags = int(re.search(r"flags:\s+(\d+)", info).group(1), 8)  # type: ignore[union-attr]
        if flags & os.O_ACCMODE != os.O_RDONLY or flags & (os.O_APPEND | os.O_CREAT | os.O_TRUNC):
            wrong.append(f"fd {fd} -> {target} open with flags {flags:o}")
        ino = re.search(r"ino:\s+(\d+)", info)
        if ino:
            inodes.add(int(ino.group(1)))
    for line in Path("/proc/locks").read_text().splitlines():
        # "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF": the inode is the last part of the third field
        parts = line.split()
        dev_ino = next((p for p in parts if p.count(":") == 2), "")
        if dev_ino and int(dev_ino.rsplit(":", 1)[1]) in inodes:
            wrong.append(f"a lock on a watched file: {line}")
    return wrong


def child_pid(parent: int) -> int:
    """The traced program: strace's child."""
    out = subprocess.run(
        ["pgrep", "-P", str(parent)], capture_output=True, text=True, timeout=10
    ).stdout.split()
    return int(out[0])


def rotate(log: Path) -> None:
    """logrotate's default: rename the log away, a new one under the name."""
    os.replace(log.parent / "log.txt.1", log.parent / "log.txt.2")
    os.rename(log, log.parent / "log.txt.1")
    write_log(log, range(0, 2))


def test_stream_follow_only_reads_across_a_rotation(area: Area, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    proc = subprocess.Popen(
        [*strace(trace), sys.executable, "-m", "detr_watch", "stream", "--follow", "--poll", str(area.log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        for _ in range(5):
            proc.stdout.readline()
        program = child_pid(proc.pid)
        assert fds_and_locks(program, area.root) == []
        rotate(area.log)
        for _ in range(2):
            assert json.loads(proc.stdout.readline())["run"] == 1
        assert fds_and_locks(program, area.root) == []
        write_log(area.log, range(2, 3))
        assert json.loads(proc.stdout.readline())["step"] == 2
        os.kill(program, 15)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check_trace(read_trace(trace), area.root, {area.log})


def test_live_view_only_reads_across_a_rotation(area: Area, tmp_path: Path, panes: list[Pane]) -> None:
    trace = tmp_path / "trace"
    argv = [*strace(trace), *detr_watch_argv(str(area.log))]
    pane = Pane(argv, width=120, height=40, cwd=tmp_path)
    panes.append(pane)
    pane.wait_for(lambda s: "epoch 4" in s, what="the first frame")
    program = child_pid(pane.program_pid())
    assert fds_and_locks(program, area.root) == []
    rotate(area.log)
    pane.wait_for(lambda s: "7 records" in s, what="the rotated log's records")
    assert fds_and_locks(program, area.root) == []
    pane.keys("q")
    assert pane.wait_exit() == 0
    check_trace(read_trace(trace), area.root, {area.log})


@pytest.mark.parametrize(
    "code",
    [
        "open(LOG, 'a').write('x')",
        "import fcntl; fcntl.flock(open(LOG), fcntl.LOCK_SH)",
        "import os; os.utime(LOG)",
        "open(LOG.replace('log.txt', 'notes.md')).read()",
    ],
    ids=["append", "flock", "utime", "another-file"],
)
def test_the_trace_check_sees_what_it_forbids(area: Area, tmp_path: Path, code: str) -> None:
    trace = tmp_path / "trace"
    subprocess.run(
        [*strace(trace), sys.executable, "-c", f"LOG = {str(area.log)!r}; open(LOG).read(); {code}"],
        check=True,
        timeout=60,
    )
    with pytest.raises(AssertionError):
        check_trace(read_trace(trace), area.root, {area.log})
