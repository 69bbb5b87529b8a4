"""Parsers with their bulk paths switched off: the plain, line-by-line reference the bulk readers
must agree with (tests/test_formats_bulk.py, tests/test_detr_json_bulk.py)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Optional

from detr_watch.formats import detr_json, detr_stdout


class PlainStdout(detr_stdout.DetrStdoutParser):
    """detr-stdout that never learns a layout: every line is read on its own."""

    def _learn(self, line: bytes, skeleton: bytes) -> Any:
        return None


class PlainJson(detr_json.DetrJsonParser):
    """detr-json with no plans: every object goes through `numeric_fields`."""

    def __init__(self) -> None:
        super().__init__()
        self._shapes = _NoShapes()


class _NoShapes(dict):  # type: ignore[type-arg]
    def get(self, key: Any, default: Any = None) -> Any:
        return None

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


@contextmanager
def json_reader(compiled: bool = True, split: Optional[int] = None) -> Iterator[None]:
    """detr-json with its compiled reader (`_jsonrows`) or without it (the JSON path alone), and
    texts of `split` bytes or more read by two threads (default: as shipped)."""
    saved = detr_json._jsonrows, detr_json._SPLIT_BYTES
    if not compiled:
        detr_json._jsonrows = None  # type: ignore[assignment]
    if split is not None:
        detr_json._SPLIT_BYTES = split
    try:
        yield
    finally:
        detr_json._jsonrows, detr_json._SPLIT_BYTES = saved
