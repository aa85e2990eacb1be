"""Stage 1, tune: random search where every trial saves its weights (epoch 0 and each retained epoch).

Writes `tune/summary.json` (+ `.csv`): every trial's config, seed and validation curve, the winner,
and the URIs and hashes of the winner's weights, which is all the train stage reads.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, ConfigDict
from ray import tune

from hpinit_k8s.data import prepare
from hpinit_k8s.errors import StageError
from hpinit_k8s.layout import Layout
from hpinit_k8s.provenance import provenance
from hpinit_k8s.spec import TUNE_SECTIONS, Choice, Distribution, ExperimentSpec, Hyperparameters, LogUniform
from hpinit_k8s.stages.runner import Progress, RaySession, TunerJob, fit
from hpinit_k8s.stages.summary import StageOutcome, completed_summary, curve, write_spec
from hpinit_k8s.stages.trial import checkpoint_state, make_run, resume, run_epochs
from hpinit_k8s.storage import open_storage
from hpinit_k8s.weights import save_weights


class TuneTrialConfig(BaseModel):
    """A tuning trial's Ray config, typed: its index (which picks its seed) and sampled values."""

    model_config = ConfigDict(extra="forbid")
    trial_index: int
    hyperparameters: dict[str, float]


def sampler(distribution: Distribution) -> Any:
    if isinstance(distribution, Choice):
        return tune.choice(distribution.choice)
    if isinstance(distribution, LogUniform):
        return tune.loguniform(*distribution.loguniform)
    return tune.uniform(*distribution.uniform)


def param_space(spec: ExperimentSpec) -> dict[str, Any]:
    """One grid point per trial index; each samples its own hyperparameters (so num_samples is 1)."""
    return {
        "trial_index": tune.grid_search(list(range(spec.tuning.trials))),
        "hyperparameters": {name: sampler(d) for name, d in spec.tuning.search_space.items()},
    }


def tune_trainable(config: dict[str, Any], *, spec: ExperimentSpec) -> None:
    trial = TuneTrialConfig.model_validate(config)
    hyperparameters = Hyperparameters.model_validate({**spec.tuning.hyperparameters, **trial.hyperparameters})
    seed = spec.tuning.trial_seeds()[trial.trial_index]
    layout = Layout(open_storage(spec.storage), spec.name)
    run = make_run(spec, hyperparameters, seed=seed, stage="tune")
    retained = set(spec.retained_epochs())

    def save(epoch: int) -> dict[str, Any]:
        return asdict(save_weights(layout.storage, layout.tune_weights(trial.trial_index, epoch), run.model))

    resumed = resume(run)
    start, state = resumed if resumed else (0, {"weights": {"0": save(0)}})

    def after_epoch(metrics: Any, state: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        if metrics.epoch in retained:
            state["weights"][str(metrics.epoch)] = save(metrics.epoch)
        return {"trial_index": trial.trial_index, "seed": seed, "weights_saved": len(state["weights"]),
                "weights_save_seconds": time.perf_counter() - started}

    run_epochs(run, epochs=spec.tuning.epochs, start=start, state=state, after_epoch=after_epoch)


def trial_record(result: tune.Result, spec: ExperimentSpec) -> dict[str, Any]:
    config = TuneTrialConfig.model_validate(result.config)
    checkpoint = result.checkpoint
    if checkpoint is None:
        raise StageError(f"tuning trial {config.trial_index} finished without a checkpoint")
    saved = checkpoint_state(checkpoint)
    return {
        "trial_index": config.trial_index,
        "trial_id": result.metrics["trial_id"],
        "seed": spec.tuning.trial_seeds()[config.trial_index],
        "hyperparameters": Hyperparameters.model_validate(
            {**spec.tuning.hyperparameters, **config.hyperparameters}
        ).model_dump(),
        "val_accuracy": curve(result.metrics_dataframe, "eval_accuracy", spec.tuning.epochs),
        "val_loss": curve(result.metrics_dataframe, "eval_loss", spec.tuning.epochs),
        "weights": saved["weights"],
    }


def score(trial: dict[str, Any], rule: str) -> float:
    curve_ = trial["val_accuracy"]
    return curve_[-1] if rule == "last" else max(curve_)


def build_summary(trials: list[dict[str, Any]], spec: ExperimentSpec) -> dict[str, Any]:
    """Rank trials (ties go to the lower trial index) and name the winner; pure, so it is tested alone."""
    rule = spec.tuning.winner
    ranked = sorted(trials, key=lambda t: (-score(t, rule), t["trial_index"]))
    keep = len(ranked) if spec.tuning.retention.top_trials is None else spec.tuning.retention.top_trials
    kept_ids = {t["trial_index"] for t in ranked[:keep]}
    rows = [
        {**t, "score": score(t, rule), "rank": rank + 1, "weights_kept": t["trial_index"] in kept_ids}
        for rank, t in enumerate(ranked)
    ]
    winner = rows[0]
    return {
        "experiment": spec.name,
        "fingerprint": spec.fingerprint(*TUNE_SECTIONS),
        "epochs": spec.tuning.epochs,
        "winner_rule": rule,
        "trials": sorted(rows, key=lambda t: t["trial_index"]),
        "winner": {key: winner[key] for key in ("trial_index", "trial_id", "seed", "hyperparameters", "score", "weights")},
        "provenance": provenance(),
    }


def summary_csv(summary: dict[str, Any]) -> str:
    epochs = summary["epochs"]
    names = sorted(summary["trials"][0]["hyperparameters"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trial_index", "trial_id", "seed", *names, *[f"val_epoch_{e}" for e in range(1, epochs + 1)],
                     "score", "rank", "winner", "weights_kept"])
    for t in summary["trials"]:
        writer.writerow([t["trial_index"], t["trial_id"], t["seed"], *[t["hyperparameters"][n] for n in names],
                         *t["val_accuracy"], t["score"], t["rank"], t["rank"] == 1, t["weights_kept"]])
    return out.getvalue()


def run_tune(spec: ExperimentSpec, ray_session: RaySession) -> StageOutcome:
    layout = Layout(open_storage(spec.storage), spec.name)
    done = completed_summary(layout.storage, layout.tune_summary, spec.fingerprint(*TUNE_SECTIONS), "tune")
    if done:
        return done
    prepare(spec.dataset, "tune")
    write_spec(layout, spec)
    progress = Progress("tune", spec.tuning.trials, lambda r: f"trial {r.get('trial_index')} epoch "
                        f"{r.get('epoch')}/{spec.tuning.epochs} val {r.get('eval_accuracy', 0):.2f}%")
    results = fit(TunerJob(
        storage=layout.storage,
        experiment_path=layout.tune_trials,
        trainable=tune.with_parameters(tune_trainable, spec=spec),
        param_space=param_space(spec),
        num_samples=1,
        resources=spec.resources.tune,
        max_concurrent_trials=spec.resources.max_concurrent_trials,
        progress=progress,
        ray_session=ray_session,
        search_seed=spec.tuning.search_seed,
    ))
    summary = build_summary([trial_record(r, spec) for r in results], spec)
    for trial in summary["trials"]:
        if not trial["weights_kept"]:
            layout.storage.delete_dir(layout.tune_weights(trial["trial_index"]))
    layout.storage.write_text(layout.tune_summary_csv, summary_csv(summary))
    layout.storage.write_json(layout.tune_summary, summary)
    winner = summary["winner"]
    progress.say(f"winner: trial {winner['trial_index']} ({winner['score']:.2f}% validation accuracy)")
    return StageOutcome("tune", layout.storage.uri_of_path(layout.tune_summary), skipped=False)
