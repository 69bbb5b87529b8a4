"""figure: the figure object (axes, lines, scales) and the written file's header and size, not pixels."""

from __future__ import annotations

import io
import math
import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DATA, REAL_LOGS, load_real_log

from detr_watch.analysis import ema
from detr_watch.cli import run
from detr_watch.errors import DetrWatchError
from detr_watch.figure import BREAKDOWN_TITLE, build_figure, save_figure
from detr_watch.records import Record, coco_series
from detr_watch.store import SeriesStore, Snapshot

pytest.importorskip("matplotlib")

MOQIXIS = DATA / "detr_logtxt_Moqixis_object_detection_detr.txt"
TITLES = [
    "Total loss",
    "Box AP@[.5:.95]",
    "Classification loss",
    "L1 box loss (unscaled)",
    "GIoU loss (unscaled)",
    "Box AP50",
    "Class error (%)",
    "Learning rate",
    BREAKDOWN_TITLE,
]


def detr_records(epochs: int = 6, scale: float = 1.0, run: int = 0, first: int = 0) -> list[Record]:
    out = []
    for e in range(first, first + epochs):
        m: dict[str, float] = {"train_lr": 1e-4}
        for split in ("train", "test"):
            p = split + "_"
            m[p + "loss"] = scale * (10.0 / (e + 1) + (0.5 if split == "test" else 0.0))
            m[p + "loss_ce"] = scale * 2.0 / (e + 1)
            m[p + "loss_ce_0"] = scale * 2.5 / (e + 1)
            m[p + "loss_bbox"] = scale * 5 * 0.1 / (e + 1)
            m[p + "loss_bbox_unscaled"] = scale * 0.1 / (e + 1)
            m[p + "loss_giou"] = scale * 2 * 0.4 / (e + 1)
            m[p + "loss_giou_unscaled"] = scale * 0.4 / (e + 1)
            m[p + "class_error"] = 100.0 / (e + 1)
        ap = 0.05 * e
        m.update(coco_series("test_coco_eval_bbox", [ap, ap + 0.2, ap, -1, ap, ap + 0.1, 0, 0, 0, 0, 0, 0]))
        out.append(Record(float(e), m, run))
    return out


def snap(records: list[Record]) -> Snapshot:
    store = SeriesStore()
    store.append(records)
    return store.snapshot()


def lines_of(fig: Any) -> dict[str, list[Any]]:
    return {ax.get_title(): ax.get_lines() for ax in fig.axes}


def test_one_axes_per_chart_and_the_expected_lines() -> None:
    fig = build_figure([("log.txt", snap(detr_records()))])
    assert [ax.get_title() for ax in fig.axes] == TITLES
    counts = {title: len(lines) for title, lines in lines_of(fig).items()}
    print(counts)
    assert counts == {
        "Total loss": 2,
        "Box AP@[.5:.95]": 1,
        "Classification loss": 2,
        "L1 box loss (unscaled)": 2,
        "GIoU loss (unscaled)": 2,
        "Box AP50": 1,
        "Class error (%)": 2,
        "Learning rate": 1,
        BREAKDOWN_TITLE: 5,  # APs is -1 (no small objects): AP AP50 AP75 APm APl
    }
    total = lines_of(fig)["Total loss"]
    assert [line.get_label() for line in total] == ["train", "test"]
    assert [line.get_linestyle() for line in total] == ["-", "--"]
    np.testing.assert_allclose(total[0].get_xdata(), np.arange(6.0))
    np.testing.assert_allclose(total[0].get_ydata(), 10.0 / (np.arange(6.0) + 1))
    assert [line.get_label() for line in lines_of(fig)[BREAKDOWN_TITLE]] == [
        "AP",
        "AP50",
        "AP75",
        "APm",
        "APl",
    ]


def test_several_logs_are_overlaid_with_a_legend() -> None:
    fig = build_figure([("a", snap(detr_records())), ("b", snap(detr_records(4, scale=2.0)))])
    total = lines_of(fig)["Total loss"]
    assert [line.get_label() for line in total] == ["a · train", "a · test", "b · train", "b · test"]
    assert total[0].get_color() != total[2].get_color() and total[0].get_color() == total[1].get_color()
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["a · train", "a · test", "b · train", "b · test"]
    assert len(lines_of(fig)[BREAKDOWN_TITLE]) == 10


