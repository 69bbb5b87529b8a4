"""Command line: argv -> command. Typed errors become `error: ...` / `hint: ...` and an exit code.

Kept light at import time: the live view, rich and plotext load only when a command needs them.
"""

from __future__ import annotations

import argparse
import atexit
import errno
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import IO, Optional, Sequence

from detr_watch import __version__
from detr_watch.args import Parser, add_common, check_path
from detr_watch.errors import DetrWatchError, UsageError
from detr_watch.keys import MAX_ZOOM
from detr_watch.text import clean
from detr_watch.view import DEFAULT_SMOOTHING, MAX_SMOOTHING, PANELS, X_MODES, View, parse_patterns

# name -> module in detr_watch.commands with `build_parser(Parser)` and `execute(args, stdout) -> int`
SUBCOMMANDS = {"stream": "stream", "summary": "summary", "plot": "plot", "export": "export"}


def _weight(text: str) -> float:
    try:
        w = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= w < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return min(w, MAX_SMOOTHING)


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
    p.add_argument(
        "path",
        nargs="*",
        help="the logs to watch (DETR log.txt, console output, ...); several are overlaid; "
        "a folder stands for the logs inside it",
    )
    p.add_argument("--once", action="store_true", help="print one frame of the dashboard and exit")
    p.add_argument("--demo", action="store_true", help="watch a simulated DETR run (no log needed)")
    p.add_argument("--width", type=int, metavar="N", help="frame width in columns (default: the terminal's)")
    p.add_argument("--height", type=int, metavar="N", help="frame height in rows (default: the terminal's)")
    p.add_argument(
        "--poll", action="store_true", help="poll the file instead of using inotify (NFS, Lustre, SSHFS)"
    )
    p.add_argument("--ascii", action="store_true", help="ASCII only: for terminals without Unicode")
    view = p.add_argument_group("what the view shows (the keys change it live; ? lists them)")
    view.add_argument(
        "--metrics",
        metavar="PATTERNS",
        help="only series matching these name patterns, e.g. 'loss*,*AP' (a pattern may leave out "
        "the split: loss* matches train_loss)",
    )
    view.add_argument(
        "--view",
        choices=PANELS,
        default="charts",
        help="start on this panel: charts, losses (loss composition), layers (decoder layers), coco",
    )
    view.add_argument(
        "--smooth",
        type=_weight,
        metavar="W",
        default=DEFAULT_SMOOTHING,
        help=f"TensorBoard's EMA weight for per-iteration losses (default {DEFAULT_SMOOTHING}, 0: off)",
    )
    view.add_argument("--smooth-epochs", action="store_true", help="smooth per-epoch series too")
    view.add_argument("--no-raw", action="store_true", help="hide the raw curve under a smoothed one")
    view.add_argument("--log-y", action="store_true", help="log-scale y (non-positive values are gaps)")
    view.add_argument(
        "--ignore-outliers",
        action="store_true",
        help="y range from the 5th to the 95th percentile, as TensorBoard's option",
    )
    view.add_argument("--x", choices=X_MODES, default="step", help="x axis: step, epoch or time (hours)")
    view.add_argument(
        "--zoom",
        type=int,
        metavar="K",
        default=0,
        help="show about the last 1/2^K of the run (default 0: all)",
    )
    view.add_argument(
        "--stitch",
        action="store_true",
        help="restarted runs as one history (a later run replaces the steps it repeats), not separate curves",
    )
    view.add_argument(
        "--epochs", type=int, metavar="N", help="the run's length in epochs, for the progress and the ETA"
    )
    view.add_argument("--bell", action="store_true", help="ring the terminal bell once per new alert")
    add_common(p)
    p.add_argument("--version", action="version", version=f"detr-watch {__version__}")
    return p


