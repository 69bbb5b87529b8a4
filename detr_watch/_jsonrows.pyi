"""Types of the compiled reader (detr_watch/_jsonrows.c)."""

from typing import Any, Sequence, Union

EXTENDED: int  # 1 where long double has the 64 bits that numbers of 17 digits need

def rows(
    source: Union[bytes, Sequence[bytes]],
    start: int,
    pieces: tuple[bytes, ...],
    out: Any,
    stop: int = ...,
    minus_one: tuple[int, ...] = ...,
) -> tuple[int, int]: ...
