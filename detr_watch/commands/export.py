"""`detr-watch export PATH... --csv FILE [--parquet FILE]`: every record of one or more logs as a table."""

from __future__ import annotations

import argparse
from typing import IO, Callable, Optional

from detr_watch.errors import DetrWatchError, UsageError, warn
from detr_watch.export import Collector, require_parquet, write_csv, write_parquet
from detr_watch.pipeline import Source


def build_parser(parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    from detr_watch.args import add_common

    p = parser_class(
        prog="detr-watch export",
        description=(
            "Write every record of the logs as one table: one row per record, columns log, run, axis, "
            "step, epoch, wall_time, then one per series."
        ),
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="the logs to read (several: rows of each, in order)"
    )
    p.add_argument("--csv", metavar="FILE", help="write CSV to FILE ('-' for standard output)")
    p.add_argument("--parquet", metavar="FILE", help="write Parquet to FILE (needs pyarrow)")
    add_common(p)
    return p


def execute(args: argparse.Namespace, stdout: IO[str]) -> int:
    from detr_watch.args import check_path

    if args.csv is None and args.parquet is None:
        raise UsageError(
            "nothing to write", hint="give --csv FILE (or '-' for standard output) and/or --parquet FILE"
        )
    if args.parquet is not None:
        require_parquet()
    for path in args.paths:
        check_path(path, must_exist=True)
    collector = Collector()
    for path in args.paths:
        read_log(path, args.format, collector)
    table = collector.table()
    notes = []
    if args.csv == "-":
        write_csv(table, stdout)
    elif args.csv is not None:
        _write(args.csv, lambda f: write_csv(table, f))
        notes.append(args.csv)
    if args.parquet is not None:
        try:
            write_parquet(table, args.parquet)
        except OSError as exc:
            raise DetrWatchError(
                f"cannot write {args.parquet}: {exc.strerror or exc}", hint=_WRITE_HINT
            ) from None
        notes.append(args.parquet)
    if notes:
        stdout.write(f"wrote {len(table)} rows, {len(table.columns)} columns to {' and '.join(notes)}\n")
    return 0


_WRITE_HINT = "check that the folder exists and is writable"


def _write(path: str, write: Callable[[IO[str]], int]) -> None:
    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            write(f)
    except OSError as exc:
        raise DetrWatchError(f"cannot write {path}: {exc.strerror or exc}", hint=_WRITE_HINT) from None


def read_log(path: str, fmt: Optional[str], collector: Collector) -> int:
    """Add every record of the log at `path` to `collector`; raise when it is not a log with metrics."""
    source = Source(path, fmt)
    added = 0
    try:
        while True:  # as commands.common.load reads, keeping records instead of storing them
            records = source.poll()
            added += collector.add(path, records)
            if records:
                continue
            final = source.poll(final=True)
            added += collector.add(path, final)
            if not final:
                break
    finally:
        source.close()
    note = source.dropped_note()
    if note is not None:
        warn(note)
    if source.offset == 0 and source.format is None:
        raise DetrWatchError(f"{path} is empty", hint="nothing to export yet")
    source.check_log()
    if added == 0:
        raise DetrWatchError(f"{path} has no metrics yet ({source.format})", hint="nothing to export yet")
    return added
