"""Types of the tailer's compiled read (detr_watch/_readblock.c)."""

from typing import Optional

def read_lines(fd: int, partial: bytes, n: int) -> tuple[int, Optional[bytes], bytes]: ...
