"""`detr-watch stream [--follow] PATH`: the pipeline's records as JSON lines, flushed one by one."""

from __future__ import annotations

import signal
from types import FrameType
from typing import IO, Optional

from detr_watch.errors import DetrWatchError
from detr_watch.jsonout import record_line
from detr_watch.pipeline import Source


class _Stop(Exception):
    pass


def _stop(signum: int, frame: Optional[FrameType]) -> None:
    raise _Stop()


def stream(path: str, fmt: Optional[str], *, follow: bool, poll: bool, stdout: IO[str]) -> int:
    source = Source(path, fmt)
    try:
        if not follow:
            return _once(source, stdout)
        return _follow(source, stdout, poll)
    finally:
        source.close()


def _emit(records: list, stdout: IO[str]) -> None:  # type: ignore[type-arg]
    for rec in records:
        stdout.write(record_line(rec) + "\n")
        stdout.flush()


def _once(source: Source, stdout: IO[str]) -> int:
    while True:
        records = source.poll()
        _emit(records, stdout)
        if not records:
            break
    _emit(source.poll(final=True), stdout)
    if source.offset == 0 and source.format is None:
        raise DetrWatchError(f"{source.label} is empty", hint="use --follow to wait for lines")
    source.check_log()
    return 0


def _follow(source: Source, stdout: IO[str], poll: bool) -> int:
    from detr_watch.watch import Watcher

    watcher = Watcher(source.path, poll=poll)
    old = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    watcher.start()
    try:
        while True:
            _emit(source.poll(), stdout)
            if source.not_a_log:
                source.check_log()
            watcher.wait(1.0)
    except (_Stop, KeyboardInterrupt):
        return 0
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        watcher.stop()
