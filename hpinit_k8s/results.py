"""Training runs -> the paper's per-run CSV format (pure: records in, rows and text out)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

PAPER_TAIL = ["best_accuracy", "best_epoch", "target_accuracy_epoch", "dataset", "model", "num_epochs",
              "weight_initialization", "hp_epoch"]


def columns(epochs: int) -> list[str]:
    """`id, epoch_1 … epoch_N`, the paper's tail, then `seed` as an extra last column."""
    return ["id", *[f"epoch_{e}" for e in range(1, epochs + 1)], *PAPER_TAIL, "seed"]


def best_epoch(accuracies: Sequence[float]) -> int:
    """1-based first arg-max."""
    return max(range(len(accuracies)), key=lambda i: (accuracies[i], -i)) + 1


def epochs_to_target(accuracies: Sequence[float], target: float) -> int | None:
    """First 1-based epoch with accuracy >= target; None when never reached."""
    return next((i + 1 for i, acc in enumerate(accuracies) if acc >= target), None)


def paper_row(run: dict[str, Any], *, target: float, dataset: str, model: str) -> dict[str, Any]:
    accuracies = run["test_accuracy"]
    tta = epochs_to_target(accuracies, target)
    return {
        "id": run["trial_id"],
        **{f"epoch_{e}": acc for e, acc in enumerate(accuracies, start=1)},
        "best_accuracy": max(accuracies),
        "best_epoch": best_epoch(accuracies),
        "target_accuracy_epoch": "" if tta is None else tta,
        "dataset": dataset,
        "model": model,
        "num_epochs": len(accuracies),
        "weight_initialization": run["policy"],
        "hp_epoch": run["hp_epoch"] if run["policy"] == "hp-epoch" else -1,
        "seed": run["seed"],
    }


def to_csv(rows: list[dict[str, Any]], epochs: int) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(epochs), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def csv_files(runs: list[dict[str, Any]], *, experiment: str, epochs: int, target: float, dataset: str,
              model: str) -> dict[str, str]:
    """File name -> CSV text: one file per policy (and epoch), plus `<experiment>-all.csv`."""
    rows_by_label: dict[str, list[dict[str, Any]]] = {}
    all_rows = []
    for run in runs:
        row = paper_row(run, target=target, dataset=dataset, model=model)
        rows_by_label.setdefault(run["label"], []).append(row)
        all_rows.append(row)
    files = {f"{experiment}-{label}.csv": to_csv(rows, epochs) for label, rows in rows_by_label.items()}
    files[f"{experiment}-all.csv"] = to_csv(all_rows, epochs)
    return files
