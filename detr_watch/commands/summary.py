"""`detr-watch summary [--json] PATH`: statistics of every series, for people or scripts."""

from __future__ import annotations

import argparse
from typing import IO, Optional

from detr_watch.commands.common import load
from detr_watch.jsonout import dumps
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore
from detr_watch.summary import summarize


def build_parser(parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    from detr_watch.args import add_common

    p = parser_class(prog="detr-watch summary", description="Statistics of every series in a log.")
    p.add_argument("path", help="the log to read")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object (for scripts)")
    add_common(p)
    return p


def execute(args: argparse.Namespace, stdout: IO[str]) -> int:
    from detr_watch.args import check_path

    check_path(args.path, must_exist=True)
    return summary(args.path, args.format, as_json=args.json, stdout=stdout)


def summary(path: str, fmt: Optional[str], *, as_json: bool, stdout: IO[str]) -> int:
    source = Source(path, fmt)
    store = SeriesStore()
    try:
        load(source, store, allow_waiting=True)
    finally:
        source.close()
    data = summarize(store.snapshot(), path, source.format or "")
    if as_json:
        stdout.write(dumps(data) + "\n")
        return 0
    from detr_watch.render.summary_view import print_summary

    print_summary(data, stdout)
    return 0
