"""The per-epoch body every trial shares: resume from Tune's checkpoint, run epochs, report with a checkpoint."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from ray import tune
from safetensors.torch import load_file

from hpinit_k8s.data import INFO, Stage, load_datasets
from hpinit_k8s.engine import EpochMetrics, TrainingRun, configure_determinism, pick_device
from hpinit_k8s.models import build_model
from hpinit_k8s.spec import ExperimentSpec, Hyperparameters
from hpinit_k8s.weights import load_torch_state, save_torch_state, state_to_bytes

MODEL_FILE = "model.safetensors"
TRAINER_FILE = "trainer.pt"
STATE_FILE = "state.json"

EpochHook = Callable[[EpochMetrics, dict[str, Any]], dict[str, Any]]
"""Called after each epoch with the metrics and the trial's persistent state; returns extra metrics."""


def resume(run: TrainingRun) -> tuple[int, dict[str, Any]] | None:
    """Restore model, optimiser and scheduler from Tune's last checkpoint; (epochs done, state) or None."""
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as directory:
        root = Path(directory)
        run.model.load_state_dict(load_file(root / MODEL_FILE, device=str(run.device)))
        run.load_trainer_state(load_torch_state((root / TRAINER_FILE).read_bytes()))
        saved = json.loads((root / STATE_FILE).read_text())
    return saved["epoch"], saved["state"]


def checkpoint_state(checkpoint: tune.Checkpoint) -> dict[str, Any]:
    """The stage's persistent state in a finished trial's last checkpoint."""
    with checkpoint.as_directory() as directory:
        return json.loads((Path(directory) / STATE_FILE).read_text())["state"]


def run_epochs(run: TrainingRun, *, epochs: int, start: int, state: dict[str, Any], after_epoch: EpochHook) -> None:
    """Epochs start+1 … epochs; every report carries a resume checkpoint (Tune keeps only the latest)."""
    for epoch in range(start + 1, epochs + 1):
        metrics = run.run_epoch(epoch)
        extra = after_epoch(metrics, state)
        with tempfile.TemporaryDirectory() as directory:
            root = Path(directory)
            (root / MODEL_FILE).write_bytes(state_to_bytes(run.model))
            (root / TRAINER_FILE).write_bytes(save_torch_state(run.trainer_state()))
            (root / STATE_FILE).write_text(json.dumps({"epoch": epoch, "state": state}))
            tune.report({**metrics.as_dict(), **extra}, checkpoint=tune.Checkpoint.from_directory(directory))


def make_run(spec: ExperimentSpec, hyperparameters: Hyperparameters, *, seed: int, stage: Stage) -> TrainingRun:
    """Seeded model init, the stage's data and the shared loop: the same recipe in tuning and training."""
    configure_determinism(spec.resources.deterministic)
    torch.manual_seed(seed)
    model = build_model(spec.model.name, INFO[spec.dataset.name].num_classes)
    data = load_datasets(spec.dataset, stage=stage, seed=seed, validation_fraction=spec.tuning.validation_fraction)
    batch_size = spec.tuning.batch_size if stage == "tune" else spec.training.batch_size
    return TrainingRun(
        model, hyperparameters, data, batch_size=batch_size, seed=seed,
        data_workers=spec.resources.data_workers, device=pick_device(),
    )
