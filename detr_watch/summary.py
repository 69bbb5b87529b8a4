"""Statistics of a whole log: what `detr-watch summary` prints (numpy only).

The original keys of every series (count, nonfinite, first, last, min, max, step_of_min,
step_of_max) are over every finite value the log holds, whatever its run. Everything added
since is computed on the series' *history*: restarted runs stitched the way TensorBoard does
(`analysis.stitch`: a later run replaces the steps it repeats), non-finite points dropped.

Decisions (the README defines each statistic in one sentence):
- "best" is the minimum for losses and errors and the maximum for AP/AR/mAP/precision/recall,
  as `roles.goal` says; series without a goal (lr, counters) get no best, improvement, plateau
  or spikes.
- The share of a component (cls, bbox, giou) in the total = its weighted value summed over the
  final layer and every auxiliary copy (decoder layers, denoising, encoder) / the total loss, at
  each step where the total is finite. DETR-family logs write each loss already multiplied by its
  weight (their components add up to `loss`), so the logged values are summed as they are, and
  the weight of X is reported as median(X / X_unscaled), rounded to 6 decimals, when `_unscaled`
  twins exist ("weights_from": "unscaled", else "log"). Only when the logged values add up to the
  total with DETR's default weights (ce 1, bbox 5, giou 2) and not without them are those weights
  applied ("default"). Without a total series, the sum of the components is the total.
- Correlation of each loss with AP: Pearson and Spearman over the steps where both are finite.
- Train-test gap = test - train for the same loss at the same steps; widening when the gap's
  slope over the last half of those steps exceeds its standard error (see `stats.gap`).
- Auxiliary layers: for each decoder layer's copy of a loss, (aux - final) / |final| at the
  last step where both are finite.
"""

from __future__ import annotations

import math
import re
from typing import Any, Optional

import numpy as np
import numpy.typing as npt

from detr_watch import stats
from detr_watch.analysis import stitch
from detr_watch.parallel import Elsewhere, can_fork
from detr_watch.roles import SPLIT_ORDER, goal, parse_name
from detr_watch.store import FloatArray, SeriesData, Snapshot

MAX_SPIKE_STEPS = 20  # the JSON lists the first ones; `spikes` counts them all
COMPONENTS = ("cls", "bbox", "giou")
DEFAULT_WEIGHTS = {"cls": 1.0, "bbox": 5.0, "giou": 2.0}
CORRELATED_ROLES = ("total", "cls", "bbox", "giou", "class_error")
# A sum "matches" the total when its median relative error is below this.
_SUM_TOLERANCE = 0.01
# Decoder layers: DETR `_3`, RT-DETR `_aux_3`, Co-DETR `_aux3`, mmdet `d3.`; not dn/enc/interm copies.
_DECODER_LAYER = re.compile(r"^(?:aux_?)?(\d+)$|^d(\d+)$")


def _num(x: float) -> Optional[float]:
    """JSON-safe: a finite float, or None."""
    return float(x) if math.isfinite(x) else None


def series_stats(s: SeriesData, finite: Optional[npt.NDArray[np.bool_]] = None) -> dict[str, Any]:
    """count/nonfinite/first/last/min/max/step_of_min/step_of_max over the finite values (`finite`
    is np.isfinite(s.values) when the caller has it)."""
    values = s.values
    if finite is None:
        finite = np.isfinite(values)
    count = int(np.count_nonzero(finite))
    out: dict[str, Any] = {"count": count, "nonfinite": int(values.shape[0] - count)}
    if count == 0:
        out.update(first=None, last=None, min=None, max=None, step_of_min=None, step_of_max=None)
        return out
    fv, fs = (values, s.steps) if count == values.shape[0] else (values[finite], s.steps[finite])
    i_min = int(np.argmin(fv))
    i_max = int(np.argmax(fv))
    out.update(
        first=_num(fv[0]),
        last=_num(fv[-1]),
        min=_num(fv[i_min]),
        max=_num(fv[i_max]),
        step_of_min=_num(fs[i_min]),
        step_of_max=_num(fs[i_max]),
    )
    return out


def run_starts(snapshot: Snapshot, axis: str) -> dict[int, float]:
    """run -> first step of every run on this x axis (what the dashboard stitches with)."""
    return {r.run: r.first_step for r in snapshot.runs if r.axis == axis}


