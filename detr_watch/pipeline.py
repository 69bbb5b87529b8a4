"""The one-way flow for one file: tail (bytes -> lines) -> detect -> parse (lines -> records).

`Source.poll()` does one round of it and returns the new records; the caller stores, prints
or counts them. `poll_blocks()` returns the same records as blocks (columns), which is what the
store takes without a Python object per value. `read_tail()` reads only the end of a big file,
so the newest data can be shown before the history is read. No threads here: `ingest.py` runs
sources on a thread for the live view.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable, NamedTuple, Optional, Sequence, TypeVar

from detr_watch import formats
from detr_watch.blocks import Block
from detr_watch.errors import DetrWatchError, NotALogError
from detr_watch.formats.base import Parser
from detr_watch.records import Record
from detr_watch.tail import Lines, Tailer

# How much of a file we look at before deciding it is not a training log. Console logs of
# detectron2 print ~900 lines of configuration before the first metric.
SNIFF_LINES = 1500
SNIFF_BYTES = 2 * 1024 * 1024
# A longer line is skipped (and counted in `dropped_bytes`): a runaway line without a newline
# must not grow memory without bound.
MAX_LINE = 16 * 1024 * 1024
# A first frame reads this much of the end of a file bigger than twice as much: about 5,000 lines of
# DETR console output (50,000 iterations, 7 COCO epochs) or 450 log.txt epochs. 4 MiB cost the
# first frame of a 300 MB log ~40 ms more (tail 65 vs 45 ms, frame 195 vs 178) for history the live
# view loads anyway.
TAIL_BYTES = 2 * 1024 * 1024
_LONG_PREFIX = 1024 * 1024

T = TypeVar("T")


class Tail(NamedTuple):
    """The end of a big log, read on its own (see `Source.read_tail`)."""

    blocks: list[Block]
    format: str
    start: int  # byte offset of the first line read
    size: int  # of the whole file when it was read
    skipped: int

    def describe(self) -> str:
        """What the tail is, for the status line: "last 2.1 MB of 300 MB"."""
        return f"last {_mb(self.size - self.start)} of {_mb(self.size)}"


def _mb(n: int) -> str:
    mb = n / 1e6
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"


class Source:
    """A log file followed by path, with its format detected from the first lines."""

    def __init__(self, path: str | os.PathLike[str], fmt: Optional[str] = None) -> None:
        self.path = Path(path)
        self.label = str(path)
        if fmt is not None and fmt not in formats.FORMATS:
            raise DetrWatchError(
                f"unknown format {fmt!r}", hint="choose one of: " + ", ".join(sorted(formats.FORMATS))
            )
        self._forced = fmt
        self._tailer = Tailer(self.path, max_line=MAX_LINE)
        self._parser: Optional[Parser] = None
        self._head: list[bytes] = []
        self._head_bytes = 0
        self.not_a_log = False
        self.dropped_bytes = 0

    @property
    def format(self) -> Optional[str]:
        return self._parser.name if self._parser is not None else None

    @property
    def recognised(self) -> bool:
        return self._parser is not None and self._parser.recognised

    @property
    def meta(self) -> dict[str, str]:
        """What the log says about the run besides its series (e.g. `epochs` from printed arguments)."""
        found: dict[str, str] = getattr(self._parser, "meta", {})
        return dict(found)

    @property
    def skipped(self) -> int:
        return self._parser.skipped if self._parser is not None else 0

    @property
    def exists(self) -> bool:
        return self._tailer.exists

    @property
    def offset(self) -> int:
        return self._tailer.offset

    @property
    def caught_up(self) -> bool:
        """The last poll reached the end of the file (not stopped by its byte budget)."""
        return self._tailer.caught_up

    @property
    def size(self) -> int:
        return self._tailer.size_hint

    def modified(self, default: float) -> float:
        """When the file was last written (its mtime): when its newest record arrived.

        Records read from a file's history did not arrive "now": the status line's
        "last record N ago" must tell how long the log has been quiet, even on the first frame.
        """
        try:
            return self.path.stat().st_mtime
        except OSError:
            return default

    def poll(self, max_bytes: Optional[int] = None, final: bool = False) -> list[Record]:
        """Read what is new and return its records.

        `final` says no more data will come (one-shot commands): a format is then chosen
        from whatever head there is, instead of waiting for more lines.
        """
        return self._read(max_bytes, final, _feed_records)

    def poll_blocks(self, max_bytes: Optional[int] = None, final: bool = False) -> list[Block]:
        """`poll()`, with the records as blocks (`detr_watch.blocks`): what the store appends fastest."""
        return self._read(max_bytes, final, formats.feed_blocks)

    def _read(
        self, max_bytes: Optional[int], final: bool, feed: Callable[[Parser, Sequence[bytes]], list[T]]
    ) -> list[T]:
        try:
            chunks = self._tailer.read(max_bytes)
        except IsADirectoryError:
            raise DetrWatchError(
                f"{self.label} is a directory", hint="give the log file inside it, e.g. log.txt"
            ) from None
        except PermissionError:
            raise DetrWatchError(
                f"cannot read {self.label}: permission denied", hint="check the file's permissions"
            ) from None
        except OSError as exc:
            raise DetrWatchError(
                f"cannot read {self.label}: {exc.strerror or exc}",
                hint="give the path of a regular log file (not a device, pipe or socket)",
            ) from None
        out: list[T] = []
        for chunk in chunks:
            self.dropped_bytes += chunk.dropped
            if chunk.reset:
                if self._parser is not None:
                    self._parser.reset()
                self._head.clear()
                self._head_bytes = 0
                self.not_a_log = False
            if self._parser is not None:
                out.extend(feed(self._parser, chunk.lines))
            else:
                out.extend(self._detect(chunk.lines, final=False, feed=feed))
        if final and self._parser is None:
            out.extend(self._detect([], final=True, feed=feed))
        return out

    def read_tail(self, nbytes: Optional[int] = None) -> Optional[Tail]:
        """The records of about the last `nbytes` (TAIL_BYTES) of the file, or None when it is not big.

        Read apart from `poll()`: the source still starts from the top. The format comes from
        the file's head, as always; the tail starts at the first line that begins in it (a line
        still being written at the end is left out, as `poll()` does). None as well when the head
        is no known format or the tail holds no record: the caller then reads the whole file.
        For logs whose step is the line's position (detr-json without `epoch`), the lines before
        the tail are counted, so the steps are those a full read gives when every line is a record.
        """
        if nbytes is None:
            nbytes = TAIL_BYTES
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size <= 2 * nbytes:
                    return None
                name = self._forced or formats.detect(f.read(SNIFF_BYTES).split(b"\n")[:SNIFF_LINES])
                if name is None:
                    return None
                f.seek(size - nbytes - 1)
                data = f.read(nbytes + 1)
                first = data.find(b"\n") + 1  # the byte before the tail tells whether a line starts there
                last = data.rfind(b"\n")
                if first <= 0 or first > min(_LONG_PREFIX, nbytes // 2) or last < first:
                    # The tail starts inside a very long line: whether it is over MAX_LINE (and so
                    # to be reported) is known only by reading it whole.
                    return None
                lines = data[first:last].split(b"\n")
                start = size - nbytes - 1 + first
                parser = formats.create(name)
                blocks = formats.feed_blocks(parser, lines)
                before = getattr(parser, "positional", False)
                if before:
                    parser = formats.create(name)
                    parser.continue_from(_count_lines(f, start))  # type: ignore[attr-defined]
                    blocks = formats.feed_blocks(parser, lines)
        except OSError:
            return None
        if not blocks:
            return None
        return Tail(blocks, name, start, size, parser.skipped)

    def dropped_note(self) -> Optional[str]:
        """What to tell the user about the over-long lines skipped so far; None when there were none."""
        if not self.dropped_bytes:
            return None
        return (
            f"{self.label}: skipped {self.dropped_bytes / 2**20:.1f} MiB in lines longer than "
            f"{MAX_LINE >> 20} MiB (a line that long is no training record)"
        )

    def _detect(
        self, lines: Sequence[bytes], final: bool, feed: Callable[[Parser, Sequence[bytes]], list[T]]
    ) -> list[T]:
        """Detect the format from the lines held so far and `lines`; once known, their records.

        Lines that come first are sniffed from their start and handed to the parser as they are: a
        `tail.Lines` stays the text it was read in (its first 1,500 lines cut, not all 8 MiB).
        """
        if self.not_a_log:
            return []
        if self._head:  # the lines before told nothing yet: all of them together
            self._keep(lines)
            lines = self._head
        head = lines.first(SNIFF_LINES) if isinstance(lines, Lines) else lines[:SNIFF_LINES]
        name = self._forced or formats.detect(head)
        if name is None:
            if lines is not self._head:
                self._keep(lines)
            if final or len(self._head) >= SNIFF_LINES or self._head_bytes >= SNIFF_BYTES:
                self.not_a_log = True
                self._head = []
            return []
        self._parser = formats.create(name)
        self._head = []
        self._head_bytes = 0
        return feed(self._parser, lines)

    def _keep(self, lines: Sequence[bytes]) -> None:
        self._head.extend(lines)
        self._head_bytes += sum(len(x) for x in lines)

    def check_log(self) -> None:
        """Raise if the file is not a training log (one-shot commands call this at the end)."""
        if self.not_a_log or (self._parser is not None and not self._parser.recognised):
            raise NotALogError(
                f"{self.label} is not a training log this tool can read",
                hint="supported: " + ", ".join(sorted(formats.FORMATS)) + " (force one with --format NAME)",
            )

    def close(self) -> None:
        self._tailer.close()


def _feed_records(parser: Parser, lines: Sequence[bytes]) -> list[Record]:
    return parser.feed(lines)


def _count_lines(f: BinaryIO, end: int) -> int:
    """Newlines in the first `end` bytes of `f` (read in big chunks: memory stays flat)."""
    f.seek(0)
    count, left = 0, end
    while left > 0:
        chunk = f.read(min(left, 8 << 20))
        if not chunk:
            break
        count += chunk.count(b"\n")
        left -= len(chunk)
    return count
