"""A log cannot control the terminal: names and file names are shown as text, never as codes.

Metric names in a JSON log can hold any character (JSON escapes make them from plain ASCII), so
a log can carry ESC, BEL, C1 codes, line separators, bidi overrides and rich markup. Each face of
the program is run for real on such a log: the frame printed into a pipe (plain, coloured, ASCII),
the summary, the JSON outputs, error lines, and the live view in a real terminal (tmux).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from rich.cells import cell_len
from tmux import Pane, detr_watch_argv

from detr_watch.text import clean

# What a hostile (or merely careless) log can put into a name, and what it would do to a terminal.
HOSTILE = {
    "clear": "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "title": "\x1b]0;PWNED\x07",  # retitle the window (OSC 0, BEL-terminated)
    "title2": "\x1b]2;PWNED\x1b\\",  # the same, ST-terminated
    "link": "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",  # a hyperlink (OSC 8)
    "c1csi": "\x9b2J",  # CSI as one C1 code
    "c1osc": "\x9d0;PWNED\x9c",  # OSC ... ST as C1 codes
    "bell": "\x07\x07",
    "nul": "a\x00b",
    "backspace": "ab\x08\x08XY",  # overwrite what is shown
    "cr": "ok\rEVIL",
    "newline": "a\nb",
    "tab": "a\tb",
    "del": "a\x7fb",
    "linesep": "a\u2028b\u2029c",
    "bidi": "\u202egnp.exe",  # shows as "exe.png"
    "markup": "[bold red]x[/]",
    "linkmarkup": "[link=https://evil.example/]x[/link]",
    "emoji": ":smile:",
}
# With a split prefix a name becomes a chart title and a table row; without one, also a legend label.
NAMES = [f"train_{key}_{value}" for key, value in HOSTILE.items()]
NAMES += [f"{key}_{HOSTILE[key]}" for key in ("title", "link", "c1osc", "markup", "bidi")]
SGR = re.compile("\x1b\\[[0-9;]*m")
BIDI = {"\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}


def unsafe(text: str) -> list[str]:
    """The characters in `text` that a terminal would act on (newlines between lines excepted)."""
    return sorted(
        {repr(c) for c in text if (unicodedata.category(c) in ("Cc", "Zl", "Zp") and c != "\n") or c in BIDI}
    )


def write_log(path: Path, epochs: int = 4) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for e in range(epochs):
            obj = {name: 1.0 + e for name in NAMES}
            obj.update(train_loss=2.0 - 0.1 * e, test_loss=2.2 - 0.1 * e, epoch=e)
            obj["test_coco_eval_bbox"] = [0.1 * e] + [0.0] * 11
            f.write(json.dumps(obj) + "\n")  # ensure_ascii: the log itself is plain ASCII


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "detr_watch", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        env=environment,
        cwd=cwd,
    )


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.txt"
    write_log(path)
    return path


def test_clean_replaces_every_control_character_and_keeps_text() -> None:
    controls = [chr(c) for c in [*range(0x00, 0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0)]]
    for c in [*controls, "\u2028", "\u2029", *BIDI]:
        assert clean(f"a{c}b") == "a?b", repr(c)
    assert clean("a\tb") == "a b"
    kept = "loss_ce 训练 naïve 🔥 👩\u200d💻 e\u0301 [bold]x[/] :smile:"
    assert clean(kept) == kept
    assert clean("x" * 300, 10) == "x" * 9 + "…"
    for value in HOSTILE.values():
        assert unsafe(clean(value)) == []


@pytest.mark.parametrize("colour", [False, True], ids=["plain", "FORCE_COLOR"])
@pytest.mark.parametrize("ascii", [False, True], ids=["unicode", "ascii"])
def test_frame_into_a_pipe_shows_names_as_text(log: Path, colour: bool, ascii: bool) -> None:
    width, height = 140, 60
    size = ["--width", str(width), "--height", str(height)]
    proc = run(
        "--once", *size, *(["--ascii"] if ascii else []), str(log), env={"FORCE_COLOR": "1"} if colour else {}
    )
    print(repr(proc.stdout))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    if colour:
        assert "\x1b[" in out  # colours do reach the pipe, so the check below is not vacuous
        out = SGR.sub("", out)
    assert unsafe(out) == []
    assert "\x1b" not in out
    lines = out.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == height
    assert {cell_len(x) for x in lines[:-1]} == {width}, "a name moved the frame out of shape"
    if ascii:
        assert out.isascii()
    # rich markup and emoji codes in a name are text, not styles or pictures (the table shortens
    # long names in the middle)
    assert "ld red]x[/]" in out
    assert "train_emoji_:smile:" in out
    assert "train_title_?]0;PWNED?" in out


def test_status_line_shows_a_hostile_file_name_as_text(tmp_path: Path) -> None:
    name = "run\x1b]0;PWNED\x07\x1b[2J\u202eexe.txt"
    write_log(tmp_path / name)
    proc = run("--once", "--width", "120", "--height", "30", name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    print(repr(first))
    assert "run?]0;PWNED??[2J?exe.txt" in first
    assert unsafe(proc.stdout) == [] and "\x1b" not in proc.stdout


def test_summary_for_people_shows_names_and_path_as_text(tmp_path: Path) -> None:
    path = tmp_path / "log\x1b[2J.txt"
    write_log(path)
    for env in ({}, {"FORCE_COLOR": "1"}):
        proc = run("summary", str(path), env={"COLUMNS": "200", **env})
        assert proc.returncode == 0, proc.stderr
        out = SGR.sub("", proc.stdout)
        print(repr(out))
        assert unsafe(out) == [] and "\x1b" not in out
        assert "log?[2J.txt" in out
        assert "train_markup_[bold red]x[/]" in out
        assert "train_linkmarkup_[link=https://evil.example/" in out  # folded after 44 cells


def test_json_outputs_escape_control_characters_as_json_does(log: Path) -> None:
    stream = run("stream", str(log))
    summary = run("summary", "--json", str(log))
    for proc in (stream, summary):
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.isascii()
        assert unsafe(proc.stdout) == []
        assert "\\u001b]0;PWNED\\u0007" in proc.stdout
    first = json.loads(stream.stdout.splitlines()[0])
    assert set(NAMES) <= set(first["metrics"])  # the names come back exactly as written
    assert set(NAMES) <= set(json.loads(summary.stdout)["series"])


def test_error_lines_show_a_hostile_path_as_text(tmp_path: Path) -> None:
    missing = tmp_path / "gone\x1b]0;PWNED\x07\x1b[2J" / "log.txt"
    for args in (("stream", str(missing)), ("summary", str(missing)), ("--once", str(missing))):
        proc = run(*args)
        print(repr(proc.stderr))
        assert proc.returncode == 1
        assert "does not exist" in proc.stderr and "gone?]0;PWNED??[2J" in proc.stderr
        assert unsafe(proc.stderr) == [] and "\x1b" not in proc.stderr


def test_live_view_in_a_terminal_is_not_retitled_cleared_or_rung(tmp_path: Path, panes: list[Pane]) -> None:
    path = tmp_path / "run\x1b]2;PWNED\x07.txt"
    write_log(path)
    program = " ".join(f"'{a}'" for a in detr_watch_argv(str(path)))
    # What was on the screen before must still be there after: a log cannot clear it.
    pane = Pane(["sh", "-c", f"echo BEFORE-THE-VIEW; {program}"], width=160, height=50, cwd=tmp_path)
    panes.append(pane)
    title = pane.info("#{pane_title}")
    screen = pane.wait_for(lambda s: "train_markup_[bold red]x[/]" in s, what="the hostile names")
    print(screen)
    assert "run?]2;PWNED?.txt" in screen
    assert "train_title_?]0;PWNED?" in screen
    assert "PWNED" not in pane.info("#{pane_title}") and pane.info("#{pane_title}") == title
    assert "PWNED" not in pane.info("#{window_name}")
    assert pane.info("#{window_bell_flag}") == "0"
    assert pane.info("#{alternate_on}") == "1"
    pane.keys("q")
    assert pane.wait_exit() == 0
    assert "BEFORE-THE-VIEW" in pane.screen()