def _size(args: argparse.Namespace) -> tuple[Optional[int], Optional[int]]:
    for name in ("width", "height"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise UsageError(f"--{name} must be a positive number", hint="e.g. --width 120 --height 40")
    return args.width, args.height


def _view(args: argparse.Namespace, title: str) -> View:
    if args.zoom < 0 or args.zoom > MAX_ZOOM:
        raise UsageError(f"--zoom must be between 0 and {MAX_ZOOM}", hint="each level halves the window")
    if args.epochs is not None and args.epochs <= 0:
        raise UsageError("--epochs must be a positive number", hint="e.g. --epochs 300")
    return View(
        title=title,
        ascii=args.ascii,
        mode="live",
        smoothing=args.smooth,
        smooth_epochs=args.smooth_epochs,
        raw=not args.no_raw,
        log_y=args.log_y,
        robust_y=args.ignore_outliers,
        x=args.x,
        zoom=args.zoom,
        stitched=args.stitch,
        panel=args.view,
        metrics=parse_patterns(args.metrics or ""),
        epochs=args.epochs,
    )


def _watch(args: argparse.Namespace, stdout: IO[str]) -> int:
    from detr_watch.commands.once import print_once
    from detr_watch.logs import expand, labels
    from detr_watch.pipeline import Source

    width, height = _size(args)
    interactive = stdout.isatty() and not args.once
    if args.demo:
        import tempfile  # (here: with shutil, random and bz2 it costs ~10 ms every other start)

        from detr_watch.demo import DemoRun

        with tempfile.TemporaryDirectory(prefix="detr-watch-demo-") as tmp:
            demo = DemoRun(Path(tmp))
            view = _view(args, "demo: simulated DETR-R50 run (log.txt)")
            if args.epochs is None:
                view = replace(view, epochs=demo.epochs)
            if not interactive:
                demo.write_initial()
                return print_once(
                    Source(demo.path, args.format), replace(view, mode="once"), stdout, width, height
                )
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
                    bell=args.bell,
                )
            finally:
                demo.stop()
    if not args.path:
        raise UsageError("no log given", hint="detr-watch PATH (e.g. output/log.txt), or detr-watch --demo")
    paths = expand(args.path)
    title = paths[0] if len(paths) == 1 else f"{len(paths)} logs"
    view = _view(args, title)
    names = labels(paths)
    if not interactive:
        for path in paths:
            check_path(path, must_exist=True)
        once = replace(view, mode="once")
        if len(paths) == 1:
            return print_once(Source(paths[0], args.format), once, stdout, width, height)
        from detr_watch.app import print_once as print_many

        return print_many([Source(p, args.format) for p in paths], once, stdout, width, height, names)
    for path in paths:
        check_path(path, must_exist=False)
    from detr_watch.app import run_live

    return run_live(
        [Source(p, args.format) for p in paths],
        view,
        labels=names,
        poll=args.poll,
        stdout=stdout,
        width=width,
        height=height,
        bell=args.bell,
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
            _print_traceback(stderr)
        # messages quote paths and log text: cleaned, so a file name cannot drive the terminal
        stderr.write(f"error: {clean(exc.message, limit=1000)}\n")
        if exc.hint:
            stderr.write(f"hint: {clean(exc.hint, limit=1000)}\n")
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
    except OSError as exc:
        if exc.errno not in _WRITE_ERRORS:  # (reading errors come as DetrWatchError)
            return _internal_error(exc, args, argv, stderr)
        return _output_error(exc, stderr)
    except Exception as exc:  # a bug of ours: one line by default, the traceback on request
        return _internal_error(exc, args, argv, stderr)


# Errors only a write gives: the output's disk is full.
_WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT)


def _output_error(exc: Exception, stderr: IO[str]) -> int:
    """Output that could not be written (a full disk): said in one line, status 1."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    stderr.write(f"error: cannot write the output: {reason}\n")
    stderr.write("hint: check the file or device it goes to (free space, quota)\n")
    return 1


def _internal_error(
    exc: BaseException, args: Optional[argparse.Namespace], argv: Sequence[str], stderr: IO[str]
) -> int:
    """A bug of ours: one line by default, the traceback on request (called while handling it)."""
    if args is not None and getattr(args, "traceback", False) or "--traceback" in argv:
        _print_traceback(stderr)
    stderr.write(f"error: internal error: {type(exc).__name__}: {clean(str(exc), limit=1000)}\n")
    stderr.write("hint: rerun with --traceback and report it\n")
    return 70


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line `argv` (default: the process's) and return its exit code."""
    if argv is None:
        argv = sys.argv[1:]
    return run(argv, sys.stdout, sys.stderr)


def script() -> None:
    """Entry point of the `detr-watch` console script and of `python -m detr_watch`.

    The interpreter's teardown after a command (freeing numpy's modules and the objects of a big
    log one by one) takes 40-50 ms, a tenth of a `summary` of a 20,000-line log.txt. So once the
    command has returned (its files closed, its threads stopped), the exit handlers run (coverage
    saves its data there), stdout and stderr are flushed and the process leaves without the
    teardown. Not under a profiler (`python -m cProfile` prints after the module returns) or while
    a non-daemon thread runs (the interpreter would wait for it): then it exits normally.

    numpy's OpenBLAS starts a thread per core at import, and they spin for a while waiting for
    work that never comes (detr-watch does no linear algebra): ~0.13 s of CPU at every start,
    taken from the training on the same machine and, on 2 cores, from our own reading. Unless
    the user set it, OpenBLAS gets one thread (read when numpy loads it, so set before that).
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = main()
    threading = sys.modules.get("threading")
    running = threading is not None and any(
        t is not threading.main_thread() and not t.daemon and t.is_alive() for t in threading.enumerate()
    )
    if running or sys.getprofile() is not None or not hasattr(atexit, "_run_exitfuncs"):
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (as in `run`: not an error of ours)
        pass
    except (OSError, ValueError) as exc:  # a full disk, say: what was not written is lost
        failed = _output_error(exc, sys.stderr) if sys.stderr is not None else 1
        code = code or failed
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


def _print_traceback(stderr: IO[str]) -> None:
    import traceback  # only on request (--traceback): ~5 ms at every start otherwise

    traceback.print_exc(file=stderr)
