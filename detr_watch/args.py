"""Argument pieces every command shares: the parser class, common options, path checks."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from detr_watch.errors import DetrWatchError, UsageError

FORMAT_NAMES = (
    "detr-json",
    "detr-stdout",
    "detectron2-json",
    "detectron2-stdout",
    "ultralytics-csv",
    "mmdet-json",
)


class Parser(argparse.ArgumentParser):
    """Usage errors become a DetrWatchError (one line + hint) instead of argparse's exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"see '{self.prog} --help'")


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        metavar="NAME",
        help="read the file as this format instead of detecting it: " + ", ".join(FORMAT_NAMES),
    )
    p.add_argument(
        "--traceback", action="store_true", help="show the full traceback on errors (for bug reports)"
    )


def check_path(path: str, *, must_exist: bool) -> None:
    p = Path(path)
    if p.is_dir():
        raise DetrWatchError(f"{path} is a directory", hint="give the log file inside it, e.g. log.txt")
    if must_exist and not p.exists():
        raise DetrWatchError(
            f"{path} does not exist", hint="check the path (or watch it live to wait for it)"
        )
    if not must_exist and not p.parent.exists() and str(p.parent) != "":
        raise DetrWatchError(f"{p.parent} does not exist", hint="check the path")