def history(s: SeriesData, starts: Optional[dict[int, float]] = None) -> tuple[FloatArray, FloatArray]:
    """(steps, values) of the stitched history, non-finite points included (views when nothing is cut)."""
    keep = stitch(s.steps, s.runs, starts)
    if keep.all():
        return s.steps, s.values
    return s.steps[keep], s.values[keep]


def history_stats(s: SeriesData, starts: Optional[dict[int, float]] = None) -> dict[str, Any]:
    """The statistics added to each series: best, improvement, trend, plateau, spikes, non-finite."""
    steps, values = history(s, starts)
    g = goal(s.name)
    return _history_entry(s, g, stats.history_stats(steps, values, g))


def _history_entry(
    s: SeriesData, g: Optional[str], h: stats.HistoryStats, finite: Optional[npt.NDArray[np.bool_]] = None
) -> dict[str, Any]:
    """`history_stats` of s from the statistics of its history (g its goal; `finite` as in
    `series_stats`)."""
    if finite is None:
        finite = np.isfinite(s.values)
    first_bad = None if finite.all() else int(np.argmin(finite))  # argmin: the first False
    out: dict[str, Any] = {
        "goal": g,
        "history_points": h.points,
        "first_nonfinite_step": None if first_bad is None else _num(float(s.steps[first_bad])),
    }
    fit = h.trend
    out.update(slope=_num(fit.slope), slope_stderr=_num(fit.stderr), slope_points=fit.points)
    if g is None or h.spike_steps is None:
        out.update(best=None, step_of_best=None, improvement_last_10pct=None, plateau_start=None, spikes=None)
        out["spike_steps"] = None
        return out
    out.update(
        best=_num(h.best),
        step_of_best=_num(h.step_of_best),
        improvement_last_10pct=_num(h.improvement),
        plateau_start=_num(h.plateau_start),
        spikes=int(h.spike_steps.shape[0]),
        spike_steps=[float(x) for x in h.spike_steps[:MAX_SPIKE_STEPS]],
    )
    return out


def _split_key(split: str) -> int:
    return SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER)


