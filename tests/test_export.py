"""export: one row per record, read back with the csv module; Parquet only with pyarrow."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path

import pytest
from conftest import DATA, REAL_LOGS, shared_log

from detr_watch.cli import run
from detr_watch.export import Collector, write_csv
from detr_watch.records import ITER, Record

MOQIXIS = DATA / "detr_logtxt_Moqixis_object_detection_detr.txt"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_one_row_per_record_even_when_records_share_a_step() -> None:
    c = Collector()
    c.add(
        "a.txt",
        [
            Record(0, {"train_loss": 2.0}, 0, ITER, epoch=0.5),
            Record(128, {"train_loss": 1.5}, 0, ITER, time=1700000000.25),
            Record(128, {"test_loss": 1.75, "test_coco_eval_bbox/AP": math.nan}, 0, ITER),
            Record(128, {}, 0, ITER),  # no metrics: not a record of the table
            Record(0, {"train_loss": math.inf}, 1, ITER),
        ],
    )
    out = io.StringIO()
    assert write_csv(c.table(), out) == 4
    text = out.getvalue()
    print(text)
    lines = text.splitlines()
    assert lines[0] == "log,run,axis,step,epoch,wall_time,test_coco_eval_bbox/AP,test_loss,train_loss"
    assert lines[1:] == [
        "a.txt,0,iter,0,0.5,,,,2",
        "a.txt,0,iter,128,,1700000000.25,,,1.5",
        "a.txt,0,iter,128,,,nan,1.75,",
        "a.txt,1,iter,0,,,,,inf",
    ]


def test_several_logs_share_the_columns() -> None:
    c = Collector()
    c.add("a", [Record(1, {"x": 0.1}), Record(2, {"x": 0.2})])
    c.add("b", [Record(1, {"y": -1e-7})])
    rows = csv_rows(_csv(c))
    assert [r["log"] for r in rows] == ["a", "a", "b"]
    assert [(r["x"], r["y"]) for r in rows] == [("0.1", ""), ("0.2", ""), ("", "-1e-07")]


def test_series_named_like_a_key_column_get_a_prefix() -> None:
    c = Collector()
    c.add("a", [Record(5, {"time": 0.25, "epoch": 3.0, "step": 7.0}, time=10.0)])
    rows = csv_rows(_csv(c))
    assert rows == [
        {
            "log": "a",
            "run": "0",
            "axis": "epoch",
            "step": "5",
            "epoch": "",
            "wall_time": "10",
            "series:epoch": "3",
            "series:step": "7",
            "time": "0.25",  # detectron2's and ultralytics' `time` is a series, not the wall clock
        }
    ]


def test_values_read_back_exactly() -> None:
    values = [0.1 + 0.2, 1 / 3, 123456789.123, 5e-324]
    c = Collector()
    c.add("a", [Record(i, {"v": v}) for i, v in enumerate(values)])
    assert [float(r["v"]) for r in csv_rows(_csv(c))] == values


def _csv(c: Collector) -> str:
    out = io.StringIO()
    write_csv(c.table(), out)
    return out.getvalue()


def test_cli_csv_of_a_real_log(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, out, err = cli("export", str(MOQIXIS), "--csv", str(target))
    assert code == 0, err
    with target.open(newline="") as f:
        rows = list(csv.DictReader(f))
    objects = [json.loads(line) for line in MOQIXIS.read_text().splitlines() if line.strip()]
    assert len(rows) == len(objects) == 7
    assert [r["step"] for r in rows] == [str(o["epoch"]) for o in objects]
    assert [r["run"] for r in rows] == ["0"] * 5 + ["1"] * 2
    assert [float(r["train_loss"]) for r in rows] == [o["train_loss"] for o in objects]
    assert "wrote 7 rows" in out and str(target) in out


def test_cli_csv_to_stdout_and_several_logs(tmp_path: Path) -> None:
    second = tmp_path / "log.txt"
    second.write_text(json.dumps({"epoch": 0, "train_loss": 3.5, "train_new": 1.0}) + "\n")
    code, out, err = cli("export", str(MOQIXIS), str(second), "--csv", "-")
    assert code == 0, err
    rows = csv_rows(out)
    assert len(rows) == 8 and rows[-1]["log"] == str(second) and rows[-1]["train_new"] == "1"
    assert rows[0]["log"] == str(MOQIXIS) and rows[0]["train_new"] == ""


def test_cli_needs_an_output() -> None:
    code, _, err = cli("export", str(MOQIXIS))
    assert code == 2 and err.startswith("error: nothing to write") and "hint: give --csv" in err


def test_cli_unwritable_target(tmp_path: Path) -> None:
    code, _, err = cli("export", str(MOQIXIS), "--csv", str(tmp_path / "missing" / "out.csv"))
    lines = err.splitlines()
    assert (
        code == 1
        and len(lines) == 2
        and lines[0].startswith("error: cannot write")
        and "Traceback" not in err
    )


def test_cli_parquet_without_pyarrow_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    target = tmp_path / "out.parquet"
    code, out, err = cli("export", str(MOQIXIS), "--parquet", str(target))
    print(repr(err))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "error: writing Parquet needs pyarrow, which is not installed",
        "hint: pip install pyarrow",
    ]
    assert not target.exists()


def test_cli_parquet_round_trip(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    target = tmp_path / "out.parquet"
    code, _, err = cli("export", str(MOQIXIS), "--parquet", str(target))
    assert code == 0, err
    t = pq.read_table(target)
    assert t.num_rows == 7 and t.column("step").to_pylist()[:2] == [0.0, 1.0]


@pytest.mark.parametrize("name", REAL_LOGS)
def test_every_real_log_exports_one_row_per_record(name: str) -> None:
    from detr_watch.pipeline import Source

    path = shared_log(name)
    source = Source(path)
    try:
        records = sum(1 for r in source.poll() + source.poll(final=True) if r.metrics)
    finally:
        source.close()
    code, out, err = cli("export", str(path), "--csv", "-")
    if records == 0:
        assert code == 1 and "no metrics" in err
        return
    assert code == 0, err
    rows = csv_rows(out)
    assert len(rows) == records
    assert all(r["step"] != "" and r["run"].isdigit() for r in rows)
