"""`parallel.Elsewhere`: work done by a forked child, or here when the child cannot deliver."""

from __future__ import annotations

import os
import signal
from typing import Optional, TypeVar

import pytest
from conftest import REAL_LOGS, load_real_log

from detr_watch import summary
from detr_watch.jsonout import dumps
from detr_watch.parallel import Elsewhere, can_fork
from detr_watch.summary import summarize

T = TypeVar("T")

needs_fork = pytest.mark.skipif(not can_fork(), reason="no fork here (not Linux, or one core)")
PARENT = os.getpid()


def child_pid_and(value: int) -> tuple[int, int]:
    return os.getpid(), value


@needs_fork
def test_the_work_is_done_in_a_child_and_comes_back() -> None:
    other = Elsewhere(lambda: child_pid_and(41 + 1))
    pid, value = other.result()
    assert value == 42 and pid != PARENT  # computed in another process
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # and reaped


def test_without_a_fork_the_work_is_done_here() -> None:
    pid, value = Elsewhere(lambda: child_pid_and(7), fork=False).result()
    assert (pid, value) == (PARENT, 7)


def dies_in_the_child(how: str) -> tuple[int, int]:
    if os.getpid() != PARENT:
        if how == "raise":
            raise ValueError("only in the child")
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "exit":
            os._exit(0)  # an exit without an answer
    return child_pid_and(5)


@needs_fork
@pytest.mark.parametrize("how", ["raise", "kill", "exit"])
def test_a_child_that_fails_is_replaced_by_the_work_done_here(how: str) -> None:
    assert Elsewhere(lambda: dies_in_the_child(how)).result() == (PARENT, 5)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # and it was reaped: no child left


@needs_fork
def test_an_error_of_the_work_itself_is_raised_here() -> None:
    def broken() -> int:
        raise KeyError("broken")

    with pytest.raises(KeyError):
        Elsewhere(broken).result()


@needs_fork
def test_cancel_stops_and_reaps_the_child() -> None:
    def slow() -> int:
        import time

        time.sleep(30)
        return 1

    other = Elsewhere(slow)
    other.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


class Watched(Elsewhere[T]):
    """Elsewhere that notes whether the child's answer was used."""

    delivered: list[bool] = []

    def _collect(self) -> Optional[T]:
        got = super()._collect()
        Watched.delivered.append(got is not None)
        return got


@needs_fork
@pytest.mark.parametrize("name", REAL_LOGS)
def test_summary_is_the_same_computed_in_two_processes_or_one(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fmt, store = load_real_log(name)
    snap = store.snapshot()
    one = summarize(snap, name, fmt, parallel=False)
    monkeypatch.setattr(summary, "Elsewhere", Watched)
    Watched.delivered = []
    two = summarize(snap, name, fmt, parallel=True)
    assert Watched.delivered == [True]  # the child's part, not the parent's fallback
    assert dumps(two) == dumps(one)


@needs_fork
def test_a_child_that_sends_nothing_in_time_is_killed_and_the_work_done_here() -> None:
    def hangs_in_the_child() -> tuple[int, int]:
        if os.getpid() != PARENT:
            import time

            time.sleep(60)  # as a child stuck on a lock would
        return child_pid_and(3)

    import time

    started = time.monotonic()
    assert Elsewhere(hangs_in_the_child, patience=0.5).result() == (PARENT, 3)
    assert time.monotonic() - started < 30
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # killed and reaped
