"""Read result CSVs in the paper's format (ours or the authors'), strictly: a bad row stops the report."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

from hpinit_k8s.errors import ReportError

REQUIRED = ("best_accuracy", "best_epoch", "target_accuracy_epoch", "dataset", "model", "num_epochs",
            "weight_initialization", "hp_epoch")
LABELS = {
    "random": "random", "baseline": "random",
    "hp-init": "hp-init", "hp init": "hp-init",
    "hp-final": "hp-final", "hp final": "hp-final",
    "hp-epoch": "hp-epoch", "hp epoch": "hp-epoch",
}
"""Lower-cased labels (ours and the authors' `Random`, `HP Final`, `hp-epoch`) -> policy kind."""
MAX_SHOWN = 20


@dataclass(frozen=True)
class Run:
    source: str
    line: int
    run_id: str
    policy: str
    hp_epoch: int | None
    """The tuning epoch for hp-epoch runs, None otherwise."""
    seed: int | None
    accuracies: tuple[float, ...]
    target_accuracy_epoch: int | None
    dataset: str
    model: str

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.policy, self.hp_epoch)


def csv_paths(inputs: list[str | Path]) -> list[Path]:
    paths: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*.csv") if p.is_file())
            if not found:
                raise ReportError(f"{item}: no .csv files in this folder")
            paths.extend(found)
        elif item.is_file():
            paths.append(item)
        else:
            raise ReportError(f"{item}: no such file or folder")
    return paths


def _epoch_columns(header: list[str], source: Path) -> int:
    if not header or header[0] != "id":
        raise ReportError(f"{source}:1: header must start with 'id' (found {header[:1]})")
    n = 0
    while n + 1 < len(header) and header[n + 1] == f"epoch_{n + 1}":
        n += 1
    if n == 0:
        raise ReportError(f"{source}:1: header has no epoch_1 … epoch_N columns after 'id'")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ReportError(f"{source}:1: header lacks {', '.join(missing)}")
    stray = [c for c in header[n + 1:] if re.fullmatch(r"epoch_\d+", c)]
    if stray:
        raise ReportError(f"{source}:1: epoch columns are not consecutive ({stray[0]} after epoch_{n})")
    return n


def _number(text: str, column: str) -> float:
    if text is None or text.strip() == "":
        raise ValueError(f"{column} is missing")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column} is not a number ({text!r})") from None
    if not math.isfinite(value):
        raise ValueError(f"{column} is not finite ({text!r})")
    return value


def _integer(text: str, column: str) -> int:
    value = _number(text, column)
    if value != int(value):
        raise ValueError(f"{column} is not a whole number ({text!r})")
    return int(value)


def _parse_row(row: dict[str, str], n_epochs: int, has_seed: bool) -> tuple:
    if None in row:
        raise ValueError("more cells than header columns")
    accuracies = tuple(_number(row[f"epoch_{e}"], f"epoch_{e}") for e in range(1, n_epochs + 1))
    label = (row["weight_initialization"] or "").strip().lower()
    if label not in LABELS:
        raise ValueError(f"weight_initialization {row['weight_initialization']!r} is not a known policy")
    policy = LABELS[label]
    hp_epoch = _integer(row["hp_epoch"], "hp_epoch")
    if policy == "hp-epoch" and hp_epoch < 0:
        raise ValueError(f"hp-epoch row with hp_epoch {hp_epoch}")
    tta_text = (row["target_accuracy_epoch"] or "").strip()
    tta = None if tta_text in ("", "-1", "nan", "None") else _integer(tta_text, "target_accuracy_epoch")
    seed = _integer(row["seed"], "seed") if has_seed and (row.get("seed") or "").strip() else None
    return accuracies, policy, hp_epoch if policy == "hp-epoch" else None, tta, seed


def read_runs(inputs: list[str | Path]) -> list[Run]:
    """Every run in the given CSV files and folders; all bad rows are reported together, by file and line."""
    runs: list[Run] = []
    problems: list[str] = []
    for path in csv_paths(inputs):
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            n_epochs = _epoch_columns(reader.fieldnames or [], path)
            has_seed = "seed" in (reader.fieldnames or [])
            for row in reader:
                line = reader.line_num
                try:
                    accuracies, policy, hp_epoch, tta, seed = _parse_row(row, n_epochs, has_seed)
                except ValueError as error:
                    problems.append(f"{path}:{line}: {error}")
                    continue
                runs.append(Run(str(path), line, row["id"], policy, hp_epoch, seed, accuracies, tta,
                                row["dataset"], row["model"]))
    if problems:
        shown = problems[:MAX_SHOWN]
        more = f" (and {len(problems) - MAX_SHOWN} more)" if len(problems) > MAX_SHOWN else ""
        raise ReportError(f"{len(problems)} malformed rows, nothing reported{more}:\n" + "\n".join(shown))
    if not runs:
        raise ReportError(f"no runs in {', '.join(map(str, inputs))}")
    return runs
