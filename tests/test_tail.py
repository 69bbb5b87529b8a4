from __future__ import annotations

import errno
import os
import shutil
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DATA, shared_log
from hypothesis import given, settings
from hypothesis import strategies as st

from detr_watch import tail
from detr_watch.tail import Chunk, Lines, Tailer

STDOUT_LOG = "detr_stdout_FarjadAhmed_default_mha_10ep.txt"
JSON_LOG = "detr_logtxt_Moqixis_object_detection_detr.txt"


def real_log(name: str) -> bytes:
    path = DATA / name
    return (path if path.exists() else shared_log(name)).read_bytes()


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def lines(chunks: list[Chunk]) -> list[bytes]:
    return [line for chunk in chunks for line in chunk.lines]


def complete_lines(data: bytes) -> list[bytes]:
    """What a tail must have emitted once `data` is in the file: lines through the last LF."""
    return [line[:-1] if line.endswith(b"\r") else line for line in data.split(b"\n")[:-1]]


def read_all(tailer: Tailer, max_bytes: int | None = None) -> list[Chunk]:
    out = tailer.read(max_bytes)
    while not tailer.caught_up:
        out += tailer.read(max_bytes)
    return out


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "log.txt"


@pytest.fixture(scope="module", autouse=True, params=["compiled read", "python read"])
def reads(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test here twice: with the compiled read of complete lines (`_readblock`) and without."""
    saved = tail._readblock
    if request.param == "python read":
        tail._readblock = None  # type: ignore[assignment]
    elif saved is None:
        pytest.skip("detr_watch._readblock not built (no C compiler)")
    try:
        yield request.param
    finally:
        tail._readblock = saved


@settings(max_examples=50, deadline=None)
@given(data=st.data(), name=st.sampled_from([STDOUT_LOG, JSON_LOG]))
def test_any_split_of_a_real_log_gives_its_lines_once_in_order(data: st.DataObject, name: str) -> None:
    content = real_log(name)
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(content)), max_size=40), label="cuts")))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.txt"
        path.write_bytes(b"")
        with Tailer(path) as tailer:
            seen: list[bytes] = []
            start = 0
            for end in [*cuts, len(content)]:
                append(path, content[start:end])
                start = end
                chunks = tailer.read()
                assert not any(c.reset or c.dropped for c in chunks)
                seen += lines(chunks)
                # never early, never late: exactly the complete lines written so far
                assert seen == complete_lines(content[:end])
                assert tailer.offset == content.rfind(b"\n", 0, end) + 1
    assert seen == content.split(b"\n")[:-1]


@settings(max_examples=50, deadline=None)
@given(
    content=st.lists(
        st.sampled_from(
            [b"a", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x94\xa5", b"\r", b"\n", b"\r\n", b"\x00", b"\xff"]
        ),
        max_size=200,
    ).map(b"".join),
    data=st.data(),
)
def test_any_split_and_any_read_size_of_mixed_bytes(content: bytes, data: st.DataObject) -> None:
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(content)), max_size=20), label="cuts")))
    read_size = data.draw(st.integers(1, 16), label="read_size")
    max_bytes = data.draw(st.none() | st.integers(1, 32), label="max_bytes")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.txt"
        path.write_bytes(b"")
        with Tailer(path, read_size=read_size) as tailer:
            seen: list[bytes] = []
            start = 0
            for end in [*cuts, len(content)]:
                append(path, content[start:end])
                start = end
                seen += lines(read_all(tailer, max_bytes))
                assert seen == complete_lines(content[:end])


def test_split_mid_line_and_mid_utf8_character(log: Path) -> None:
    line = "loss: 0.5 → ok ✓".encode()
    log.write_bytes(b"")
    tailer = Tailer(log)
    split = line.index(b"\xe2") + 1  # inside the three bytes of the arrow
    append(log, line[:split])
    assert tailer.read() == []
    append(log, line[split:] + b"\n")
    assert tailer.read() == [Chunk(False, [line])]


def test_crlf_ends_a_line_and_a_lone_cr_does_not(log: Path) -> None:
    log.write_bytes(b"a\r\nb\r")
    tailer = Tailer(log)
    assert lines(tailer.read()) == [b"a"]
    append(log, b"\nprogress 1\rprogress 2\n")
    assert lines(tailer.read()) == [b"b", b"progress 1\rprogress 2"]


def test_final_line_without_newline_is_held_back_then_completed(log: Path) -> None:
    log.write_bytes(b'{"epoch": 0}\n{"epoch": 1')
    tailer = Tailer(log)
    assert tailer.read() == [Chunk(False, [b'{"epoch": 0}'])]
    assert tailer.offset == 13 and tailer.size_hint == 24
    assert tailer.read() == []
    append(log, b', "loss": 2}\n')
    assert tailer.read() == [Chunk(False, [b'{"epoch": 1, "loss": 2}'])]
    assert tailer.offset == log.stat().st_size


def test_truncation_to_zero_then_rewrite(log: Path) -> None:
    log.write_bytes(b"old 1\nold 2\n")
    tailer = Tailer(log)
    assert lines(tailer.read()) == [b"old 1", b"old 2"]
    os.truncate(log, 0)
    assert tailer.read() == [Chunk(True, [])]
    assert tailer.offset == 0
    append(log, b"new 1\n")
    assert tailer.read() == [Chunk(False, [b"new 1"])]


def test_truncated_and_rewritten_shorter_between_reads(log: Path) -> None:
    log.write_bytes(b"old 1\nold 2\nold 3\n")
    tailer = Tailer(log)
    tailer.read()
    log.write_bytes(b"new 1\n")
    assert tailer.read() == [Chunk(True, [b"new 1"])]


@pytest.mark.parametrize(
    "new", [b"NEW 1\nNEW 2\n", b"new 1\nnew 2\nnew 3\nnew 4\n"], ids=["same-size", "larger"]
)
def test_rewrite_with_same_or_larger_size_is_a_reset(log: Path, new: bytes) -> None:
    log.write_bytes(b"old 1\nold 2\n")
    tailer = Tailer(log)
    tailer.read()
    log.write_bytes(new)
    assert tailer.read() == [Chunk(True, complete_lines(new))]


def test_rewrite_that_keeps_the_banner_is_a_reset(log: Path) -> None:
    # A restarted run writes the same first lines (git sha, config) and is already past our offset.
    banner = b"Not using distributed mode\ngit:\n  sha: 8a144f83a287f4d3fece4acdf073f387c5af387d\n"
    log.write_bytes(banner + b"Epoch: [0] loss: 9.1\n")
    tailer = Tailer(log)
    tailer.read()
    log.write_bytes(banner + b"Epoch: [0] loss: 8.7\nEpoch: [1] loss: 8.2\n")
    assert lines(tailer.read()) == [*complete_lines(banner), b"Epoch: [0] loss: 8.7", b"Epoch: [1] loss: 8.2"]


def test_copy_truncate_rotation(log: Path, tmp_path: Path) -> None:
    with open(log, "ab") as writer:  # O_APPEND, as loggers open their files
        writer.write(b"1\n2\n")
        writer.flush()
        tailer = Tailer(log)
        assert lines(tailer.read()) == [b"1", b"2"]
        shutil.copyfile(log, tmp_path / "log.txt.1")
        os.truncate(log, 0)
        writer.write(b"3\n")
        writer.flush()
        assert tailer.read() == [Chunk(True, [b"3"])]
        writer.write(b"4\n")
        writer.flush()
        assert tailer.read() == [Chunk(False, [b"4"])]


def test_rename_and_recreate_drains_the_old_file_first(log: Path, tmp_path: Path) -> None:
    log.write_bytes(b"1\n2\npart")
    tailer = Tailer(log)
    assert lines(tailer.read()) == [b"1", b"2"]
    append(log, b"ial\n3\nlast line, never finished")
    os.rename(log, tmp_path / "log.txt.1")
    log.write_bytes(b"new 1\n")
    assert tailer.read() == [
        Chunk(False, [b"partial", b"3", b"last line, never finished"]),
        Chunk(True, [b"new 1"]),
    ]
    append(log, b"new 2\n")
    assert tailer.read() == [Chunk(False, [b"new 2"])]
    append(tmp_path / "log.txt.1", b"\nlate write to the old file\n")
    assert tailer.read() == []


def test_delete_and_recreate(log: Path) -> None:
    log.write_bytes(b"1\n")
    tailer = Tailer(log)
    assert lines(tailer.read()) == [b"1"]
    with open(log, "ab") as writer:
        os.unlink(log)
        # The writer still holds the deleted file: what it writes there is not lost.
        writer.write(b"2\n")
        writer.flush()
        assert tailer.read() == [Chunk(False, [b"2"])]
        assert not tailer.exists
        assert tailer.read() == []
    log.write_bytes(b"new 1\n")
    assert tailer.read() == [Chunk(True, [b"new 1"])]
    assert tailer.exists


def test_replacement_by_os_replace(log: Path, tmp_path: Path) -> None:
    log.write_bytes(b"1\n2\n")
    tailer = Tailer(log)
    tailer.read()
    append(log, b"3\n")
    tmp = tmp_path / ".log.txt.tmp"
    tmp.write_bytes(b"one\ntwo\n")
    os.replace(tmp, log)
    assert tailer.read() == [Chunk(False, [b"3"]), Chunk(True, [b"one", b"two"])]


def test_replacement_with_the_same_bytes_and_more_reads_on(log: Path, tmp_path: Path) -> None:
    # rsync without --inplace, or an editor's save: a new inode holding what was read, and more.
    log.write_bytes(b"1\n2\npar")
    tailer = Tailer(log)
    assert lines(tailer.read()) == [b"1", b"2"]
    append(log, b"tial\n3\n")
    tmp = tmp_path / ".log.txt.tmp"
    tmp.write_bytes(b"1\n2\npartial\n3\n4\n")
    os.replace(tmp, log)
    assert tailer.read() == [Chunk(False, [b"partial", b"3", b"4"])]
    append(log, b"5\n")
    assert tailer.read() == [Chunk(False, [b"5"])]


def test_replacement_that_differs_before_the_read_position_is_a_reset(log: Path, tmp_path: Path) -> None:
    old = b"".join(b"line %d\n" % i for i in range(40))
    log.write_bytes(old)
    tailer = Tailer(log)
    tailer.read()
    tmp = tmp_path / ".log.txt.tmp"
    new = old[:-8] + b"line 99\nmore\n"  # longer, the same first bytes, but the last line read differs
    tmp.write_bytes(new)
    os.replace(tmp, log)
    assert tailer.read() == [Chunk(True, complete_lines(new))]


def test_missing_file_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "output" / "log.txt"
    tailer = Tailer(path)
    assert tailer.read() == []
    assert not tailer.exists and tailer.offset == 0 and tailer.size_hint == 0 and tailer.caught_up
    path.parent.mkdir()
    assert tailer.read() == []
    path.write_bytes(b"1\n")
    assert tailer.read() == [Chunk(False, [b"1"])]
    assert tailer.exists


def test_burst_of_ten_thousand_lines(log: Path) -> None:
    expected = [f'{{"epoch": {i}, "loss": {1 / (i + 1)!r}}}'.encode() for i in range(10_000)]
    log.write_bytes(b"")
    tailer = Tailer(log)
    append(log, b"\n".join(expected) + b"\n")
    assert tailer.read() == [Chunk(False, expected)]
    assert tailer.offset == tailer.size_hint == log.stat().st_size


def test_read_in_slices(log: Path) -> None:
    expected = [b"x" * (i % 50) for i in range(10_000)]
    log.write_bytes(b"\n".join(expected) + b"\n")
    tailer = Tailer(log, read_size=1000)
    seen: list[bytes] = []
    offsets = []
    while True:
        seen += lines(tailer.read(4096))
        offsets.append(tailer.offset)
        if tailer.caught_up:
            break
    assert seen == expected
    assert len(offsets) > 10 and offsets == sorted(offsets)
    assert offsets[-1] == tailer.size_hint == log.stat().st_size


def test_invalid_utf8_and_nul_bytes_pass_through(log: Path) -> None:
    log.write_bytes(b"\xff\xfe\x00abc\n\x00\x00\n\xc3\n")
    assert lines(Tailer(log).read()) == [b"\xff\xfe\x00abc", b"\x00\x00", b"\xc3"]


def test_huge_line_without_newline_keeps_memory_bounded(log: Path) -> None:
    max_line = 1 << 20
    log.write_bytes(b"before\n")
    tailer = Tailer(log, max_line=max_line, read_size=1 << 18)
    assert lines(tailer.read()) == [b"before"]
    piece = b"\x00junk" * (1 << 18)  # 1.25 MiB
    dropped = 0
    tracemalloc.start()
    try:
        for _ in range(24):  # 30 MiB in all
            append(log, piece)
            chunks = tailer.read()
            assert lines(chunks) == []
            dropped += sum(c.dropped for c in chunks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * max_line, peak
    append(log, b"tail of the huge line\nnext line\n")
    chunks = tailer.read()
    assert lines(chunks) == [b"next line"]
    dropped += sum(c.dropped for c in chunks)
    assert dropped == 24 * len(piece) + len(b"tail of the huge line")
    assert tailer.offset == log.stat().st_size


def test_complete_line_over_max_line_is_dropped_too(log: Path) -> None:
    log.write_bytes(b"short\n" + b"y" * 100 + b"\nafter\n")
    assert Tailer(log, max_line=50).read() == [Chunk(False, [b"short", b"after"], dropped=100)]


def test_opens_the_file_read_only(log: Path) -> None:
    if not os.path.isdir("/proc/self/fdinfo"):
        pytest.skip("needs /proc")
    log.write_bytes(b"1\n")
    with Tailer(log) as tailer:
        tailer.read()
        flags = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}") != str(log):
                    continue
                info = Path(f"/proc/self/fdinfo/{fd}").read_text()
            except OSError:
                continue
            flags += [int(line.split()[1], 8) for line in info.splitlines() if line.startswith("flags:")]
    assert len(flags) == 1
    assert flags[0] & os.O_ACCMODE == os.O_RDONLY


def test_a_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        Tailer(tmp_path).read()


def test_a_fifo_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as info:
        Tailer(fifo).read()
    assert info.value.errno == errno.EINVAL


def test_error_on_the_new_file_comes_after_the_old_files_lines(log: Path, tmp_path: Path) -> None:
    log.write_bytes(b"1\n")
    tailer = Tailer(log)
    tailer.read()
    append(log, b"2\n")
    os.rename(log, tmp_path / "log.txt.1")
    log.mkdir()
    assert tailer.read() == [Chunk(False, [b"2"])]
    with pytest.raises(IsADirectoryError):
        tailer.read()


def test_read_after_close_is_an_error(log: Path) -> None:
    log.write_bytes(b"1\n")
    tailer = Tailer(log)
    tailer.read()
    tailer.close()
    tailer.close()
    assert not tailer.exists
    with pytest.raises(ValueError):
        tailer.read()


def test_lines_are_the_text_as_read_and_equal_its_lines() -> None:
    lines = Lines([b"a\nb", b"", b"c\r"])
    assert len(lines) == 4 and lines == [b"a", b"b", b"", b"c\r"] and [b"a", b"b", b"", b"c\r"] == lines
    assert lines[1] == b"b" and lines[-1] == b"c\r" and lines[1:3] == [b"b", b""]
    assert Lines() == [] and len(Lines()) == 0 and lines != [b"a"]
    assert lines.parts == [b"a\nb", b"", b"c\r"]  # what a bulk parser takes as it is
    for n in range(6):  # the head that format detection looks at, cut from the text alone
        assert Lines([b"a\nb", b"", b"c\r"]).first(n) == lines.first(n) == [b"a", b"b", b"", b"c\r"][:n]


def test_a_read_hands_over_the_text_it_read_uncut(log: Path) -> None:
    log.write_bytes(b"one\ntwo\nthr")
    (chunk,) = Tailer(log).read()
    assert isinstance(chunk.lines, Lines) and chunk.lines.parts == [b"one\ntwo"]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), name=st.sampled_from([STDOUT_LOG, JSON_LOG]), where=st.sampled_from(["first", "last"]))
def test_a_changed_byte_in_the_first_or_last_64_read_is_a_reset(
    data: st.DataObject, name: str, where: str
) -> None:
    # The rewrite check compares the first 64 bytes of the file and the 64 before the read
    # position: each way of reading must keep them as the file has them, whatever the reads and
    # torn lines (the first reads may be shorter than 64 bytes).
    content = real_log(name)[:6000]
    cuts = sorted(
        set(data.draw(st.lists(st.integers(1, len(content)), min_size=1, max_size=8), label="cuts"))
    )
    if cuts[-1] < 130:
        cuts.append(130)
    read_size = data.draw(st.sampled_from([7, 40, 100, 1000, 4 << 20]), label="read_size")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.txt"
        path.write_bytes(b"")
        with Tailer(path, read_size=read_size) as tailer:
            start = 0
            for end in cuts:
                append(path, content[start:end])
                start = end
                assert not any(c.reset for c in read_all(tailer))  # no change, no reset
            at = data.draw(st.integers(0, 63), label="at")
            changed = bytearray(content[:end])
            changed[at if where == "first" else end - 1 - at] ^= 0x20  # same size, one byte differs
            with open(path, "r+b") as f:  # in place: the same file
                f.write(changed)
            chunks = read_all(tailer)
            assert chunks and chunks[0].reset, (end, at)
