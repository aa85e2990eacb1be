"""Per-policy statistics against the random baseline (pure: runs in, one dict per policy out)."""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Sequence
from typing import Any

from scipy import stats

from hpinit_k8s.report.load import Run
from hpinit_k8s.results import epochs_to_target

POLICY_ORDER = {"hp-epoch": 0, "hp-init": 1, "hp-final": 2, "random": 3}
EXACT_MANN_WHITNEY_MAX_N = 20


def policy_sort_key(key: tuple[str, int | None]) -> tuple[int, int]:
    """The paper's order: hp-epoch ascending, then hp-init, hp-final, random."""
    policy, epoch = key
    return (POLICY_ORDER[policy], epoch if epoch is not None else -1)


def policy_name(key: tuple[str, int | None]) -> str:
    policy, epoch = key
    return f"hp-epoch {epoch}" if policy == "hp-epoch" else policy


def tta(run: Run, target: float | None) -> int | None:
    return run.target_accuracy_epoch if target is None else epochs_to_target(run.accuracies, target)


def _clean(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def pair(baseline: Sequence[Run], other: Sequence[Run]) -> tuple[list[float], list[float], str]:
    """Best accuracies paired by seed when seeds identify runs on both sides, else by row order."""
    base_seeds = [r.seed for r in baseline]
    other_seeds = [r.seed for r in other]
    unique = None not in base_seeds + other_seeds and len(set(base_seeds)) == len(base_seeds) \
        and len(set(other_seeds)) == len(other_seeds)
    if unique and set(base_seeds) & set(other_seeds):
        by_seed = {r.seed: r for r in other}
        shared = [r for r in baseline if r.seed in by_seed]
        return [max(r.accuracies) for r in shared], [max(by_seed[r.seed].accuracies) for r in shared], "seed"
    n = min(len(baseline), len(other))
    return [max(r.accuracies) for r in baseline[:n]], [max(r.accuracies) for r in other[:n]], "row order"


def compare(baseline: Sequence[Run], other: Sequence[Run]) -> dict[str, Any]:
    x, y, pairing = pair(baseline, other)
    result: dict[str, Any] = {"ttest_t": None, "ttest_p": None, "mannwhitney_u": None, "mannwhitney_p": None}
    if len(x) >= 2:
        with warnings.catch_warnings():  # identical differences: t is undefined and reported as null
            warnings.simplefilter("ignore", RuntimeWarning)
            t = stats.ttest_rel(y, x)
        result.update(ttest_t=_clean(t.statistic), ttest_p=_clean(t.pvalue))
    a = [max(r.accuracies) for r in other]
    b = [max(r.accuracies) for r in baseline]
    if a and b:
        exact = max(len(a), len(b)) <= EXACT_MANN_WHITNEY_MAX_N
        u = stats.mannwhitneyu(a, b, alternative="two-sided", method="exact" if exact else "asymptotic")
        result.update(mannwhitney_u=_clean(u.statistic), mannwhitney_p=_clean(u.pvalue))
    result["pairing"] = pairing
    return result


PolicyKey = tuple[str, int | None]


def group_runs(runs: Sequence[Run]) -> dict[PolicyKey, list[Run]]:
    """Runs by policy, in the paper's order."""
    groups: dict[PolicyKey, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.key, []).append(run)
    return {key: groups[key] for key in sorted(groups, key=policy_sort_key)}


def summarise(runs: Sequence[Run], target: float | None = None) -> list[dict[str, Any]]:
    """One entry per policy, in the paper's order; `pairing` says how the t-test paired runs."""
    groups = group_runs(runs)
    baseline = groups.get(("random", None))
    baseline_tta = _mean_tta(baseline, target) if baseline else None
    summary = []
    for key, members in groups.items():
        best = [max(r.accuracies) for r in members]
        reached = reached_ttas(members, target)
        tta_mean = statistics.fmean(reached) if reached else None
        entry: dict[str, Any] = {
            "policy": key[0],
            "hp_epoch": key[1],
            "n": len(members),
            "best_accuracy_mean": statistics.fmean(best),
            "best_accuracy_std": statistics.stdev(best) if len(best) > 1 else None,
            "tta_mean": tta_mean,
            "tta_not_reached": len(members) - len(reached),
            "tta_speedup": baseline_tta / tta_mean if baseline_tta and tta_mean else None,
            "ttest_t": None, "ttest_p": None, "mannwhitney_u": None, "mannwhitney_p": None,
            "pairing": None,
        }
        if baseline and key != ("random", None):
            entry.update(compare(baseline, members))
        summary.append(entry)
    return summary


def reached_ttas(runs: Sequence[Run], target: float | None) -> list[int]:
    """TTA of the runs that reached the target (the others are counted apart, never averaged in)."""
    return [t for t in (tta(r, target) for r in runs) if t is not None]


def _mean_tta(runs: Sequence[Run], target: float | None) -> float | None:
    reached = reached_ttas(runs, target)
    return statistics.fmean(reached) if reached else None


def mean_curves(runs: Sequence[Run]) -> dict[PolicyKey, dict[str, list[float]]]:
    """Per policy: mean, min and max test accuracy at each epoch (runs may differ in length: shortest wins)."""
    curves = {}
    for key, members in group_runs(runs).items():
        n = min(len(r.accuracies) for r in members)
        columns = list(zip(*(r.accuracies[:n] for r in members), strict=True))
        curves[key] = {"mean": [statistics.fmean(c) for c in columns], "min": [min(c) for c in columns],
                       "max": [max(c) for c in columns]}
    return curves
