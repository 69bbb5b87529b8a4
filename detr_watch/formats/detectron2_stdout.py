"""detectron2 / detrex console log (the `log.txt` of the run directory, or the captured stdout)::

    [01/08 22:47:08] d2.utils.events INFO:  eta: 46 days, 0:45:09  iter: 19  total_loss: 50.6  ...

Both logger formats are read: the file's `[01/08 22:47:08] d2.utils.events INFO: ` and the
console's `[01/08 22:47:08 d2.utils.events]: `, with or without colour codes.

- Events lines (`iter: N` after `eta:`): one record at step N, axis ITER, with every
  `name: number` after `iter:` under the name metrics.json uses (`total_loss`, `loss_class`,
  `time`, `data_time`, `lr`, ...). `eta:` is a clock reading and `max_mem: 23550M` is not a
  plain number: neither becomes a series.
- Evaluation: the three `d2.evaluation.testing` lines `copypaste: Task: bbox`,
  `copypaste: AP,AP50,...`, `copypaste: 40.1,61.2,...` give `bbox/AP`, `bbox/AP50`, ... (the
  metrics.json names), NaN (could not be computed) dropped, at the current iteration: the last
  events line's, or the one of "Starting training from iteration N". detectron2 evaluates just
  before it prints the events line of the same iteration, so results land one logging period
  early rather than waiting for a line that a killed run never writes. They join the current run.
- Time: from the `[MM/DD HH:MM:SS]` stamp, local time. The stamp has no year: the current year,
  or the previous one when that would put the first stamp in the future; a month that goes
  backwards moves to the next year.
- Runs: a new run starts where the iteration does not increase (a resume from an earlier
  checkpoint appends to the same log.txt).
- Recognised: a stamped line from a detectron2-family logger (`d2`, `detectron2`, `fvcore`,
  `detrex`), or an events line. Not skipped: events lines, copypaste lines, "Starting training
  from iteration N". Everything else (environment, config and model dumps, warnings,
  tracebacks) is skipped.
"""

from __future__ import annotations

import re
import time
from typing import Optional, Sequence

from detr_watch.formats.base import NUMBER, to_float
from detr_watch.formats.detectron2_json import is_missing_ap
from detr_watch.records import ITER, Record, RunTracker

NAME = "detectron2-stdout"

# `[01/08 22:47:08] name LEVEL:` (file) or `[01/08 22:47:08 name]:` (console), at the start of
# the line but for colour codes and the console's "WARNING"/"ERROR" tag.
_STAMP = re.compile(
    rb"(?:\x1b\[[0-9;]*m ?|[A-Z]+\b ?)*"
    rb"\[(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\] ([\w.\-]+) [A-Z]+:| ([\w.\-]+)\]:)"
)
_ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")
_ITER = re.compile(rb"(?:^|\s)iter: (\d+)(?=\s|$)")
_FIELD = re.compile(rb"([A-Za-z_][\w./\-]*): (" + NUMBER + rb")(?![\w.:])")
_COLUMN = re.compile(rb"[\w@.\-]+")
_FAMILY = (b"d2", b"detectron2", b"fvcore", b"detrex")
_STARTING = b"Starting training from iteration "


def sniff(lines: Sequence[bytes]) -> int:
    """Confidence 0-100 that these first lines are a detectron2 console log."""
    for line in lines:
        m = _STAMP.match(line)
        if m is None:
            continue
        name = m.group(6) or m.group(7) or b""
        if name.split(b".")[0] in _FAMILY:
            return 90
    return 0


class Detectron2StdoutParser:
    name = NAME

    def __init__(self, now: Optional[float] = None) -> None:
        self.skipped = 0
        self._seen = False
        self._runs = RunTracker()
        self._now = time.time() if now is None else now
        self._year: Optional[int] = None
        self._month = 0
        self._iter = 0.0
        self._task: Optional[str] = None
        self._columns: Optional[list[str]] = None

    @property
    def recognised(self) -> bool:
        return self._seen

    def reset(self) -> None:
        self._runs.reset()
        self._year = None
        self._month = 0
        self._iter = 0.0
        self._task = None
        self._columns = None

    def feed(self, lines: Sequence[bytes]) -> list[Record]:
        out: list[Record] = []
        for line in lines:
            if not self._line(line, out) and line and not line.isspace():
                self.skipped += 1
        return out

    def _line(self, line: bytes, out: list[Record]) -> bool:
        """Handle one line; False when it carried nothing usable."""
        stamp = _STAMP.match(line)
        if stamp is None:
            return False
        logger = stamp.group(6) or stamp.group(7) or b""
        if logger.split(b".")[0] in _FAMILY:
            self._seen = True
        msg = line[stamp.end() :]
        if b"\x1b" in msg:
            msg = _ANSI.sub(b"", msg)
        it = _ITER.search(msg)
        if it is not None and (b"eta:" in msg[: it.start() + 1] or logger.endswith(b"events")):
            return self._events(msg, it, stamp, out)
        msg = msg.strip()
        if msg.startswith(b"copypaste: "):
            return self._copypaste(msg[11:].strip(), stamp, out)
        if msg.startswith(_STARTING):
            start = to_float(msg[len(_STARTING) :])
            if start is not None:
                self._iter = start
                return True
        return False

    def _events(self, msg: bytes, it: re.Match[bytes], stamp: re.Match[bytes], out: list[Record]) -> bool:
        self._seen = True
        step = float(it.group(1))
        self._iter = step
        metrics: dict[str, float] = {}
        for name, value in _FIELD.findall(msg, it.end()):
            if name != b"eta":
                metrics[name.decode("ascii")] = float(value)
        if not metrics:
            return True
        out.append(Record(step, metrics, self._runs.assign(step), ITER, self._time(stamp)))
        return True

    def _copypaste(self, rest: bytes, stamp: re.Match[bytes], out: list[Record]) -> bool:
        if rest.startswith(b"Task: "):
            self._task = rest[6:].strip().decode("utf-8", "replace")
            self._columns = None
            return True
        if self._task is None:
            return False
        cells = [c.strip() for c in rest.split(b",")]
        if self._columns is None:
            if not all(_COLUMN.fullmatch(c) for c in cells):
                return False
            self._columns = [c.decode("ascii") for c in cells]
            return True
        metrics: dict[str, float] = {}
        for column, cell in zip(self._columns, cells):
            value = to_float(cell)
            name = f"{self._task}/{column}"
            if value is not None and not is_missing_ap(name, value):
                metrics[name] = value
        self._task, self._columns = None, None
        if metrics:
            out.append(Record(self._iter, metrics, self._runs.run, ITER, self._time(stamp)))
        return True

    def _time(self, stamp: re.Match[bytes]) -> Optional[float]:
        month, day, hh, mm, ss = (int(g) for g in stamp.group(1, 2, 3, 4, 5))
        if self._year is None:
            year = time.localtime(self._now).tm_year
            if self._mktime(year, month, day, hh, mm, ss) > self._now + 86400:
                year -= 1  # a log from December read in January
            self._year = year
        elif month < self._month:
            self._year += 1
        self._month = month
        t = self._mktime(self._year, month, day, hh, mm, ss)
        return None if t != t else t

    @staticmethod
    def _mktime(year: int, month: int, day: int, hh: int, mm: int, ss: int) -> float:
        try:
            return time.mktime((year, month, day, hh, mm, ss, 0, 0, -1))
        except (OverflowError, ValueError):
            return float("nan")


def create() -> Detectron2StdoutParser:
    return Detectron2StdoutParser()
