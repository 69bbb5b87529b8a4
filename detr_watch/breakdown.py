"""DETR-specific breakdowns for the live view's panels (numpy only): how the weighted total loss splits
into its parts, each decoder layer's copy of the losses, and the COCO AP/AR table.

Loss composition, per split: the parts are classification, L1 and GIoU of the final decoder layer,
the auxiliary decoder layers (all three losses of every `_0`..`_4` / `_aux_N` / `dN.` copy), the
denoising copies (`_dn`), the encoder/interm copies, and "other" (the total minus all of those, when it
is more than `OTHER_MIN` of the total). Parts are in weighted terms, i.e. what adds up to the total.
DETR-family logs write each loss already multiplied by its weight, so logged values are used as they
are and a weight is reported as median(X / X_unscaled) when the `_unscaled` twin exists. When a log
has only unscaled values, or its values add up to the total only with weights, DETR's defaults
(classification 1, L1 5, GIoU 2) are applied and reported as such. (The same rule as `summary`.)

Points are matched by (run, step): a part has a value at a step of the total only where every series
it sums has one there.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple, Optional

import numpy as np

from detr_watch.analysis import FloatArray
from detr_watch.records import COCO_STATS
from detr_watch.roles import SPLIT_ORDER, parse_name
from detr_watch.stats import median, median_rel_error
from detr_watch.store import SeriesData, Snapshot

COMPONENTS = ("cls", "bbox", "giou")
COMPONENT_LABELS = {"cls": "classification", "bbox": "L1 box", "giou": "GIoU"}
DEFAULT_WEIGHTS = {"cls": 1.0, "bbox": 5.0, "giou": 2.0}
OTHER_MIN = 0.005
_SUM_TOLERANCE = 0.01
_DECODER_LAYER = re.compile(r"^(?:aux_?)?(\d+)$|^d(\d+)$")


class Part(NamedTuple):
    label: str
    series: SeriesData  # the part's weighted values on the total's points


class Composition(NamedTuple):
    split: str
    total: SeriesData  # the logged total, or the sum of the parts when the log has none
    total_logged: bool
    parts: tuple[Part, ...]
    weights: tuple[tuple[str, Optional[float]], ...]  # (component, weight) as far as known
    weights_from: str  # "unscaled", "log" or "default"


def _key(runs: np.ndarray, steps: FloatArray) -> FloatArray:
    # (run, step) as one sortable float: steps are below 2**40 and runs few, so this is exact
    return runs.astype(np.float64) * 2.0**40 + steps


def align(base: SeriesData, other: SeriesData) -> FloatArray:
    """`other`'s values at `base`'s (run, step) points; NaN where it has none."""
    if (
        len(other) == len(base)
        and np.array_equal(other.steps, base.steps)
        and np.array_equal(other.runs, base.runs)
    ):
        return other.values
    out = np.full(len(base), np.nan)
    if len(other) == 0 or len(base) == 0:
        return out
    ok = np.isfinite(other.steps)
    ok_keys = _key(other.runs[ok], other.steps[ok])
    order = np.argsort(ok_keys, kind="stable")
    keys, vals = ok_keys[order], other.values[ok][order]
    want = _key(base.runs, base.steps)
    idx = np.searchsorted(keys, want)
    idx_c = np.minimum(idx, keys.shape[0] - 1)
    hit = (idx < keys.shape[0]) & (keys[idx_c] == want)
    out[hit] = vals[idx_c[hit]]
    return out


def derived(base: SeriesData, name: str, values: FloatArray) -> SeriesData:
    """A series with `base`'s points and these values."""
    return SeriesData(name, base.axis, base.steps, values, base.runs, base.times, base.epochs)


def _group(label: Optional[str]) -> str:
    if label is None:
        return "final"
    if _DECODER_LAYER.match(label):
        return "aux"
    if label.startswith("dn"):
        return "dn"
    return "enc"


def _members(snapshot: Snapshot, split: str) -> tuple[Optional[str], dict[str, dict[str, list[str]]], bool]:
    """(total series, role -> group -> series, whether the series are unscaled ones)."""
    total = None
    scaled: dict[str, dict[str, list[str]]] = {}
    unscaled: dict[str, dict[str, list[str]]] = {}
    for name in sorted(snapshot.series):
        info = parse_name(name)
        if info.split != split:
            continue
        if info.role == "total" and info.aux is None and not info.unscaled and total is None:
            total = name
        elif info.role in COMPONENTS:
            book = unscaled if info.unscaled else scaled
            book.setdefault(info.role, {}).setdefault(_group(info.aux), []).append(name)
    if scaled:
        return total, scaled, False
    return total, unscaled, True


def splits_with_components(snapshot: Snapshot) -> list[str]:
    """The splits that log loss components, training first."""
    found = {parse_name(n).split for n in snapshot.series if parse_name(n).role in COMPONENTS}
    return sorted(found, key=lambda s: SPLIT_ORDER.index(s) if s in SPLIT_ORDER else len(SPLIT_ORDER))