def test_smoothing_is_tensorboards_ema_on_losses_only() -> None:
    fig = build_figure([("log", snap(detr_records()))], smoothing=0.6)
    lines = lines_of(fig)
    assert len(lines["Total loss"]) == 4  # raw (faint, unlabelled) + smoothed, per split
    raw, smooth = lines["Total loss"][0], lines["Total loss"][1]
    assert raw.get_label().startswith("_") and raw.get_alpha() == 0.25
    assert smooth.get_label() == "train"
    np.testing.assert_allclose(smooth.get_ydata(), ema(raw.get_ydata(), 0.6))
    assert len(lines["Box AP@[.5:.95]"]) == 1 and len(lines["Learning rate"]) == 1
    assert len(lines[BREAKDOWN_TITLE]) == 5
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["train", "test"]


def test_log_scale_on_losses_not_on_ap() -> None:
    fig = build_figure([("log", snap(detr_records()))], log_y=True)
    scales = {ax.get_title(): ax.get_yscale() for ax in fig.axes}
    assert scales["Total loss"] == "log" and scales["Learning rate"] == "log"
    assert scales["Box AP@[.5:.95]"] == "linear" and scales[BREAKDOWN_TITLE] == "linear"


def test_log_scale_leaves_out_values_that_are_not_positive() -> None:
    records = [Record(float(i), {"train_loss": v}) for i, v in enumerate([2.0, 0.0, 1.0, -1.0, 0.5])]
    fig = build_figure([("log", snap(records))], log_y=True)
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == [2.0, 1.0, 0.5]


def test_log_scale_with_smoothing_smooths_first_then_hides() -> None:
    values = [2.0, 0.0, 1.0, -1.0, 0.5]
    records = [Record(float(i), {"train_loss": v}) for i, v in enumerate(values)]
    fig = build_figure([("log", snap(records))], log_y=True, smoothing=0.5)
    raw, smooth = fig.axes[0].get_lines()
    assert list(raw.get_ydata()) == [2.0, 1.0, 0.5]
    expected = ema(values, 0.5)
    np.testing.assert_allclose(smooth.get_ydata(), expected[expected > 0])


def test_restarts_are_stitched_or_overlaid() -> None:
    records = detr_records(4) + detr_records(3, scale=3.0, run=1, first=2)
    stitched = build_figure([("log", snap(records))])
    train = lines_of(stitched)["Total loss"][0]
    assert list(train.get_xdata()) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert train.get_ydata()[2] == 3.0 * 10.0 / 3  # run 1 replaced step 2
    overlaid = build_figure([("log", snap(records))], runs="overlay")
    labels = [line.get_label() for line in lines_of(overlaid)["Total loss"]]
    assert labels == ["log run 0 · train", "log run 0 · test", "log run 1 · train", "log run 1 · test"]


def test_nonfinite_points_are_left_out() -> None:
    records = [Record(float(i), {"train_loss": v}) for i, v in enumerate([2.0, math.nan, 1.0, math.inf, 0.5])]
    fig = build_figure([("log", snap(records))])
    line = fig.axes[0].get_lines()[0]
    assert list(line.get_xdata()) == [0.0, 2.0, 4.0] and list(line.get_ydata()) == [2.0, 1.0, 0.5]


def test_nothing_to_plot_is_an_error() -> None:
    with pytest.raises(DetrWatchError, match="nothing to plot"):
        build_figure([("log", snap([Record(0.0, {"n_things": 3.0})]))])


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_png_has_the_requested_size(tmp_path: Path) -> None:
    target = tmp_path / "fig.png"
    assert save_figure([("log", snap(detr_records()))], target, width_in=8, height_in=5, dpi=50) == target
    assert png_size(target) == (400, 250)


