"""Several logs at once: labelled snapshots, the logs inside a folder, short labels that tell them apart.

Standard library only (plus the format sniffers). Nothing here follows a symlink out of the folder it
was given, reads more than the head of a file, or walks deeper than `MAX_DEPTH`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple, Sequence, Union

from detr_watch import formats
from detr_watch.errors import DetrWatchError
from detr_watch.store import Snapshot

LOG_SUFFIXES = (".txt", ".log", ".json", ".csv", ".out")
MAX_DEPTH = 4  # folder levels below the one given
MAX_ENTRIES = 20_000  # directory entries looked at, at most: a folder of datasets must not stall the start
MAX_LOGS = 16
HEAD_BYTES = 256 * 1024  # what a sniffer gets to look at (detectron2 prints ~900 lines of config first)


class Log(NamedTuple):
    """One watched log at one moment: its label on screen and its snapshot."""

    label: str
    snapshot: Snapshot


Board = tuple[Log, ...]


def as_board(logs: Union[Snapshot, Sequence[Log]], label: str = "") -> Board:
    """A single snapshot becomes a board of one log."""
    if isinstance(logs, Snapshot):
        return (Log(label, logs),)
    return tuple(logs)


def _is_log_name(name: str) -> bool:
    return name == "log.txt" or name.lower().endswith(LOG_SUFFIXES)


def sniff(path: Path) -> bool:
    """Whether the head of `path` is a training log of a known format."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError:
        return False
    lines = head.split(b"\n")
    if len(head) == HEAD_BYTES:
        lines = lines[:-1]  # the last line may be cut
    return formats.detect(lines) is not None


def find_logs(folder: Union[str, os.PathLike[str]]) -> list[Path]:
    """The training logs under `folder`, sorted by path, detected by content, at most `MAX_LOGS`.

    Hidden folders are skipped, symlinks that lead outside `folder` are not followed, and the walk
    stops at `MAX_DEPTH` levels or `MAX_ENTRIES` entries.
    """
    root = Path(folder)
    real_root = root.resolve()
    found: list[Path] = []
    seen = 0
    queue: list[tuple[Path, int]] = [(root, 0)]
    visited: set[Path] = set()
    while queue:
        current, depth = queue.pop(0)
        try:
            real = current.resolve()
        except OSError:
            continue
        if real in visited or not (real == real_root or real_root in real.parents):
            continue
        visited.add(real)
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                return sorted(found)[:MAX_LOGS]
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir():
                    if depth < MAX_DEPTH:
                        queue.append((path, depth + 1))
                    continue
                if not entry.is_file() or not _is_log_name(entry.name):
                    continue
                target = path.resolve()
            except OSError:
                continue
            if real_root in target.parents and sniff(path):
                found.append(path)
    return sorted(found)[:MAX_LOGS]


def expand(paths: Sequence[str]) -> list[str]:
    """The command line's paths with each folder replaced by the logs inside it."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            logs = find_logs(p)
            if not logs:
                raise DetrWatchError(
                    f"{p} is a directory with no training log in it",
                    hint="give the log file (e.g. log.txt), or a folder holding .txt/.log/.json/.csv logs",
                )
            out.extend(str(x) for x in logs)
        else:
            out.append(p)
    return out


MAX_LABEL = 20


def _cut(label: str, limit: int = MAX_LABEL) -> str:
    if len(label) <= limit:
        return label
    head = (limit - 1) // 2
    return label[:head] + "…" + label[len(label) - (limit - 1 - head) :]


def labels(paths: Sequence[str]) -> list[str]:
    """Short labels that tell `paths` apart: the file names when they differ, else the folders
    that differ (`runs/a/log.txt`, `runs/b/log.txt` -> `a`, `b`), cut to `MAX_LABEL` characters
    around the part where they differ (`…lr1e-4_bs64…`) when that keeps them apart."""
    full = _labels(paths)
    if all(len(x) <= MAX_LABEL for x in full):
        return full
    cut = _around_difference(full)
    return cut if len(set(cut)) == len(cut) else full


def _around_difference(names: list[str]) -> list[str]:
    if len(names) < 2:
        return [_cut(x) for x in names]
    prefix = len(os.path.commonprefix(names))
    suffix = len(os.path.commonprefix([x[::-1] for x in names]))
    out = []
    for name in names:
        if len(name) <= MAX_LABEL:
            out.append(name)
            continue
        a, b = prefix, max(prefix, len(name) - suffix)
        # widen the differing core with context on both sides up to the limit (room for two marks)
        while b - a < MAX_LABEL - 2 and (a > 0 or b < len(name)):
            if a > 0:
                a -= 1
            if b < len(name) and b - a < MAX_LABEL - 2:
                b += 1
        if b - a > MAX_LABEL - 2:
            out.append(_cut(name))
            continue
        out.append(("…" if a > 0 else "") + name[a:b] + ("…" if b < len(name) else ""))
    return out


def _labels(paths: Sequence[str]) -> list[str]:
    if len(paths) <= 1:
        return [Path(p).name for p in paths]
    parts = [Path(os.path.normpath(p)).parts for p in paths]
    names = [ps[-1] if ps else p for ps, p in zip(parts, paths)]
    if len(set(names)) == len(names):
        stems = [Path(n).stem for n in names]
        return stems if len(set(stems)) == len(stems) and all(stems) else names
    # drop the trailing parts that every path shares, then keep the last part that differs
    common = 0
    while all(len(ps) > common + 1 for ps in parts) and len({ps[-1 - common] for ps in parts}) == 1:
        common += 1
    out = []
    for ps, p in zip(parts, paths):
        rest = ps[: len(ps) - common]
        out.append(rest[-1] if rest else p)
    if len(set(out)) != len(out):
        return list(paths)
    return out
