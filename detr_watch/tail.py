"""Follow a log file by name, the way `tail -F` does: bytes in, complete lines out.

Standard library only (and one optional compiled read, `_readblock`) and no threads: the caller
decides when to read (on a file event or on its safety poll). Everything stays bytes; decoding
is the parser's business, so invalid UTF-8 or NUL bytes never stop the tail.

Lines are consumed only through the last newline: a torn last line is held back until its
newline arrives. A shrinking file, or one whose already-read bytes changed, is read again from
the top; a new file under the name is switched to after the old one is drained. Either way the
consumer is told with `Chunk.reset`, except when the new file holds the bytes already read with
more after them (rsync, an editor's save): then reading goes on where it was.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO, Iterator, NamedTuple, Optional, Sequence, overload

try:  # the read without a copy of its lines (C); where it was not built, Python does the same
    from detr_watch import _readblock
except ImportError:  # pragma: no cover - only where no C compiler was there at install
    _readblock = None  # type: ignore[assignment]

# How many bytes at the top of the file, and just before the read position, identify its content.
_FINGERPRINT = 64


class Lines(Sequence[bytes]):
    """Complete lines as the text they were read in: split into `bytes` objects only when looked at.

    Each of `parts` stands for `part.split(b"\\n")` (an empty part is one empty line). A parser
    that reads many lines at once with numpy takes `parts` as they are (detr-stdout); to everyone
    else this is a list of lines, which it equals.
    """

    __slots__ = ("parts", "_lines")

    def __init__(self, parts: Optional[list[bytes]] = None) -> None:
        self.parts: list[bytes] = parts if parts is not None else []
        self._lines: Optional[list[bytes]] = None

    def _split(self) -> list[bytes]:
        if self._lines is None:
            if len(self.parts) == 1:
                self._lines = self.parts[0].split(b"\n")
            else:
                self._lines = [line for part in self.parts for line in part.split(b"\n")]
        return self._lines

    def first(self, n: int) -> list[bytes]:
        """The first `n` lines (all if fewer), cutting no more of the text than that."""
        if self._lines is not None:
            return self._lines[:n]
        out: list[bytes] = []
        for part in self.parts:
            want = n - len(out)
            if want <= 0:
                break
            end = -1
            for _ in range(want):  # the end of the first `want` lines: no copy of the rest
                end = part.find(b"\n", end + 1)
                if end < 0:
                    break
            out += (part if end < 0 else part[:end]).split(b"\n")
        return out

    def __len__(self) -> int:
        if self._lines is not None:
            return len(self._lines)
        return sum(part.count(b"\n") + 1 for part in self.parts)

    @overload
    def __getitem__(self, i: int) -> bytes: ...

    @overload
    def __getitem__(self, i: slice) -> list[bytes]: ...

    def __getitem__(self, i: int | slice) -> bytes | list[bytes]:
        return self._split()[i]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._split())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Lines):
            return self._split() == other._split()
        if isinstance(other, list):
            return self._split() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a list, mutable like one

    def __repr__(self) -> str:
        return f"Lines({self._split()!r})"


class Chunk(NamedTuple):
    """Complete lines read from one stretch of one file.

    `reset`: the file was truncated, rewritten or replaced before these lines, so the consumer
    starts its parser over. `dropped`: bytes of over-long lines that were discarded.
    """

    reset: bool
    lines: Sequence[bytes]  # a `Lines`
    dropped: int = 0


class _Batch:
    """Collects the chunks of one `read()`; a reset starts a new chunk."""

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []
        self._reset = False
        self._parts: list[bytes] = []
        self._dropped = 0

    def reset(self) -> None:
        if self._parts or self._dropped:
            self._flush()
        self._reset = True

    def add(self, lines: list[bytes]) -> None:
        if lines:
            self._parts.append(b"\n".join(lines))

    def add_text(self, text: bytes) -> None:
        """Lines joined by newlines (`text.split(b"\\n")`), kept as they are."""
        self._parts.append(text)

    def drop(self, n: int) -> None:
        self._dropped += n

    def empty(self) -> bool:
        return not (self.chunks or self._reset or self._parts or self._dropped)

    def done(self) -> list[Chunk]:
        self._flush()
        return self.chunks

    def _flush(self) -> None:
        if self._reset or self._parts or self._dropped:
            self.chunks.append(Chunk(self._reset, Lines(self._parts), self._dropped))
        self._reset = False
        self._parts = []
        self._dropped = 0


def _strip_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line


def _read_at(file: BinaryIO, pos: int, n: int) -> bytes:
    file.seek(pos)
    return file.read(n) or b""


class Tailer:
    """Reads the complete lines appended to the file at `path`, across truncation and rotation.

    A line longer than `max_line` bytes is discarded (counted in `Chunk.dropped`) so that a
    runaway line without a newline cannot grow memory without bound. `read_size` is the size of
    one read from the file: the one-shot commands and the live view's history read in rounds of
    8 MiB, so one read a round (and a small one for as many bytes as the line held before it;
    measured: the big read's buffer then goes back to malloc whole and the next round reuses it;
    with two 4 MiB reads a round the heap was trimmed and every page of the file faulted in
    again: 300 MB of console log 3.25 -> 2.95 s, 89 MB of log.txt 34k -> 15k faults).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_line: int = 16 * 1024 * 1024,
        read_size: int = 8 << 20,
    ) -> None:
        if max_line < 1 or read_size < 1:
            raise ValueError("max_line and read_size must be positive")
        self.path: str = os.fspath(path)
        self._max_line = max_line
        self._read_size = read_size
        self._file: Optional[BinaryIO] = None
        self._ident = (0, 0)  # (device, inode) of the open file
        self._size = 0
        self._pos = 0  # bytes read from the open file
        self._offset = 0  # end of the last complete line
        self._partial = b""
        self._discarding = False  # inside a line that exceeded max_line, until its newline
        self._head = b""  # the first bytes of the file, as read
        self._tail = b""  # the last bytes read, ending at _pos
        self._name_present = False
        self._caught_up = False
        self._closed = False

    @property
    def exists(self) -> bool:
        """Whether a file is open and its name was still there at the last read."""
        return self._file is not None and self._name_present

    @property
    def offset(self) -> int:
        """Bytes of the current file consumed, through the last complete line."""
        return self._offset

    @property
    def size_hint(self) -> int:
        """The current file's size as last seen (for progress), 0 when there is none."""
        return max(self._size, self._pos) if self._file is not None else 0

    @property
    def caught_up(self) -> bool:
        """Whether the last `read()` reached the end of the file (False if `max_bytes` stopped it)."""
        return self._caught_up

    def read(self, max_bytes: Optional[int] = None) -> list[Chunk]:
        """Everything available now, as complete lines; [] if nothing is new.

        `max_bytes` caps the bytes read in this call (the rest comes with later calls).
        A missing file is not an error: it is waited for. Other `OSError`s propagate.
        """
        if self._closed:
            raise ValueError("read from a closed Tailer")
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self._caught_up = False
        batch = _Batch()
        try:
            self._read(batch, max_bytes)
        except OSError:
            # What was read before the error is consumed already: hand it over, and let the
            # error surface on the next call if it persists.
            if batch.empty():
                raise
        return batch.done()

    def close(self) -> None:
        """Close the file; the tailer cannot be read from afterwards."""
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Tailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, batch: _Batch, max_bytes: Optional[int]) -> None:
        if self._file is None:
            opened = self._open()
            if opened is None:
                self._caught_up = True
                return
            self._adopt(opened, batch, reset=False)
        else:
            self._check_content(batch)
        left = max_bytes
        while True:
            # The name is looked at before the drain, so that whatever reached the old file before
            # it was replaced is read before the switch.
            moved = self._name_moved()
            used, at_eof = self._drain(batch, left)
            if left is not None:
                left -= used
            if not at_eof or (left is not None and left <= 0):
                return
            replacement = self._open() if moved else None
            if replacement is None:
                if moved:  # the new file went away again before it could be opened
                    self._name_present = False
                self._caught_up = True
                return
            if self._pos and self._unchanged(replacement[0]):
                # rsync or an editor put a copy with more at the end in place: read on, not again.
                self._switch(replacement)
                continue
            self._finish(batch)
            self._adopt(replacement, batch, reset=True)

    def _open(self) -> Optional[tuple[BinaryIO, os.stat_result]]:
        try:
            # Non-blocking only so that a FIFO under the name cannot hang the open.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        except FileNotFoundError:
            return None
        f = open(fd, "rb", buffering=0)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", self.path)
            os.set_blocking(fd, True)
        except BaseException:
            f.close()
            raise
        return f, st

    def _adopt(self, opened: tuple[BinaryIO, os.stat_result], batch: _Batch, reset: bool) -> None:
        self._file, st = opened
        self._ident = (st.st_dev, st.st_ino)
        self._size = st.st_size
        self._name_present = True
        self._start_over()
        if reset:
            batch.reset()

    def _start_over(self) -> None:
        self._pos = 0
        self._offset = 0
        self._partial = b""
        self._discarding = False
        self._head = b""
        self._tail = b""

    def _check_content(self, batch: _Batch) -> None:
        """Start over from the top if the file shrank or the bytes already read changed."""
        assert self._file is not None
        self._size = os.fstat(self._file.fileno()).st_size
        if self._pos == 0:
            return
        if self._size < self._pos or not self._unchanged():
            self._start_over()
            batch.reset()

    def _unchanged(self, file: Optional[BinaryIO] = None) -> bool:
        """Whether `file` (default: the open one) holds the bytes read so far at the same places."""
        # A rewrite that kept the first bytes (same banner, same config) rarely keeps the bytes
        # just before our position too: check both ends of what was read.
        f = file if file is not None else self._file
        assert f is not None
        if _read_at(f, 0, len(self._head)) != self._head:
            return False
        if self._pos <= len(self._head):
            return True
        return _read_at(f, self._pos - len(self._tail), len(self._tail)) == self._tail

    def _drain(self, batch: _Batch, limit: Optional[int]) -> tuple[int, bool]:
        """Read from the open file up to `limit` bytes; returns (bytes read, reached the end)."""
        assert self._file is not None
        self._file.seek(self._pos)
        used = 0
        while limit is None or used < limit:
            n = self._read_size if limit is None else min(self._read_size, limit - used)
            if _readblock is not None and not self._discarding:
                if len(self._partial) < n // 2:
                    n -= len(self._partial)  # the held line and the read: n bytes, as malloc reuses
                got = self._read_lines(n, batch)
            else:
                data = self._file.read(n)
                got = len(data) if data else 0
                if got:
                    self._consume(data, batch)
            if not got:
                return used, True
            used += got
            if got < n:
                return used, True
        return used, False

    def _read_lines(self, n: int, batch: _Batch) -> int:
        """`_consume` of a read of up to `n` bytes, with the complete lines never copied: the block
        is the bytes object the read went into (`_readblock`). Returns the bytes read."""
        assert self._file is not None
        held = len(self._partial)
        got, block, rest = _readblock.read_lines(self._file.fileno(), self._partial, n)
        if not got:
            return 0
        base = self._pos
        self._pos += got
        # The first and last bytes of the read, for the fingerprints: the read is rest[held:]
        # without a block, else block[held:] + newline + rest.
        if block is None:
            first, last = rest[held : held + _FINGERPRINT], rest[max(held, len(rest) - _FINGERPRINT) :]
        else:
            last = block[max(held, len(block) - _FINGERPRINT) :] + b"\n" + rest[-_FINGERPRINT:]
            first = block[held : held + _FINGERPRINT]
            if len(first) < _FINGERPRINT:
                first = (first + b"\n" + rest)[:_FINGERPRINT]
        self._fingerprint(first, last)
        if block is None:
            self._hold(rest, batch)
        else:
            self._lines(block, base + len(block) - held + 1, rest, batch)
        return got

    def _fingerprint(self, first: bytes, last: bytes) -> None:
        """Note a read that starts with `first` and ends with `last` (at least their 64 bytes)."""
        if len(self._head) < _FINGERPRINT:
            self._head = (self._head + first)[:_FINGERPRINT]
        self._tail = (self._tail + last)[-_FINGERPRINT:]

    def _consume(self, data: bytes, batch: _Batch) -> None:
        base = self._pos
        self._pos += len(data)
        self._fingerprint(data[:_FINGERPRINT], data[-_FINGERPRINT:])
        if self._discarding:
            nl = data.find(b"\n")
            if nl < 0:
                batch.drop(len(data))
                return
            batch.drop(nl)
            self._discarding = False
            self._offset = base + nl + 1
            base += nl + 1
            data = data[nl + 1 :]
        last = data.rfind(b"\n")
        if last < 0:
            self._hold(self._partial + data, batch)
            return
        block = self._partial + memoryview(data)[:last]  # one copy, not a slice and a concatenation
        self._lines(block, base + last + 1, data[last + 1 :], batch)

    def _lines(self, block: bytes, offset: int, rest: bytes, batch: _Batch) -> None:
        """Hand on `block`, complete lines (the held partial line first) that end at `offset`,
        and hold `rest`, the torn line after them."""
        self._offset = offset
        if len(block) <= self._max_line and b"\r" not in block:
            batch.add_text(block)  # no line to drop or strip: the lines stay one text
        else:
            lines = block.split(b"\n")
            if len(block) > self._max_line:
                kept = []
                for line in lines:
                    if len(line) > self._max_line:
                        batch.drop(len(line))
                    else:
                        kept.append(line)
                lines = kept
            if b"\r" in block:
                lines = [_strip_cr(line) for line in lines]
            batch.add(lines)
        self._hold(rest, batch)

    def _hold(self, partial: bytes, batch: _Batch) -> None:
        if len(partial) > self._max_line:
            batch.drop(len(partial))
            self._partial = b""
            self._discarding = True
        else:
            self._partial = partial

    def _name_moved(self) -> bool:
        """Whether the name now refers to another file than the open one."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            # Deleted or moved away and not (yet) recreated: keep the old file, its writer may
            # still be appending to it.
            self._name_present = False
            return False
        self._name_present = True
        return (st.st_dev, st.st_ino) != self._ident

    def _switch(self, opened: tuple[BinaryIO, os.stat_result]) -> None:
        """Go on reading from `opened`, a copy of the open file with more at the end, at the same place."""
        assert self._file is not None
        self._file.close()
        self._file, st = opened
        self._ident = (st.st_dev, st.st_ino)
        self._size = st.st_size
        self._name_present = True

    def _finish(self, batch: _Batch) -> None:
        """Close the drained old file; its torn last line is a line now, as its writer is gone."""
        assert self._file is not None
        if self._partial:
            batch.add([_strip_cr(self._partial)])
        self._file.close()
        self._file = None
