"""Log formats: detection from content, and a parser per format.

Each format module exposes `NAME`, `sniff(lines) -> int` (0-100) and `create() -> Parser`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Optional, Sequence

from detr_watch.blocks import Block, from_records
from detr_watch.formats import (
    detectron2_json,
    detectron2_stdout,
    detr_json,
    detr_stdout,
    mmdet_json,
    ultralytics_csv,
)
from detr_watch.formats.base import Parser

_MODULES: tuple[ModuleType, ...] = (
    detr_json,
    detr_stdout,
    detectron2_json,
    detectron2_stdout,
    ultralytics_csv,
    mmdet_json,
)
FORMATS: dict[str, ModuleType] = {m.NAME: m for m in _MODULES}


def detect(lines: Sequence[bytes]) -> Optional[str]:
    """The most likely format of a file starting with `lines`, or None."""
    best, best_score = None, 0
    for mod in _MODULES:
        score = int(mod.sniff(lines))
        if score > best_score:
            best, best_score = mod.NAME, score
    return best


def create(name: str) -> Parser:
    parser: Parser = FORMATS[name].create()
    return parser


def feed_blocks(parser: Parser, lines: Sequence[bytes]) -> list[Block]:
    """What `parser.feed(lines)` returns, as blocks (parsers that read in bulk make them directly)."""
    bulk = getattr(parser, "feed_blocks", None)
    if bulk is not None:
        out: list[Block] = bulk(lines)
        return out
    return from_records(parser.feed(lines))


__all__ = ["FORMATS", "Parser", "create", "detect", "feed_blocks"]
