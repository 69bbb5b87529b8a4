"""The tailer's compiled read (detr_watch/_readblock.c) against its definition in Python."""

from __future__ import annotations

import os
import tempfile
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:
    from detr_watch import _readblock
except ImportError:  # pragma: no cover - built wherever a C compiler is
    _readblock = None  # type: ignore[assignment]

needs_read = pytest.mark.skipif(_readblock is None, reason="detr_watch._readblock not built (no C compiler)")


def test_ci_builds_the_compiled_read() -> None:
    # Elsewhere it is optional (pip goes on without a compiler); CI must test it.
    if os.environ.get("CI") and _readblock is None:
        pytest.fail("CI installed detr-watch without detr_watch._readblock: is a C compiler missing?")


def defined(data: bytes, partial: bytes) -> tuple[int, Optional[bytes], bytes]:
    """What read_lines returns, in Python, for a read that gave `data`."""
    last = data.rfind(b"\n")
    if last < 0:
        return len(data), None, partial + data
    return len(data), partial + data[:last], data[last + 1 :]


@needs_read
@settings(max_examples=200, deadline=None)
@given(
    content=st.binary(max_size=300)
    | st.lists(st.sampled_from([b"ab", b"\n", b"\r\n", b"\x00", b"x" * 70])).map(b"".join),
    partial=st.binary(max_size=80).filter(lambda b: b"\n" not in b),
    start=st.integers(0, 300),
    n=st.integers(0, 400),
)
def test_a_read_is_cut_at_its_last_newline(content: bytes, partial: bytes, start: int, n: int) -> None:
    with tempfile.TemporaryFile() as f:
        f.write(content)
        f.flush()
        os.lseek(f.fileno(), start, os.SEEK_SET)
        got = _readblock.read_lines(f.fileno(), partial, n)
        assert got == defined(content[start : start + n], partial)
        assert os.lseek(f.fileno(), 0, os.SEEK_CUR) == start + got[0]  # the file moved on by the read


@needs_read
def test_a_big_read_and_the_end_of_the_file() -> None:
    content = b"".join(b"line %d\n" % i for i in range(500_000)) + b"torn"
    with tempfile.TemporaryFile() as f:
        f.write(content)
        f.seek(0)
        got, block, rest = _readblock.read_lines(f.fileno(), b"held ", 8 << 20)
        assert (got, block, rest) == defined(content, b"held ")
        assert type(block) is bytes and type(rest) is bytes
        assert _readblock.read_lines(f.fileno(), rest, 8 << 20) == (0, None, b"torn")


@needs_read
def test_errors_are_python_errors() -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError):
        _readblock.read_lines(r, b"", 10)  # closed
    with pytest.raises(OSError):
        _readblock.read_lines(-1, b"", 10)
    with pytest.raises(ValueError):
        _readblock.read_lines(0, b"", -1)
    with pytest.raises(TypeError):
        _readblock.read_lines(0, "text", 10)  # type: ignore[arg-type]
