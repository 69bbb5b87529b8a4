"""What a series *is*, whatever the log format called it: roles, splits and auxiliary copies.

`parse_name("test_loss_giou_3_unscaled")` says: the GIoU loss (`giou`), on the test split, the copy of
decoder layer 3 (`aux="3"`), before the loss weight (`unscaled`). `chart_specs(names)` picks the default
charts from that; `main_series(names)` the rows of the table. Auxiliary copies (per decoder layer,
denoising, encoder/interm outputs, mmdet `d0.`) are grouped under their main series and never drawn
or listed as main series.

Standard library only.
"""

from __future__ import annotations

import functools
import re
from typing import Iterable, Mapping, NamedTuple, Optional

# Roles in the order the dashboard shows them (most useful first, as many as fit).
ROLES = ("total", "ap", "cls", "bbox", "giou", "ap50", "class_error", "lr")

# Native base names per role; the first listed wins when one split has several.
_BASES: dict[str, tuple[str, ...]] = {
    "total": ("loss", "total_loss"),
    "cls": ("loss_ce", "loss_class", "loss_vfl", "loss_focal", "cls_loss", "loss_cls"),
    "bbox": ("loss_bbox", "l1_loss"),
    "giou": ("loss_giou", "giou_loss", "loss_iou"),
    "class_error": ("class_error",),
    # AP is COCO AP@[.5:.95]; AP50 is AP at IoU 0.5 only. RT-DETR's `val_mAP` is AP@[.5:.95].
    "ap": ("coco_eval_bbox/AP", "mAP50-95(B)", "coco/bbox_mAP", "bbox_mAP", "bbox/AP", "mAP"),
    "ap50": ("coco_eval_bbox/AP50", "mAP50(B)", "coco/bbox_mAP_50", "bbox_mAP_50", "bbox/AP50", "mAP_50"),
    "lr": ("lr", "lr/pg0"),
}
_ROLE_OF = {base: role for role, bases in _BASES.items() for base in bases}
_RANK = {base: i for bases in _BASES.values() for i, base in enumerate(bases)}

TITLES = {
    "total": "Total loss",
    "cls": "Classification loss",
    "bbox": "L1 box loss",
    "giou": "GIoU loss",
    "class_error": "Class error (%)",
    "ap": "Box AP@[.5:.95]",
    "ap50": "Box AP50",
    "lr": "Learning rate",
}

# Losses and errors go down, precision-like metrics go up; lr has no "best".
_GOALS = {
    "total": "min",
    "cls": "min",
    "bbox": "min",
    "giou": "min",
    "class_error": "min",
    "ap": "max",
    "ap50": "max",
}

# Split prefixes, longest first. Ultralytics computes `metrics/` on the validation set.
_SPLITS = (
    ("ema_test_", "ema_test"),
    ("train_", "train"),
    ("train/", "train"),
    ("test_", "test"),
    ("test/", "test"),
    ("val_", "val"),
    ("val/", "val"),
    ("metrics/", "val"),
)
SPLIT_ORDER = ("train", "", "test", "val", "ema_test")  # "" is mostly training (mmdet, detectron2)

_DECODER_PREFIX = re.compile(r"^d(\d+)\.")  # mmdet: d0.loss_cls ... d5.loss_cls
_AUX_PREFIX = re.compile(r"^(dn|enc|interm)_(?=loss)")  # mmdet DINO: dn_loss_cls, enc_loss_cls
# DETR `_0`..`_5`, RT-DETR `_aux_3`/`_dn_2`/`_enc_0`, DINO `_dn`/`_interm`, Co-DETR `_aux0`.
_AUX_SUFFIX = re.compile(r"_((?:aux|dn|enc|interm)(?:_?\d+)?|\d+)$")
_LR_GROUP = re.compile(r"^lr/pg(\d+)$")


class NameInfo(NamedTuple):
    """A parsed series name. `role` is "" for series the dashboard has no role for."""

    role: str
    split: str  # "train", "test", "val", "ema_test" or "" (the log does not say)
    aux: Optional[str]  # None for a main series, else a label: "0", "aux_3", "dn", "dn_2", "interm", "d0"
    unscaled: bool
    base: str  # the name without split, auxiliary label and `_unscaled`: "loss_giou"


class ChartSpec(NamedTuple):
    """One default chart: lines of one role on one x axis, as (series name, line label)."""

    title: str
    role: str
    lines: tuple[tuple[str, str], ...]
    axis: Optional[str] = None  # the x axis of every line, when the caller told us the axes


def _loss_like(base: str) -> bool:
    # Numeric aux suffixes only make sense on losses: `mAP_50` and `AR_10` are not decoder layers.
    return base.startswith("loss") or base.endswith(("loss", "error"))


