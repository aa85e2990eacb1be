"""Where each stage writes under `<root>/<experiment>/`: the one place that knows the storage layout."""

from __future__ import annotations

from dataclasses import dataclass

from hpinit_k8s.storage import Storage


@dataclass(frozen=True)
class Layout:
    storage: Storage
    experiment: str

    def path(self, *parts: str) -> str:
        return self.storage.path(self.experiment, *parts)

    @property
    def spec(self) -> str:
        return self.path("spec.yaml")

    @property
    def tune_trials(self) -> str:
        """Ray Tune's experiment directory of the tuning stage (state, results, resume checkpoints)."""
        return self.path("tune", "trials")

    def tune_weights(self, trial_index: int, epoch: int | None = None) -> str:
        folder = self.path("tune", "weights", f"trial-{trial_index:03d}")
        return folder if epoch is None else f"{folder}/epoch-{epoch:04d}.safetensors"

    @property
    def tune_summary(self) -> str:
        return self.path("tune", "summary.json")

    @property
    def tune_summary_csv(self) -> str:
        return self.path("tune", "summary.csv")

    @property
    def train_runs(self) -> str:
        return self.path("train", "runs")

    @property
    def train_summary(self) -> str:
        return self.path("train", "summary.json")

    @property
    def results(self) -> str:
        return self.path("results")