class _Histories:
    """The stitched history of every series, each as a step -> value map of its finite points."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.series = snapshot.series
        self._cache: dict[str, tuple[FloatArray, FloatArray]] = {}

    def arrays(self, name: str) -> tuple[FloatArray, FloatArray]:
        got = self._cache.get(name)
        if got is None:
            s = self.series[name]
            if len(self.snapshot.runs) == 1:  # every point is of that run: nothing to stitch
                steps, values = s.steps, s.values
            else:
                steps, values = history(s, run_starts(self.snapshot, s.axis))
            got = self._cache[name] = stats.finite_points(steps, values)
        return got

    def axis(self, name: str) -> str:
        return self.series[name].axis


def _main_names(names: list[str]) -> list[str]:
    """Main (non-auxiliary) series, without the `_unscaled` twin of a scaled series that is present."""
    present = set(names)
    out = []
    for name in sorted(names):
        info = parse_name(name)
        if info.aux is not None:
            continue
        if info.unscaled and name[: -len("_unscaled")] in present:
            continue
        out.append(name)
    return out


def _median_ratio(h: _Histories, a: str, b: str) -> float:
    _, va, vb = stats.match_steps(*h.arrays(a), *h.arrays(b), finite=True)
    ok = vb != 0
    if not ok.any():
        return math.nan
    ratio = va / vb if ok.all() else va[ok] / vb[ok]
    return stats.median(ratio, overwrite_input=True)


def _sum_at(h: _Histories, names: list[str], steps: FloatArray) -> FloatArray:
    """Sum of the named series at `steps`, over those with a finite value there; NaN where none has one."""
    total = np.zeros(steps.shape[0])
    seen = np.zeros(steps.shape[0], dtype=bool)
    for name in names:
        xs, ys = h.arrays(name)
        if xs.shape == steps.shape and np.array_equal(xs, steps):  # logged at every step
            total += ys
            seen[:] = True
            continue
        idx = np.searchsorted(xs, steps)
        idx_c = np.minimum(idx, max(xs.shape[0] - 1, 0))
        hit = (idx < xs.shape[0]) & (xs[idx_c] == steps) if xs.shape[0] else np.zeros_like(seen)
        total[hit] += ys[idx_c[hit]]
        seen |= hit
    total[~seen] = np.nan
    return total


def _add(arrays: list[FloatArray]) -> FloatArray:
    """Elementwise sum in list order: np.sum(np.vstack(arrays), axis=0) without the stacked copy."""
    out: FloatArray = arrays[0].copy()
    for a in arrays[1:]:
        out += a
    return out


def _union(arrays: list[FloatArray]) -> FloatArray:
    """np.unique of all the arrays together (each ascends, none holds NaN); one of them when all hold
    the same steps."""
    first = arrays[0]
    others = [a for a in arrays[1:] if not (a.shape == first.shape and np.array_equal(a, first))]
    if not others and (first.shape[0] < 2 or np.all(first[1:] > first[:-1])):
        return first
    # np.unique's steps without its call (its first call imports numpy.ma: 17 ms), over the distinct
    # arrays; the stable sort merges the ascending runs (19 series of 20k steps: 0.6 ms, not 8.8)
    joined = np.concatenate([first, *others])
    joined.sort(kind="stable")
    keep = np.empty(joined.shape[0], dtype=bool)
    keep[:1] = True
    np.not_equal(joined[1:], joined[:-1], out=keep[1:])
    out: FloatArray = joined[keep]
    return out


def component_shares(h: _Histories, names: list[str]) -> dict[str, Any]:
    """Per split: the share of each loss component in the total over time (see the module docstring)."""
    by_split: dict[str, dict[str, list[str]]] = {}
    totals: dict[str, str] = {}
    for name in sorted(names):
        info = parse_name(name)
        if info.unscaled:
            continue
        if info.role in COMPONENTS:
            by_split.setdefault(info.split, {}).setdefault(info.role, []).append(name)
        elif info.role == "total" and info.aux is None and info.split not in totals:
            totals[info.split] = name
    out: dict[str, Any] = {}
    for split in sorted(by_split, key=_split_key):
        comps = by_split[split]
        total_name = totals.get(split)
        axis_names = [n for c in comps.values() for n in c] + ([total_name] if total_name else [])
        if len({h.axis(n) for n in axis_names}) > 1:
            continue
        steps = _union([h.arrays(n)[0] for n in axis_names])
        sums = {role: _sum_at(h, members, steps) for role, members in comps.items()}
        weights: dict[str, Optional[float]] = {}
        for role, members in comps.items():
            main = [m for m in members if parse_name(m).aux is None]
            twin = main[0] + "_unscaled" if main else ""
            ratio = _median_ratio(h, main[0], twin) if twin in h.series else math.nan
            # a ratio of two logged floats: 4.99999999996 means 5
            weights[role] = _num(round(ratio, 6)) if math.isfinite(ratio) else None
        weights_from = "unscaled" if any(w is not None for w in weights.values()) else "log"
        if total_name is not None:
            total = _sum_at(h, [total_name], steps)
            as_logged = _add(list(sums.values()))
            if not stats.median_rel_error(as_logged, total) < _SUM_TOLERANCE and weights_from == "log":
                weighted = {r: v * DEFAULT_WEIGHTS[r] for r, v in sums.items()}
                if stats.median_rel_error(_add(list(weighted.values())), total) < _SUM_TOLERANCE:
                    sums, weights_from = weighted, "default"
                    weights = {r: DEFAULT_WEIGHTS[r] for r in sums}
        else:
            total = _add(list(sums.values()))
        ok = np.isfinite(total) & (total != 0)
        for v in sums.values():
            ok &= np.isfinite(v)
        n = int(ok.sum())
        every = n == ok.shape[0]  # then the arrays as they are, not copies picked by the mask
        entry: dict[str, Any] = {
            "total": total_name,
            "points": n,
            "weights_from": weights_from,
            "components": {},
        }
        covered = np.zeros(n)
        for role in COMPONENTS:
            if role not in sums:
                continue
            share = sums[role] / total if every else sums[role][ok] / total[ok]
            covered += share
            entry["components"][role] = {
                "series": comps[role],
                "weight": weights.get(role),
                "share_first": _num(float(share[0])) if n else None,
                "share_last": _num(float(share[-1])) if n else None,
                "share_mean": _num(float(share.mean())) if n else None,
            }
        entry["unexplained_last"] = _num(1.0 - float(covered[-1])) if n else None
        out[split or "all"] = entry
    return out


def _ap_series(h: _Histories, names: list[str]) -> Optional[str]:
    """The AP@[.5:.95] series with the most finite points (test before val on ties)."""
    candidates = [n for n in names if parse_name(n).role == "ap" and parse_name(n).aux is None]
    candidates.sort(key=lambda n: (-h.arrays(n)[0].shape[0], _split_key(parse_name(n).split), n))
    return candidates[0] if candidates else None


def correlations(h: _Histories, names: list[str]) -> dict[str, Any]:
    """Pearson and Spearman correlation of each main loss/error with AP across the steps both have."""
    ap = _ap_series(h, names)
    out: dict[str, Any] = {"ap": ap, "losses": {}}
    if ap is None:
        return out
    # AP's ranks at each set of steps the losses share with it (most share one)
    ranked: list[tuple[FloatArray, FloatArray]] = []
    for name in _main_names(names):
        info = parse_name(name)
        if goal(name) != "min" or info.role not in CORRELATED_ROLES or h.axis(name) != h.axis(ap):
            continue
        xs, a, b = stats.match_steps(*h.arrays(name), *h.arrays(ap), finite=True)
        b_ranks = next((r for at, r in ranked if at.shape == xs.shape and np.array_equal(at, xs)), None)
        if b_ranks is None:
            b_ranks = stats.ranks(b)
            ranked.append((xs, b_ranks))
        out["losses"][name] = {
            "points": int(a.shape[0]),
            "pearson": _num(stats.pearson(a, b)),
            "spearman": _num(stats.spearman(a, b, b_ranks)),
        }
    return out


def gaps(h: _Histories, names: list[str]) -> dict[str, Any]:
    """The test - train gap of each loss that both splits log, and whether it widens."""
    out: dict[str, Any] = {}
    main = _main_names(names)
    held_out: dict[tuple[str, bool], str] = {}
    for name in sorted(main, key=lambda n: _split_key(parse_name(n).split)):
        info = parse_name(name)
        if info.split in ("test", "val", "ema_test"):
            held_out.setdefault((info.base, info.unscaled), name)
    for name in main:
        info = parse_name(name)
        other = held_out.get((info.base, info.unscaled))
        if info.split != "train" or other is None or goal(name) != "min" or h.axis(name) != h.axis(other):
            continue
        g = stats.gap(*h.arrays(name), *h.arrays(other), finite=True)
        out[info.base + ("_unscaled" if info.unscaled else "")] = {
            "train": name,
            "test": other,
            "points": g.points,
            "last": _num(g.last),
            "mean": _num(g.mean),
            "slope": _num(g.trend.slope),
            "slope_stderr": _num(g.trend.stderr),
            "slope_points": g.trend.points,
            "widening": g.widening,
        }
    return out


def _layer_key(label: str) -> tuple[int, str]:
    m = _DECODER_LAYER.match(label)
    return (int(m.group(1) or m.group(2)) if m else -1, label)


def _last_common(h: _Histories, a: str, b: str) -> Optional[tuple[float, float, float]]:
    """(step, a, b) at the last step where both series are finite, as `stats.match_steps` pairs them."""
    xa, ya = h.arrays(a)
    xb, yb = h.arrays(b)
    if xa.shape[0] and xb.shape[0] and xa[-1] == xb[-1] and xa[-1] == xa.max() and xb[-1] == xb.max():
        # both end at their largest step, and the last entry of a step is the value it keeps
        return float(xa[-1]), float(ya[-1]), float(yb[-1])
    xs, va, vb = stats.match_steps(xa, ya, xb, yb, finite=True)
    if xs.shape[0] == 0:
        return None
    return float(xs[-1]), float(va[-1]), float(vb[-1])


def aux_layers(h: _Histories, names: list[str]) -> dict[str, Any]:
    """For each main loss with per-decoder-layer copies: how far each copy is above the final layer."""
    out: dict[str, Any] = {}
    layers: dict[tuple[str, str, bool], list[tuple[str, str]]] = {}
    for name in names:
        info = parse_name(name)
        if info.aux is not None and _DECODER_LAYER.match(info.aux) and goal(name) == "min":
            layers.setdefault((info.split, info.base, info.unscaled), []).append((info.aux, name))
    for name in _main_names(names):
        info = parse_name(name)
        copies = layers.get((info.split, info.base, info.unscaled))
        if not copies:
            continue
        entry: dict[str, Any] = {}
        for label, aux in sorted(copies, key=lambda c: _layer_key(c[0])):
            last = _last_common(h, name, aux)
            if last is None:
                entry[label] = {"series": aux, "step": None, "difference": None, "excess": None}
                continue
            step, f, a = last
            entry[label] = {
                "series": aux,
                "step": _num(step),
                "difference": _num(a - f),
                "excess": _num((a - f) / abs(f)) if f != 0 else None,
            }
        out[name] = entry
    return out


def _all_series(h: _Histories, names: list[str]) -> dict[str, dict[str, Any]]:
    """The entry of each named series: `series_stats`, `history_stats` and its axis, the history
    statistics from the histories `h` keeps (`analysis` uses them again), all computed together by
    `stats.many_history_stats`."""
    goals = [goal(name) for name in names]
    computed = stats.many_history_stats([(*h.arrays(name), g) for name, g in zip(names, goals)], finite=True)
    out: dict[str, dict[str, Any]] = {}
    for name, g, c in zip(names, goals, computed):
        s = h.series[name]
        finite = np.isfinite(s.values)
        out[name] = {**series_stats(s, finite), **_history_entry(s, g, c, finite), "axis": s.axis}
    return out


def analysis(snapshot: Snapshot, histories: Optional[_Histories] = None) -> dict[str, Any]:
    """The `analysis` object of `summary --json`: relations across series (from `histories` of this
    snapshot when given)."""
    h = _Histories(snapshot) if histories is None else histories
    names = sorted(snapshot.series)
    return {
        "settings": {
            "history": "runs stitched like the dashboard: a later run replaces every step from its first on",
            "improvement_fraction": stats.IMPROVEMENT_FRACTION,
            "trend_fraction": stats.TREND_FRACTION,
            "trend_min_points": stats.TREND_MIN_POINTS,
            "plateau_tolerance": stats.PLATEAU_TOL,
            "plateau_min_points": stats.PLATEAU_MIN_POINTS,
            "spike_window": stats.SPIKE_WINDOW,
            "spike_k": stats.SPIKE_K,
        },
        "shares": component_shares(h, names),
        "correlations": correlations(h, names),
        "gaps": gaps(h, names),
        "aux_layers": aux_layers(h, names),
    }


# Below this many points in all, the statistics are computed in one process (a fork costs ~3 ms).
PARALLEL_POINTS = 200_000


def summarize(snapshot: Snapshot, path: str, fmt: str, parallel: Optional[bool] = None) -> dict[str, Any]:
    """The `summary --json` object (schema in the README).

    On two cores or more (Linux) and a big enough log (`PARALLEL_POINTS`), a forked child
    computes the `analysis` and a third of the series while this process computes the other two
    thirds (`parallel.Elsewhere`): 103 series of 20,000 points, 105 -> ~60 ms. `parallel` forces
    it on or off (tests); the numbers are the same either way.
    """
    h = _Histories(snapshot)
    names = sorted(snapshot.series)
    if parallel is None:
        parallel = sum(s.values.shape[0] for s in snapshot.series.values()) >= PARALLEL_POINTS
    theirs, mine = names[0::3], [n for i, n in enumerate(names) if i % 3]

    def other_part() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        return analysis(snapshot, h), _all_series(h, theirs)

    other = Elsewhere(other_part, fork=parallel and can_fork())
    try:
        computed = _all_series(h, mine)
    except BaseException:
        other.cancel()
        raise
    relations, computed_there = other.result()
    computed.update(computed_there)
    entries = {name: computed[name] for name in names}
    return {
        "path": path,
        "format": fmt,
        "records": snapshot.records,
        "skipped_lines": snapshot.skipped_lines,
        "runs": [
            {"first_step": _num(r.first_step), "last_step": _num(r.last_step), "records": r.records}
            for r in snapshot.runs
        ],
        "series": entries,
        "analysis": relations,
    }