def test_png_default_size_follows_the_grid(tmp_path: Path) -> None:
    target = tmp_path / "fig.PNG"
    save_figure([("log", snap(detr_records()))], target)
    assert png_size(target) == (1800, 1080)  # 9 charts: 3 columns x 6 in, 3 rows x 3.6 in, 100 dpi


def test_svg_has_the_requested_size(tmp_path: Path) -> None:
    target = tmp_path / "fig.svg"
    save_figure([("log", snap(detr_records()))], target, width_in=8, height_in=6)
    root = ET.parse(target).getroot()
    assert root.tag.endswith("svg")
    assert (root.get("width"), root.get("height")) == ("576pt", "432pt")


def test_pdf_is_a_pdf(tmp_path: Path) -> None:
    target = tmp_path / "fig.pdf"
    save_figure([("log", snap(detr_records()))], target, width_in=8, height_in=6)
    data = target.read_bytes()
    assert data.startswith(b"%PDF") and b"/MediaBox [ 0 0 576 432 ]" in data


def test_unknown_extension_and_unwritable_folder(tmp_path: Path) -> None:
    with pytest.raises(DetrWatchError, match="figure type"):
        save_figure([("log", snap(detr_records()))], tmp_path / "fig.jpg")
    with pytest.raises(DetrWatchError, match="cannot write"):
        save_figure([("log", snap(detr_records()))], tmp_path / "missing" / "fig.png")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_plot(tmp_path: Path) -> None:
    target = tmp_path / "fig.png"
    code, out, err = cli(
        "plot", str(MOQIXIS), "-o", str(target), "--size", "10x7.5", "--dpi", "40", "--log-y"
    )
    assert code == 0, err
    assert out == f"wrote {target}\n"
    assert png_size(target) == (400, 300)


def test_cli_plot_several_logs_with_labels(tmp_path: Path) -> None:
    second = tmp_path / "log.txt"
    second.write_text(MOQIXIS.read_text())
    target = tmp_path / "fig.svg"
    code, _, err = cli("plot", str(MOQIXIS), str(second), "--label", "a", "--label", "b", "-o", str(target))
    assert code == 0, err
    assert "a · train" in target.read_text() and "b · test" in target.read_text()
    code, _, err = cli("plot", str(MOQIXIS), str(second), "--label", "a", "-o", str(target))
    assert code == 2 and "one --label per PATH" in err


def test_cli_plot_usage_errors(tmp_path: Path) -> None:
    code, _, err = cli("plot", str(MOQIXIS), "-o", str(tmp_path / "x.gif"))
    assert code == 1 and err.splitlines() == [
        f"error: cannot tell the figure type from '{tmp_path / 'x.gif'}'",
        "hint: name the file .png, .svg or .pdf",
    ]
    code, _, err = cli("plot", str(MOQIXIS), "-o", str(tmp_path / "x.png"), "--size", "big")
    assert code == 2 and "--size" in err
    code, _, err = cli("plot", str(MOQIXIS), "-o", str(tmp_path / "x.png"), "--smooth", "1.5")
    assert code == 1 and "smoothing must be in [0, 1)" in err


def test_cli_plot_without_matplotlib_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    target = tmp_path / "fig.png"
    code, out, err = cli("plot", str(MOQIXIS), "-o", str(target))
    print(repr(err))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "error: plotting needs matplotlib, which is not installed",
        'hint: pip install "detr-watch[plot]"',
    ]
    assert not target.exists()
    with pytest.raises(DetrWatchError, match="needs matplotlib"):
        save_figure([("log", snap(detr_records()))], target)


@pytest.mark.parametrize("name", REAL_LOGS)
def test_every_real_log_makes_a_figure(name: str) -> None:
    _, store = load_real_log(name)
    snapshot = store.snapshot()
    if snapshot.records == 0:
        with pytest.raises(DetrWatchError, match="nothing to plot"):
            build_figure([(name, snapshot)])
        return
    fig = build_figure([(name, snapshot)], smoothing=0.6, log_y=True)
    assert fig.axes and all(ax.get_lines() for ax in fig.axes), [ax.get_title() for ax in fig.axes]
