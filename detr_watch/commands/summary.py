"""`detr-watch summary [--json] PATH`: statistics of every series, for people or scripts."""

from __future__ import annotations

from typing import IO, Optional

from detr_watch.commands.common import load
from detr_watch.jsonout import dumps
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore
from detr_watch.summary import summarize


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
