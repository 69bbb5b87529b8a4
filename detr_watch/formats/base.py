"""What every format parser provides; the registry lives in `detr_watch.formats`."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Iterator, Optional, Protocol, Sequence

from detr_watch.records import Record, as_float

# Before 3.9.15 orjson had no depth limit: one deeply nested line crashed the process with SIGSEGV
# (CVE-2024-27454). Such a version is left unused.
ORJSON_MIN = (3, 9, 15)

try:  # orjson is several times faster, but rejects bare NaN/Infinity: fall back per line.
    import orjson

    if tuple(int(p) for p in re.findall(r"\d+", orjson.__version__)[:3]) < ORJSON_MIN:
        raise ImportError(f"orjson {orjson.__version__} is older than 3.9.15")
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
    return _json_loads(line)


def _json_loads(line: bytes) -> Any:
    try:
        text = line.decode("utf-8", errors="replace")
        return json.loads(text, parse_constant=_constant)
    except (ValueError, RecursionError) as exc:
        raise ValueError(str(exc)) from None


def json_object(line: bytes) -> Optional[dict[str, Any]]:
    """The JSON object on this line, or None when the line holds anything else."""
    if line[:1] == b"{" and _orjson_loads is not None:  # the usual line: no strip, no copy
        try:
            return _orjson_loads(line)  # type: ignore[no-any-return]  # a text opening with { is an object
        except _OrjsonError:
            pass
    # NULs too: a crash can leave a block of them where the next run's first line then starts.
    s = line.strip(b" \t\r\n\x0b\x0c\x00")
    if not s.startswith(b"{"):  # cheap rejection: console lines never parse
        return None
    try:
        obj = loads(s) if s is not line else _json_loads(s)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def head_objects(lines: Sequence[bytes], limit: int = 3) -> Iterator[Optional[dict[str, Any]]]:
    """The first `limit` non-empty lines as JSON objects (None for a line that is not one)."""
    seen = 0
    for line in lines:
        if not line.strip():
            continue
        yield json_object(line)
        seen += 1
        if seen >= limit:
            return


def finite(value: Any) -> Optional[float]:
    """A JSON number that can serve as a step (finite, not a bool), else None."""
    v = as_float(value)
    return v if v is not None and math.isfinite(v) else None


# One number as the training code prints it ("0.4200", "1e-05", "nan", "-inf"), as bytes.
NUMBER = rb"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|(?i:nan|inf(?:inity)?))"
NUMBER_RE = re.compile(NUMBER)


def to_float(text: bytes) -> Optional[float]:
    """A number cell or token as a float; None when it is not exactly one number."""
    t = text.strip()
    if not NUMBER_RE.fullmatch(t):
        return None
    return float(t)


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