def _sum(base: SeriesData, snapshot: Snapshot, names: list[str]) -> FloatArray:
    total = np.zeros(len(base))
    for name in names:
        total = total + align(base, snapshot.series[name])
    return total


def composition(snapshot: Snapshot, split: str) -> Optional[Composition]:
    """The weighted parts of `split`'s total loss (see the module docstring); None without components."""
    total_name, members, only_unscaled = _members(snapshot, split)
    if not members:
        return None
    names = [n for groups in members.values() for ns in groups.values() for n in ns]
    if total_name is not None:
        base = snapshot.series[total_name]
    else:
        base = max((snapshot.series[n] for n in names), key=len)
    sums: dict[str, dict[str, FloatArray]] = {
        role: {g: _sum(base, snapshot, ns) for g, ns in groups.items()} for role, groups in members.items()
    }
    weights: dict[str, Optional[float]] = {}
    for role, groups in members.items():
        main = groups.get("final", [])
        twin = main[0] + "_unscaled" if main else ""
        w: Optional[float] = None
        if not only_unscaled and twin in snapshot.series:
            a, b = snapshot.series[main[0]].values, align(snapshot.series[main[0]], snapshot.series[twin])
            ok = np.isfinite(a) & np.isfinite(b) & (b != 0)
            if ok.any():
                w = round(median(a[ok] / b[ok], overwrite_input=True), 6)
        weights[role] = w
    weights_from = "unscaled" if any(w is not None for w in weights.values()) else "log"

    def add_all(s: dict[str, dict[str, FloatArray]]) -> FloatArray:
        out: FloatArray = np.sum([v for groups in s.values() for v in groups.values()], axis=0)
        return out

    apply_defaults = only_unscaled
    if total_name is not None and not only_unscaled and weights_from == "log":
        as_logged = median_rel_error(add_all(sums), base.values)
        weighted = {r: {g: v * DEFAULT_WEIGHTS[r] for g, v in gs.items()} for r, gs in sums.items()}
        if as_logged >= _SUM_TOLERANCE and median_rel_error(add_all(weighted), base.values) < _SUM_TOLERANCE:
            apply_defaults = True
    if apply_defaults:
        sums = {r: {g: v * DEFAULT_WEIGHTS[r] for g, v in gs.items()} for r, gs in sums.items()}
        weights = {r: DEFAULT_WEIGHTS[r] for r in sums}
        weights_from = "default"
    parts: list[Part] = []
    for role in COMPONENTS:
        if role in sums and "final" in sums[role]:
            parts.append(
                Part(COMPONENT_LABELS[role], derived(base, COMPONENT_LABELS[role], sums[role]["final"]))
            )
    for group, label in (("aux", "aux decoder layers"), ("dn", "denoising"), ("enc", "encoder")):
        arrays = [gs[group] for gs in sums.values() if group in gs]
        if arrays:
            parts.append(Part(label, derived(base, label, np.sum(arrays, axis=0))))
    explained = np.sum([p.series.values for p in parts], axis=0)
    if total_name is not None:
        total = base
        other = base.values - explained
        share = np.abs(other[np.isfinite(other)]) / np.abs(base.values[np.isfinite(other)])
        share = share[~np.isnan(share)]  # 0 / 0
        if share.shape[0] and median(share, overwrite_input=True) > OTHER_MIN:
            parts.append(Part("other terms", derived(base, "other terms", other)))
    else:
        total = derived(base, "sum of parts", explained)
    ordered = tuple((r, weights.get(r)) for r in COMPONENTS if r in members)
    return Composition(split, total, total_name is not None, tuple(parts), ordered, weights_from)


def last_shares(comp: Composition) -> tuple[Optional[float], list[tuple[str, float, float]]]:
    """(step, [(part, value, share of the total)]) at the newest point where the total and every part
    are finite; (None, []) when there is none."""
    ok = np.isfinite(comp.total.values) & (comp.total.values != 0)
    for p in comp.parts:
        ok &= np.isfinite(p.series.values)
    idx = np.flatnonzero(ok)
    if idx.shape[0] == 0:
        return None, []
    i = int(idx[-1])
    total = float(comp.total.values[i])
    rows = [(p.label, float(p.series.values[i]), float(p.series.values[i]) / total) for p in comp.parts]
    return float(comp.total.steps[i]), rows


# --- decoder layers ------------------------------------------------------------------------------


class LayerSet(NamedTuple):
    """One loss component of one split, per decoder layer: (layer label, series name), first to final."""

    split: str
    role: str
    layers: tuple[tuple[str, str], ...]


def layer_number(label: Optional[str]) -> Optional[int]:
    if label is None:
        return None
    m = _DECODER_LAYER.match(label)
    return int(m.group(1) or m.group(2)) if m else None


