"""`detr-watch plot PATH... -o FILE`: the dashboard's charts as a PNG, SVG or PDF file (needs matplotlib)."""

from __future__ import annotations

import argparse
import os
import re
from typing import IO, Optional, Sequence

from detr_watch.commands.common import load
from detr_watch.errors import UsageError
from detr_watch.pipeline import Source
from detr_watch.store import SeriesStore, Snapshot

_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*[xX]\s*(\d+(?:\.\d*)?)\s*$")


def build_parser(parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    from detr_watch.args import add_common

    p = parser_class(
        prog="detr-watch plot",
        description=(
            "Draw the dashboard's charts (total, classification, L1 and GIoU losses, class error, AP, AP50, "
            "lr, COCO AP breakdown) of one or more logs into a PNG, SVG or PDF file; several logs are "
            'overlaid with a legend. Needs matplotlib: pip install "detr-watch[plot]".'
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="the logs to draw (several: overlaid)")
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the figure to write: .png, .svg or .pdf"
    )
    p.add_argument(
        "--smooth",
        type=float,
        metavar="W",
        help="smooth losses with TensorBoard's EMA of weight W in [0, 1), e.g. 0.6 (AP and lr never are)",
    )
    p.add_argument("--log-y", action="store_true", help="log scale for the loss, error and lr charts")
    p.add_argument(
        "--size", metavar="WxH", help="figure size in inches, e.g. 12x8 (default: from the charts)"
    )
    p.add_argument(
        "--dpi", type=float, default=100.0, metavar="N", help="pixels per inch of a PNG (default 100)"
    )
    p.add_argument("--title", metavar="TEXT", help="a title above the charts")
    p.add_argument(
        "--label",
        action="append",
        metavar="NAME",
        help="the legend name of each log, once per PATH in order (default: the file names)",
    )
    p.add_argument(
        "--runs",
        choices=("stitch", "overlay"),
        default="stitch",
        help="restarted runs in one log: stitched into one history like the dashboard (default), or overlaid",
    )
    add_common(p)
    return p


def parse_size(text: Optional[str]) -> tuple[Optional[float], Optional[float]]:
    if text is None:
        return None, None
    m = _SIZE.match(text)
    if not m or float(m.group(1)) <= 0 or float(m.group(2)) <= 0:
        raise UsageError(f"--size must be WIDTHxHEIGHT in inches, got {text!r}", hint="e.g. --size 12x8")
    return float(m.group(1)), float(m.group(2))


def labels(paths: Sequence[str], given: Optional[Sequence[str]]) -> list[str]:
    """Legend names: the given ones, else the file names, else (when those repeat) the paths as given."""
    if given:
        if len(given) != len(paths):
            raise UsageError(
                f"{len(given)} --label for {len(paths)} logs",
                hint="give one --label per PATH, in the same order",
            )
        return list(given)
    names = [os.path.basename(p.rstrip("/")) or p for p in paths]
    return names if len(set(names)) == len(names) else list(paths)


def execute(args: argparse.Namespace, stdout: IO[str]) -> int:
    from detr_watch.args import check_path
    from detr_watch.figure import figure_format, require_matplotlib, save_figure

    figure_format(args.output)
    width, height = parse_size(args.size)
    names = labels(args.paths, args.label)
    require_matplotlib()
    for path in args.paths:
        check_path(path, must_exist=True)
    snapshots: list[tuple[str, Snapshot]] = []
    for label, path in zip(names, args.paths):
        source = Source(path, args.format)
        store = SeriesStore()
        try:
            load(source, store)
        finally:
            source.close()
        snapshots.append((label, store.snapshot()))
    target = save_figure(
        snapshots,
        args.output,
        smoothing=args.smooth,
        log_y=args.log_y,
        width_in=width,
        height_in=height,
        dpi=args.dpi,
        title=args.title,
        runs=args.runs,
    )
    stdout.write(f"wrote {target}\n")
    return 0
