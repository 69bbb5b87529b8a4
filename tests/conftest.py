"""Hermetic tests: no colour/size variables from the caller's shell, no leaked threads."""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from tmux import Pane

from detr_watch.store import SeriesStore

DATA = Path(__file__).parent / "data"
SHARED_LOGS = Path(__file__).resolve().parents[2] / "shared" / "logs"


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "NO_COLOR", "COLUMNS", "LINES", "TERM_PROGRAM"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.name.startswith("pytest")
    ]
    for t in leaked:
        t.join(timeout=5)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"threads leaked by the test: {still}"


def shared_log(name: str) -> Path:
    """A real log from ../shared/logs; skips the test when the folder is not there."""
    path = SHARED_LOGS / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


REAL_LOGS = (
    sorted(p.name for p in SHARED_LOGS.glob("*") if p.name != "README.md") if SHARED_LOGS.exists() else []
)


def load_real_log(name: str) -> tuple[str, SeriesStore]:
    """A real log read whole, as the one-shot commands read it: (format, store)."""
    from detr_watch.commands.common import load
    from detr_watch.pipeline import Source

    source = Source(shared_log(name))
    store = SeriesStore()
    try:
        load(source, store, allow_waiting=True)
    finally:
        source.close()
    assert source.format is not None, f"{name} was not recognised"
    return source.format, store


@pytest.fixture
def panes() -> Iterator[list[Pane]]:
    """The tmux panes a test starts (append them), killed when it ends."""
    started: list[Pane] = []
    yield started
    for pane in started:
        pane.kill()


def gen_logs() -> ModuleType:
    """scripts/gen_logs.py, the benchmark's deterministic log writer, as a module."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "gen_logs.py"
    spec = importlib.util.spec_from_file_location("gen_logs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_logs"] = module
    spec.loader.exec_module(module)
    return module
