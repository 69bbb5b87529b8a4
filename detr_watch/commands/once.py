"""`detr-watch --once` (and any run into a pipe): one frame of the dashboard, then exit.

The frame of a big log is drawn from its end only (`load_tail`): its cost does not grow with
the file, and the newest records are what the frame is for. The status line says so.
"""

from __future__ import annotations

import time
from typing import IO, Optional

from detr_watch.commands.common import load, load_tail
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore
from detr_watch.view import View


def print_once(
    source: Source, view: View, stdout: IO[str], width: Optional[int], height: Optional[int]
) -> int:
    from detr_watch.render.console import frame_size, once_console, print_frame
    from detr_watch.render.dashboard import Dashboard

    store = SeriesStore()
    try:
        if not load_tail(source, store):
            load(source, store, allow_waiting=True)
    finally:
        source.close()
    w, h = frame_size(stdout, width, height)
    console = once_console(stdout, w, h)
    print_frame(console, Dashboard(store.snapshot(), view, time.time()), h)
    return 0
