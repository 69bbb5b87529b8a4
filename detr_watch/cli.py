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
from typing import IO, Optional, Sequence

from detr_watch import __version__
from detr_watch.args import Parser, add_common, check_path
from detr_watch.errors import DetrWatchError, UsageError

# name -> module in detr_watch.commands with `build_parser(Parser)` and `execute(args, stdout) -> int`
SUBCOMMANDS = {"stream": "stream", "summary": "summary", "plot": "plot", "export": "export"}


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="detr-watch",
        description=(
            "Live terminal monitor for DETR-family training logs. "
            "Other commands: 'detr-watch stream [--follow] PATH' (JSON lines), "
            "'detr-watch summary [--json] PATH' (statistics), "
            "'detr-watch plot PATH... -o FILE' (a PNG/SVG/PDF figure), "
            "'detr-watch export PATH... --csv FILE' (every record as a table)."
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
    add_common(p)
    p.add_argument("--version", action="version", version=f"detr-watch {__version__}")
    return p


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
        check_path(args.path, must_exist=True)
        return print_once(Source(args.path, args.format), view, stdout, width, height)
    check_path(args.path, must_exist=False)
    from detr_watch.app import run_live

    return run_live(
        Source(args.path, args.format), view, poll=args.poll, stdout=stdout, width=width, height=height
    )


def run(argv: Sequence[str], stdout: IO[str], stderr: IO[str]) -> int:
    args: Optional[argparse.Namespace] = None
    try:
        if argv and argv[0] in SUBCOMMANDS:
            import importlib

            module = importlib.import_module(f"detr_watch.commands.{SUBCOMMANDS[argv[0]]}")
            args = module.build_parser(Parser).parse_args(list(argv[1:]))
            code: int = module.execute(args, stdout)
            return code
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
