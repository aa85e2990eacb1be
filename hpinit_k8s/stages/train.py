"""Stage 2, train: policies x seeds as parallel trials with the winner's hyperparameters.

Reads the tuning summary (never a pasted path); `hp-*` runs load the winner's weights of their epoch,
verified by hash and shapes, then train from a fresh optimiser and scheduler.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from ray import tune

from hpinit_k8s.data import prepare
from hpinit_k8s.errors import StageError
from hpinit_k8s.layout import Layout
from hpinit_k8s.provenance import provenance
from hpinit_k8s.spec import TRAIN_SECTIONS, ExperimentSpec, Hyperparameters, Policy
from hpinit_k8s.stages.runner import Progress, RaySession, TunerJob, fit
from hpinit_k8s.stages.summary import StageOutcome, completed_summary, curve, read_summary, write_spec
from hpinit_k8s.stages.trial import make_run, resume, run_epochs
from hpinit_k8s.storage import open_storage
from hpinit_k8s.weights import load_weights_into, verify_stored


class TrainRunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: str
    """A policy label from the spec (`random`, `hp-init`, `hp-final`, `hp-epoch-E`)."""
    seed: int


def policy_by_label(spec: ExperimentSpec, label: str) -> Policy:
    for policy in spec.policies():
        if policy.label == label:
            return policy
    raise StageError(f"training run asks for policy {label!r}, which the spec does not list")


def train_trainable(config: dict[str, Any], *, spec: ExperimentSpec, winner: dict[str, Any]) -> None:
    run_config = TrainRunConfig.model_validate(config)
    policy = policy_by_label(spec, run_config.policy)
    hyperparameters = Hyperparameters.model_validate(winner["hyperparameters"])
    run = make_run(spec, hyperparameters, seed=run_config.seed, stage="train")
    resumed = resume(run)
    if resumed is None and policy.epoch is not None:
        weights = winner["weights"][str(policy.epoch)]
        storage = open_storage(spec.storage)
        data = storage.read_bytes(storage.path_of(weights["uri"]))
        load_weights_into(run.model, data, expected_sha256=weights["sha256"], source=weights["uri"])
    start, state = resumed or (0, {})
    labels = {"policy": policy.kind, "hp_epoch": policy.csv_hp_epoch, "label": policy.label, "seed": run_config.seed}
    run_epochs(run, epochs=spec.training.epochs, start=start, state=state, after_epoch=lambda m, s: labels)


def param_space(spec: ExperimentSpec) -> dict[str, Any]:
    return {
        "policy": tune.grid_search([p.label for p in spec.policies()]),
        "seed": tune.grid_search(spec.training.run_seeds()),
    }


def run_record(result: tune.Result, spec: ExperimentSpec) -> dict[str, Any]:
    config = TrainRunConfig.model_validate(result.config)
    policy = policy_by_label(spec, config.policy)
    return {
        "trial_id": result.metrics["trial_id"],
        "policy": policy.kind,
        "label": policy.label,
        "hp_epoch": policy.epoch,
        "seed": config.seed,
        "test_accuracy": curve(result.metrics_dataframe, "eval_accuracy", spec.training.epochs),
        "test_loss": curve(result.metrics_dataframe, "eval_loss", spec.training.epochs),
    }


def train_fingerprint(spec: ExperimentSpec, tune_summary: dict[str, Any]) -> str:
    return f"{spec.fingerprint(*TRAIN_SECTIONS)}-{tune_summary['fingerprint']}"


def run_train(spec: ExperimentSpec, ray_session: RaySession) -> StageOutcome:
    layout = Layout(open_storage(spec.storage), spec.name)
    tune_summary = read_summary(layout.storage, layout.tune_summary, needed_by="train", producer="tune")
    fingerprint = train_fingerprint(spec, tune_summary)
    done = completed_summary(layout.storage, layout.train_summary, fingerprint, "train")
    if done:
        return done
    winner = tune_summary["winner"]
    missing = [p.label for p in spec.policies() if p.epoch is not None and str(p.epoch) not in winner["weights"]]
    if missing:
        raise StageError(f"train: the tuning summary has no winner weights for {', '.join(missing)}")
    for epoch in spec.policy_epochs():
        verify_stored(layout.storage, winner["weights"][str(epoch)])
    prepare(spec.dataset, "train")
    write_spec(layout, spec)
    total = len(spec.policies()) * spec.training.runs_per_policy
    progress = Progress("train", total, lambda r: f"{r.get('label')} seed {r.get('seed')} epoch "
                        f"{r.get('epoch')}/{spec.training.epochs} test {r.get('eval_accuracy', 0):.2f}%")
    results = fit(TunerJob(
        storage=layout.storage,
        experiment_path=layout.train_runs,
        trainable=tune.with_parameters(train_trainable, spec=spec, winner=winner),
        param_space=param_space(spec),
        num_samples=1,
        resources=spec.resources.train,
        max_concurrent_trials=spec.resources.max_concurrent_trials,
        progress=progress,
        ray_session=ray_session,
    ))
    runs = sorted((run_record(r, spec) for r in results), key=lambda r: (r["label"], r["seed"]))
    summary = {
        "experiment": spec.name,
        "fingerprint": fingerprint,
        "epochs": spec.training.epochs,
        "target_accuracy": spec.training.target_accuracy,
        "tune_summary": layout.storage.uri_of_path(layout.tune_summary),
        "winner": {k: winner[k] for k in ("trial_index", "trial_id", "seed", "hyperparameters")},
        "runs": runs,
        "provenance": provenance(),
    }
    layout.storage.write_json(layout.train_summary, summary)
    return StageOutcome("train", layout.storage.uri_of_path(layout.train_summary), skipped=False)
