"""What every format parser provides; the registry lives in `detr_watch.formats`."""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Optional, Protocol, Sequence

from detr_watch.records import Record

try:  # orjson is several times faster, but rejects bare NaN/Infinity: fall back per line.
    import orjson

    _orjson_loads: Optional[Callable[[bytes], Any]] = orjson.loads
    _OrjsonError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - depends on the environment
    _orjson_loads = None
    _OrjsonError = ValueError


def _constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


def loads(line: bytes) -> Any:
    """Parse one JSON line the way Python's json module wrote it (bare NaN/Infinity accepted).

    Raises ValueError on anything that is not JSON; never anything else.
    """
    if _orjson_loads is not None:
        try:
            return _orjson_loads(line)
        except _OrjsonError:
            pass
    try:
        text = line.decode("utf-8", errors="replace")
        return json.loads(text, parse_constant=_constant)
    except (ValueError, RecursionError) as exc:
        raise ValueError(str(exc)) from None


class Parser(Protocol):
    """Turns complete lines (bytes, without the line ending) into records.

    Parsers are stateful (previous step, run counter, CSV header ...) and never raise on
    bad input: a line they cannot use is counted in `skipped`.
    """

    name: str
    skipped: int

    def feed(self, lines: Sequence[bytes]) -> list[Record]: ...

    def reset(self) -> None:
        """The file was truncated or replaced: the next line is the top of a new file."""
        ...

    @property
    def recognised(self) -> bool:
        """Whether the lines so far are of this format (even with no metrics yet)."""
        ...