@functools.lru_cache(maxsize=8192)  # a pure function of a name, asked ~1,000 times a frame
def parse_name(name: str) -> NameInfo:
    """Role, split, auxiliary label and scaling of a native series name."""
    rest = name
    split = ""
    for prefix, label in _SPLITS:
        if rest.startswith(prefix) and len(rest) > len(prefix):
            split, rest = label, rest[len(prefix) :]
            break
    aux_parts: list[str] = []
    m = _DECODER_PREFIX.match(rest)
    if m:
        aux_parts.append(f"d{m.group(1)}")
        rest = rest[m.end() :]
    m = _AUX_PREFIX.match(rest)
    if m:
        aux_parts.append(m.group(1))
        rest = rest[m.end() :]
    unscaled = rest.endswith("_unscaled")
    if unscaled:
        rest = rest[: -len("_unscaled")]
    if rest not in _ROLE_OF:
        m = _AUX_SUFFIX.search(rest)
        if m and _loss_like(rest[: m.start()]):
            aux_parts.append(m.group(1))
            rest = rest[: m.start()]
    m = _LR_GROUP.match(rest)
    if m and m.group(1) != "0":
        aux_parts.append(f"pg{m.group(1)}")
        rest = "lr/pg0"
    aux = ".".join(aux_parts) if aux_parts else None
    return NameInfo(_ROLE_OF.get(rest, ""), split, aux, unscaled, rest)


def goal(name: str) -> Optional[str]:
    """ "min" or "max" when a best value makes sense for this series, else None."""
    info = parse_name(name)
    if info.role:
        return _GOALS.get(info.role)
    base = info.base
    if _loss_like(base):
        return "min"
    if re.search(r"(^|[/_])(m?AP|AR)|precision|recall|mAP", base):
        return "max"
    return None


def aux_series(names: Iterable[str], main: str) -> list[str]:
    """The auxiliary copies grouped under `main` (same role/base, split and scaling), sorted."""
    key = parse_name(main)
    out = []
    for name in names:
        info = parse_name(name)
        if info.aux is not None and (info.base, info.split, info.unscaled) == (
            key.base,
            key.split,
            key.unscaled,
        ):
            out.append(name)
    return sorted(out)


def _choose(names: Iterable[str]) -> dict[str, dict[str, dict[bool, str]]]:
    """role -> split -> unscaled -> the main series (best-ranked base name)."""
    chosen: dict[str, dict[str, dict[bool, str]]] = {}
    for name in sorted(names):
        info = parse_name(name)
        if not info.role or info.aux is not None:
            continue
        slot = chosen.setdefault(info.role, {}).setdefault(info.split, {})
        old = slot.get(info.unscaled)
        if old is None or _RANK[info.base] < _RANK[parse_name(old).base]:
            slot[info.unscaled] = name
    return chosen


def _split_key(split: str) -> int:
    return SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER)


def chart_specs(names: Iterable[str], axes: Optional[Mapping[str, str]] = None) -> list[ChartSpec]:
    """The default charts for a snapshot holding `names`, most useful first.

    Train and test/val share a chart. bbox and GIoU use the `_unscaled` series (the loss before its
    weight) when every split has one, so the chart never mixes scaled and unscaled lines. With `axes`
    (name -> "epoch"/"iter"), lines on different x axes go to separate charts.
    """
    names = list(names)
    chosen = _choose(names)
    specs: list[ChartSpec] = []
    for role in ROLES:
        by_split = chosen.get(role)
        if not by_split:
            continue
        prefer_unscaled = role in ("bbox", "giou") and all(True in slot for slot in by_split.values())
        lines: list[tuple[str, str]] = []
        for split in sorted(by_split, key=_split_key):
            slot = by_split[split]
            name = slot.get(prefer_unscaled) or slot.get(not prefer_unscaled)
            if name is None:  # pragma: no cover - a slot always holds one of the two
                continue
            lines.append((name, split or name))
        title = TITLES[role] + (" (unscaled)" if prefer_unscaled else "")
        if axes is None:
            specs.append(ChartSpec(title, role, tuple(lines)))
            continue
        seen_axes: list[str] = []
        for name, _ in lines:
            axis = axes.get(name, "")
            if axis not in seen_axes:
                seen_axes.append(axis)
        for axis in seen_axes:
            part = tuple(line for line in lines if axes.get(line[0], "") == axis)
            suffix = f" (per {axis})" if len(seen_axes) > 1 and axis else ""
            specs.append(ChartSpec(title + suffix, role, part, axis or None))
    return specs


def main_series(names: Iterable[str], axes: Optional[Mapping[str, str]] = None) -> list[str]:
    """The series for the table: those on the default charts first, then every other main series.

    Auxiliary copies are left out, and of a `_unscaled` pair only the one on a chart (else the
    scaled one) is listed.
    """
    names = list(names)
    charted = [name for spec in chart_specs(names, axes) for name, _ in spec.lines]
    on_chart = set(charted)
    present = set(names)
    rest = []
    for name in sorted(present - on_chart):
        info = parse_name(name)
        if info.aux is not None:
            continue
        twin = name[: -len("_unscaled")] if info.unscaled else name + "_unscaled"
        if twin in on_chart or (info.unscaled and twin in present):
            continue
        rest.append(name)
    rest.sort(key=lambda n: (_split_key(parse_name(n).split), n))
    return charted + rest


_LR_NAME = re.compile(r"(^|[/_])lr($|[/_])")


def smoothable(name: str) -> bool:
    """Whether smoothing may touch this series: losses, errors and timings yes; lr, AP, AR,
    precision and recall never (a smoothed AP or learning rate is a value the run never had)."""
    info = parse_name(name)
    if info.role == "lr" or _LR_NAME.search(info.base) or goal(name) == "max":
        return False
    return True
