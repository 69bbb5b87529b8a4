"""A real terminal for end-to-end tests: a private tmux server, a pane running the program."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Callable, Optional

import pytest


class Pane:
    """One detached tmux session on its own server socket, with remain-on-exit so the exit status is kept."""

    def __init__(
        self, argv: Sequence[str], *, width: int, height: int, cwd: Path, env: Optional[dict[str, str]] = None
    ):
        if shutil.which("tmux") is None:
            pytest.fail("tmux is required for the end-to-end tests (.ci/run installs it)")
        self.socket = f"detr-watch-test-{uuid.uuid4().hex[:8]}"
        command = " ".join(shlex.quote(a) for a in argv)
        environment = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        environment.update(env or {})
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in environment.items())
        # After the program exits, the shell prints its status and the terminal modes, then keeps
        # the pane alive so the test can check that the terminal was restored.
        modes = "stty -a | tr ' ' '\\n' | grep -x -e echo -e -echo -e icanon -e -icanon | tr '\\n' ' '"
        script = f"trap : INT; {command}; echo EXIT=$?; {modes}; echo; exec sleep 600"
        self._tmux(
            "new-session", "-d", "-x", str(width), "-y", str(height), "-c", str(cwd),
            f"env -u COLUMNS -u LINES -u NO_COLOR -u FORCE_COLOR {exports} sh -c {shlex.quote(script)}",
        )  # fmt: skip

    def _tmux(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, "-f", os.devnull, *args], capture_output=True, text=True, timeout=20
        )
        return out.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p")

    def styled_screen(self) -> str:
        """The screen with its colours and attributes as escape codes."""
        return self._tmux("capture-pane", "-p", "-e")

    def info(self, fmt: str) -> str:
        return self._tmux("display-message", "-p", fmt).strip()

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", *keys)

    def resize(self, width: int, height: int) -> None:
        self._tmux("resize-window", "-x", str(width), "-y", str(height))

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 20.0, what: str = "") -> str:
        """Poll the screen until `predicate` holds (a condition with a deadline, not a fixed sleep)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what or predicate}; screen was:\n{screen}")

    def wait_exit(self, timeout: float = 20.0) -> int:
        """Wait for the program to end; return its exit status after checking the terminal is restored."""
        screen = self.wait_for(lambda s: "EXIT=" in s and ("echo" in s.split("EXIT=")[1]), timeout, "exit")
        tail = screen.split("EXIT=")[1].split()
        modes = set(tail[1:])
        assert self.info("#{alternate_on}") == "0", "still on the alternate screen"
        assert self.info("#{cursor_flag}") == "1", "cursor left hidden"
        assert {"echo", "icanon"} <= modes, f"terminal modes not restored: {modes}"
        return int(tail[0])

    def program_pid(self) -> int:
        """The pid of the program (the pane runs `sh -c`, whose child it is)."""
        shell = self.info("#{pane_pid}")
        out = subprocess.run(
            ["pgrep", "-P", shell], capture_output=True, text=True, timeout=10
        ).stdout.split()
        return int(out[0])

    def kill(self) -> None:
        self._tmux("kill-server")


def detr_watch_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "detr_watch", *args]
