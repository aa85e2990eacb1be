"""The paper's box plots (best accuracy, TTA) and per-epoch mean curves, as PNG and PDF."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from hpinit_k8s.report.load import Run
from hpinit_k8s.report.stats import group_runs, mean_curves, policy_name, reached_ttas


def _save(figure: plt.Figure, out: Path, stem: str) -> list[Path]:
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    figure.tight_layout()
    for path in paths:
        figure.savefig(path, dpi=150)
    plt.close(figure)
    return paths


def _box(values: list[list[float]], labels: list[str], ylabel: str, title: str) -> plt.Figure:
    figure, axes = plt.subplots(figsize=(max(5.0, 0.9 * len(labels) + 2), 4))
    positions = np.arange(1, len(labels) + 1)
    shown = [v if v else [np.nan] for v in values]
    axes.boxplot(shown, positions=positions, widths=0.5, showfliers=False)
    rng = np.random.default_rng(0)  # fixed jitter: the same inputs give the same picture
    for position, points in zip(positions, values, strict=True):
        axes.scatter(position + rng.uniform(-0.12, 0.12, len(points)), points, s=14, alpha=0.7, zorder=3)
    axes.set_xticks(positions, labels, rotation=30, ha="right")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    return figure


def write_plots(runs: list[Run], out: Path, *, target: float | None, title: str) -> list[Path]:
    groups = group_runs(runs)
    labels = [policy_name(key) for key in groups]
    written = []
    best = [[max(r.accuracies) for r in members] for members in groups.values()]
    figure = _box(best, labels, "best test accuracy (%)", f"{title}: best test accuracy")
    written += _save(figure, out, "best_accuracy")

    ttas: list[list[float]] = []
    tta_labels = []
    for label, members in zip(labels, groups.values(), strict=True):
        reached = [float(t) for t in reached_ttas(members, target)]
        ttas.append(reached)
        missed = len(members) - len(reached)
        tta_labels.append(label if not missed else f"{label}\n({missed} not reached)")
    target_text = f"{target:g} %" if target is not None else "target"
    figure = _box(ttas, tta_labels, f"epochs to {target_text}", f"{title}: time to target accuracy")
    written += _save(figure, out, "tta")

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for key, curve in mean_curves(runs).items():
        epochs = np.arange(1, len(curve["mean"]) + 1)
        style = {"color": "black", "linestyle": ":"} if key[0] == "random" else {}  # the baseline stands out
        (line,) = axes.plot(epochs, curve["mean"], label=policy_name(key), linewidth=1.4, **style)
        axes.fill_between(epochs, curve["min"], curve["max"], color=line.get_color(), alpha=0.15)
    if target is not None:
        axes.axhline(target, color="black", linestyle="--", linewidth=1, label=f"target {target:g} %")
    axes.set_xlabel("epoch")
    axes.set_ylabel("test accuracy (%)")
    axes.set_title(f"{title}: mean test accuracy (band: min–max)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, ncol=2)
    written += _save(figure, out, "curves")
    return written


