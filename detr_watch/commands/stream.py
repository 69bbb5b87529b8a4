"""`detr-watch stream [--follow] PATH`: the pipeline's records as JSON lines, flushed one by one."""

from __future__ import annotations

import argparse
import signal
from types import FrameType
from typing import IO, Optional

from detr_watch.errors import DetrWatchError, warn
from detr_watch.jsonout import record_line
from detr_watch.pipeline import MAX_LINE, Source
from detr_watch.records import Record


class _Stop(Exception):
    pass


def _stop(signum: int, frame: Optional[FrameType]) -> None:
    raise _Stop()


def build_parser(parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    from detr_watch.args import add_common

    p = parser_class(
        prog="detr-watch stream",
        description='Print one JSON object per record: {"run": R, "step": S, "metrics": {name: value}}.',
    )
    p.add_argument("path", help="the log to read")
    p.add_argument("--follow", "-f", action="store_true", help="keep following the file until interrupted")
    p.add_argument("--poll", action="store_true", help="poll instead of inotify (network file systems)")
    add_common(p)
    return p


def execute(args: argparse.Namespace, stdout: IO[str]) -> int:
    from detr_watch.args import check_path

    check_path(args.path, must_exist=not args.follow)
    return stream(args.path, args.format, follow=args.follow, poll=args.poll, stdout=stdout)


def stream(path: str, fmt: Optional[str], *, follow: bool, poll: bool, stdout: IO[str]) -> int:
    source = Source(path, fmt)
    try:
        if not follow:
            return _once(source, stdout)
        return _follow(source, stdout, poll)
    finally:
        source.close()


def _emit(records: list[Record], stdout: IO[str]) -> None:
    for rec in records:
        stdout.write(record_line(rec) + "\n")
        stdout.flush()


def _report_dropped(source: Source, reported: int) -> int:
    """Warn when more over-long line bytes were skipped than `reported`; returns the count reported."""
    note = source.dropped_note()
    if note is not None and source.dropped_bytes > reported:
        warn(note)
        return source.dropped_bytes
    return reported


def _once(source: Source, stdout: IO[str]) -> int:
    while True:
        records = source.poll()
        _emit(records, stdout)
        if not records:
            break
    _emit(source.poll(final=True), stdout)
    _report_dropped(source, 0)
    if source.offset == 0 and source.format is None:
        raise DetrWatchError(f"{source.label} is empty", hint="use --follow to wait for lines")
    source.check_log()
    return 0


def _follow(source: Source, stdout: IO[str], poll: bool) -> int:
    from detr_watch.watch import Watcher

    watcher = Watcher(source.path, poll=poll)
    old = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    watcher.start()
    reported = 0
    try:
        while True:
            _emit(source.poll(), stdout)
            # At once the first time, then once per cap's worth more (a runaway line can go on for
            # hours), and the total at the end.
            due = MAX_LINE if reported else 1
            if source.dropped_bytes - reported >= due:
                reported = _report_dropped(source, reported)
            if source.not_a_log:
                source.check_log()
            watcher.wait(1.0)
    except (_Stop, KeyboardInterrupt):
        _report_dropped(source, reported)
        return 0
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        watcher.stop()
