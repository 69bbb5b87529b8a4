"""Command line: argv -> command. Typed errors become `error: ...` / `hint: ...` and an exit code.

Kept light at import time: the live view, rich and plotext load only when a command needs them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import IO, NoReturn, Optional, Sequence

from detr_watch import __version__
from detr_watch.errors import DetrWatchError, UsageError

SUBCOMMANDS = ("stream", "summary")
FORMAT_NAMES = (
    "detr-json",
    "detr-stdout",
    "detectron2-json",
    "detectron2-stdout",
    "ultralytics-csv",
    "mmdet-json",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"see '{self.prog} --help'")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        metavar="NAME",
        help="read the file as this format instead of detecting it: " + ", ".join(FORMAT_NAMES),
    )
    p.add_argument(
        "--traceback", action="store_true", help="show the full traceback on errors (for bug reports)"
    )


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="detr-watch",
        description=(
            "Live terminal monitor for DETR-family training logs. "
            "Other commands: 'detr-watch stream [--follow] PATH' (JSON lines), "
            "'detr-watch summary [--json] PATH' (statistics)."
        ),
    )
    p.add_argument("path", nargs="?", help="the log to watch (DETR log.txt, console output, ...)")
    p.add_argument("--once", action="store_true", help="print one frame of the dashboard and exit")
    p.add_argument("--demo", action="store_true", help="watch a simulated DETR run (no log needed)")
    p.add_argument("--width", type=int, metavar="N", help="frame width in columns (default: the terminal's)")
    p.add_argument("--height", type=int, metavar="N", help="frame height in rows (default: the terminal's)")
    p.add_argument(
        "--poll", action="store_true", help="poll the file instead of using inotify (NFS, Lustre, SSHFS)"
    )
    p.add_argument("--ascii", action="store_true", help="ASCII only: for terminals without Unicode")
    _common(p)
    p.add_argument("--version", action="version", version=f"detr-watch {__version__}")
    return p


def build_stream_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="detr-watch stream",
        description='Print one JSON object per record: {"run": R, "step": S, "metrics": {name: value}}.',
    )
    p.add_argument("path", help="the log to read")
    p.add_argument("--follow", "-f", action="store_true", help="keep following the file until interrupted")
    p.add_argument("--poll", action="store_true", help="poll instead of inotify (network file systems)")
    _common(p)
    return p


def build_summary_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="detr-watch summary", description="Statistics of every series in a log.")
    p.add_argument("path", help="the log to read")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object (for scripts)")
    _common(p)
    return p


def _check_path(path: str, *, must_exist: bool) -> None:
    p = Path(path)
    if p.is_dir():
        raise DetrWatchError(f"{path} is a directory", hint="give the log file inside it, e.g. log.txt")
    if must_exist and not p.exists():
        raise DetrWatchError(
            f"{path} does not exist", hint="check the path (or watch it live to wait for it)"
        )
    if not must_exist and not p.parent.exists() and str(p.parent) != "":
        raise DetrWatchError(f"{p.parent} does not exist", hint="check the path")


def _size(args: argparse.Namespace) -> tuple[Optional[int], Optional[int]]:
    for name in ("width", "height"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise UsageError(f"--{name} must be a positive number", hint="e.g. --width 120 --height 40")
    return args.width, args.height


def _watch(args: argparse.Namespace, stdout: IO[str]) -> int:
    from detr_watch.commands.once import print_once
    from detr_watch.pipeline import Source
    from detr_watch.view import View

    width, height = _size(args)
    interactive = stdout.isatty() and not args.once
    if args.demo:
        from detr_watch.demo import DemoRun

        with tempfile.TemporaryDirectory(prefix="detr-watch-demo-") as tmp:
            demo = DemoRun(Path(tmp))
            view = View(title="demo: simulated DETR-R50 run (log.txt)", ascii=args.ascii)
            if not interactive:
                demo.write_initial()
                return print_once(Source(demo.path, args.format), view, stdout, width, height)
            demo.start()
            try:
                from detr_watch.app import run_live

                return run_live(
                    Source(demo.path, args.format),
                    view,
                    poll=args.poll,
                    stdout=stdout,
                    width=width,
                    height=height,
                )
            finally:
                demo.stop()
    if args.path is None:
        raise UsageError("no log given", hint="detr-watch PATH (e.g. output/log.txt), or detr-watch --demo")
    view = View(title=args.path, ascii=args.ascii)
    if not interactive:
        _check_path(args.path, must_exist=True)
        return print_once(Source(args.path, args.format), view, stdout, width, height)
    _check_path(args.path, must_exist=False)
    from detr_watch.app import run_live

    return run_live(
        Source(args.path, args.format), view, poll=args.poll, stdout=stdout, width=width, height=height
    )


def run(argv: Sequence[str], stdout: IO[str], stderr: IO[str]) -> int:
    args: Optional[argparse.Namespace] = None
    try:
        if argv and argv[0] in SUBCOMMANDS:
            command, rest = argv[0], list(argv[1:])
            if command == "stream":
                from detr_watch.commands.stream import stream

                args = build_stream_parser().parse_args(rest)
                _check_path(args.path, must_exist=not args.follow)
                return stream(args.path, args.format, follow=args.follow, poll=args.poll, stdout=stdout)
            from detr_watch.commands.summary import summary

            args = build_summary_parser().parse_args(rest)
            _check_path(args.path, must_exist=True)
            return summary(args.path, args.format, as_json=args.json, stdout=stdout)
        args = build_parser().parse_args(list(argv))
        return _watch(args, stdout)
    except DetrWatchError as exc:
        if args is not None and getattr(args, "traceback", False):
            traceback.print_exc(file=stderr)
        stderr.write(f"error: {exc.message}\n")
        if exc.hint:
            stderr.write(f"hint: {exc.hint}\n")
        return exc.exit_code
    except SystemExit as exc:  # argparse's --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours. Silence the flush at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except Exception as exc:  # a bug of ours: one line by default, the traceback on request
        if args is not None and getattr(args, "traceback", False) or "--traceback" in argv:
            traceback.print_exc(file=stderr)
        stderr.write(f"error: internal error: {type(exc).__name__}: {exc}\n")
        stderr.write("hint: rerun with --traceback and report it\n")
        return 70


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `detr-watch` console script."""
    if argv is None:
        argv = sys.argv[1:]
    return run(argv, sys.stdout, sys.stderr)