def decoder_layers(snapshot: Snapshot) -> list[LayerSet]:
    """Per split and component, the decoder-layer copies and the final layer (unscaled ones when the log
    has them: that is the loss itself, comparable across components)."""
    found: dict[tuple[str, str, bool], dict[Optional[int], str]] = {}
    for name in snapshot.series:
        info = parse_name(name)
        if info.role not in COMPONENTS:
            continue
        n = layer_number(info.aux)
        if info.aux is not None and n is None:
            continue
        found.setdefault((info.split, info.role, info.unscaled), {})[n] = name
    out: list[LayerSet] = []
    for split in sorted({k[0] for k in found}, key=lambda s: SPLIT_ORDER.index(s) if s in SPLIT_ORDER else 9):
        for role in COMPONENTS:
            layers = found.get((split, role, True)) or found.get((split, role, False))
            if not layers or None not in layers or len(layers) < 2:
                continue
            numbered = sorted(k for k in layers if k is not None)
            items = [(f"layer {k + 1}", layers[k]) for k in numbered]
            items.append((f"layer {len(numbered) + 1} (final)", layers[None]))
            out.append(LayerSet(split, role, tuple(items)))
    return out


# --- COCO ----------------------------------------------------------------------------------------

_DETR_COCO = re.compile(r"^(.*coco_eval_(?:bbox|segm))/(" + "|".join(COCO_STATS) + r")$")
_MMDET = re.compile(r"^((?:.*/)?(?:bbox|segm))_mAP(?:_(50|75|s|m|l))?$")
_D2 = re.compile(r"^((?:.*/)?(?:bbox|segm))/(AP|AP50|AP75|APs|APm|APl)$")
_ULTRA = re.compile(r"^metrics/mAP(50-95|50)\(([BM])\)$")
_MMDET_STATS = {None: "AP", "50": "AP50", "75": "AP75", "s": "APs", "m": "APm", "l": "APl"}
AP_STATS = COCO_STATS[:6]


class CocoGroup(NamedTuple):
    """The COCO statistics one evaluation writes: a label and (stat, series name or None) in COCO order."""

    label: str
    stats: tuple[tuple[str, Optional[str]], ...]


def coco_groups(names: list[str]) -> list[CocoGroup]:
    """COCO stat series grouped by evaluation (DETR `test_coco_eval_bbox/AP50`, detectron2 `bbox/AP50`,
    MMDetection `bbox_mAP_50`, Ultralytics `mAP50(B)`); a stat the log never wrote (-1: no objects of
    that size) is listed with None."""
    groups: dict[str, dict[str, str]] = {}
    kinds: dict[str, tuple[str, ...]] = {}
    for name in sorted(names):
        m = _DETR_COCO.match(name)
        if m:
            groups.setdefault(m.group(1), {})[m.group(2)] = name
            kinds[m.group(1)] = COCO_STATS
            continue
        m = _D2.match(name)
        if m:
            groups.setdefault(m.group(1), {})[m.group(2)] = name
            kinds[m.group(1)] = AP_STATS
            continue
        m = _MMDET.match(name)
        if m:
            groups.setdefault(m.group(1), {})[_MMDET_STATS[m.group(2)]] = name
            kinds[m.group(1)] = AP_STATS
            continue
        m = _ULTRA.match(name)
        if m:
            label = "box" if m.group(2) == "B" else "mask"
            groups.setdefault(label, {})["AP" if m.group(1) == "50-95" else "AP50"] = name
            kinds[label] = ("AP", "AP50")
    return [
        CocoGroup(label, tuple((stat, found.get(stat)) for stat in kinds[label]))
        for label, found in groups.items()
        if "AP" in found
    ]


class StatRow(NamedTuple):
    stat: str
    last: Optional[float]  # None: n/a (not written at the newest evaluation)
    best: Optional[float]
    best_at: Optional[float]  # the epoch of the best value where the log knows it, else its step


def coco_rows(snapshot: Snapshot, group: CocoGroup) -> list[StatRow]:
    """Last value (at the group's newest evaluation) and best value with its epoch (its step when the
    log does not say which epoch), per stat."""
    ap_name = dict(group.stats)["AP"]
    ap = snapshot.series[ap_name] if ap_name else None
    newest = float(ap.steps[-1]) if ap is not None and len(ap) else math.nan
    newest_run = int(ap.runs[-1]) if ap is not None and len(ap) else -1
    rows = []
    for stat, name in group.stats:
        s = snapshot.series.get(name) if name else None
        if s is None or len(s) == 0:
            rows.append(StatRow(stat, None, None, None))
            continue
        at_newest = (s.steps == newest) & (s.runs == newest_run) & np.isfinite(s.values)
        last = float(s.values[at_newest][-1]) if at_newest.any() else None
        ok = np.isfinite(s.values)
        if ok.any():
            i = int(np.flatnonzero(ok)[np.argmax(s.values[ok])])
            at = (
                float(s.epochs[i])
                if s.axis != "epoch" and math.isfinite(float(s.epochs[i]))
                else float(s.steps[i])
            )
            rows.append(StatRow(stat, last, float(s.values[i]), at))
        else:
            rows.append(StatRow(stat, last, None, None))
    return rows
