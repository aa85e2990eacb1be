"""Stage 3, collect: the training summary -> paper-format CSVs and their report under `results/` (CPU only, no Ray)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hpinit_k8s.data import INFO
from hpinit_k8s.layout import Layout
from hpinit_k8s.models import CSV_MODEL_NAMES
from hpinit_k8s.report import build_report
from hpinit_k8s.results import csv_files
from hpinit_k8s.spec import ExperimentSpec
from hpinit_k8s.stages.summary import StageOutcome, completed_summary, read_summary
from hpinit_k8s.storage import open_storage

MANIFEST = "collect.json"


def run_collect(spec: ExperimentSpec) -> StageOutcome:
    layout = Layout(open_storage(spec.storage), spec.name)
    storage = layout.storage
    train_summary = read_summary(storage, layout.train_summary, needed_by="collect", producer="train")
    manifest = f"{layout.results}/{MANIFEST}"
    done = completed_summary(storage, manifest, train_summary["fingerprint"], "collect")
    if done:
        return StageOutcome("collect", storage.uri_of_path(layout.results), skipped=True)
    files = csv_files(
        train_summary["runs"],
        experiment=spec.name,
        epochs=train_summary["epochs"],
        target=train_summary["target_accuracy"],
        dataset=INFO[spec.dataset.name].csv_name,
        model=CSV_MODEL_NAMES[spec.model.name],
    )
    for name, text in files.items():
        storage.write_text(f"{layout.results}/{name}", text)
    with tempfile.TemporaryDirectory() as scratch:
        all_runs = Path(scratch) / f"{spec.name}-all.csv"
        all_runs.write_text(files[all_runs.name])
        report = build_report([all_runs], Path(scratch) / "report", target=train_summary["target_accuracy"])
        for path in report.files:
            storage.write_bytes(f"{layout.results}/report/{path.name}", path.read_bytes())
    storage.write_json(manifest, {"fingerprint": train_summary["fingerprint"], "files": sorted(files)})
    return StageOutcome("collect", storage.uri_of_path(layout.results), skipped=False)
