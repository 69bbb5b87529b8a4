"""Work done on another core by a forked copy of this process (standard library only).

`summary` spends most of its time on statistics that are independent per series and hold the
GIL between numpy's small calls (threads measured slower than one). A fork has its own GIL: the
child computes part of the answer from the memory it shares with the parent (copy-on-write, no
data sent), sends it back pickled through a pipe and leaves with `os._exit`, while the parent
computes the rest. Where that cannot be (no fork, one core, not Linux), or when anything goes
wrong in the child, the parent computes that part itself: the result is the same either way.

Only on Linux: on macOS a fork without exec is unsafe once system frameworks are loaded.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import time
from typing import Callable, Generic, Optional, TypeVar

T = TypeVar("T")


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def can_fork() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork") and cores() >= 2


class Elsewhere(Generic[T]):
    """`work()` computed by a forked child while the caller goes on; `result()` waits for it.

    When no child could be started, or it did not deliver (it raised, was killed, sent a
    truncated answer), `result()` calls `work()` here instead, so an error in `work` is raised
    in the caller as it would be without the child.
    """

    def __init__(self, work: Callable[[], T], fork: Optional[bool] = None, patience: float = 10.0) -> None:
        self._work = work
        self._pid = 0
        self._read = -1
        # How long `result()` waits for a child that sends nothing (a child that hangs, say on a
        # lock some thread held at the fork): `patience` seconds, or three times as long as the
        # caller took since the fork if that is more. Then the child is killed and the work done here.
        self._patience = patience
        self._started = time.monotonic()
        if not (can_fork() if fork is None else fork):
            return
        try:
            r, w = os.pipe()
        except OSError:
            return
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # the child: never returns, never flushes the parent's buffers
            code = 1
            try:
                os.close(r)
                data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(w, "wb", closefd=True) as out:
                    out.write(data)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent computes it itself
                pass
            finally:
                os._exit(code)
        os.close(w)
        self._pid, self._read = pid, r

    def cancel(self) -> None:
        """Stop and reap the child, if any (the caller no longer wants the result)."""
        if self._pid:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except OSError:
                pass
            os.close(self._read)
            os.waitpid(self._pid, 0)
            self._pid = 0

    def result(self) -> T:
        if self._pid:
            got = self._collect()
            if got is not None:
                return got
        return self._work()

    def _collect(self) -> Optional[T]:
        """The child's answer, None when it has none; the child is reaped either way."""
        fd, pid = self._read, self._pid
        now = time.monotonic()
        deadline = now + max(self._patience, 3 * (now - self._started))
        chunks: list[bytes] = []
        late = False
        waiting = select.poll()
        waiting.register(fd, select.POLLIN)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not waiting.poll(left * 1000):
                    late = True
                    break
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError:
            chunks = []
        finally:
            if late:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os.close(fd)
            _, status = os.waitpid(pid, 0)
            self._pid = 0
        if late or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or not chunks:
            return None
        try:
            got: T = pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - a truncated answer: computed here instead
            return None
        return got
