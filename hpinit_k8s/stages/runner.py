"""What the tune and train stages share around Ray Tune: connecting, fitting or resuming, progress."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ray
from ray import tune

from hpinit_k8s.errors import StageError
from hpinit_k8s.spec import TrialResources
from hpinit_k8s.storage import Storage


class RaySession:
    """Connects on first use, so a stage that finds its work done never starts Ray.

    Joins the cluster in RAY_ADDRESS (a KubeRay job) or starts a local Ray, which it also stops.
    Quiet unless verbose: trial logs stay on the workers (failures still surface through Tune).
    """

    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose
        self.started_here = False

    def ensure(self, resources: TrialResources, *, stage: str) -> None:
        if not ray.is_initialized():
            self._connect()
        if self.started_here:
            check_fits(resources, stage=stage)

    def _connect(self) -> None:
        # Each report carries a checkpoint, so Tune snapshots its state often; that is intended here.
        os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the legacy reporter honours verbose=0
        options: dict[str, Any] = {
            "logging_level": logging.INFO if self.verbose else logging.WARNING,
            "log_to_driver": self.verbose,
        }
        address = os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, **options)
            return
        # A local Ray keeps Ray 2.60's default token authentication, without the warning that announces it.
        if "RAY_AUTH_MODE" not in os.environ:
            logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
        ray.init(include_dashboard=False, **options)
        self.started_here = True

    def close(self) -> None:
        if self.started_here:
            ray.shutdown()
            self.started_here = False


def check_fits(resources: TrialResources, *, stage: str) -> None:
    """A local Ray never grows: a trial that asks for more than it has would wait forever."""
    available = ray.cluster_resources()
    for key, asked in (("CPU", resources.cpus), ("GPU", resources.gpus)):
        if asked > available.get(key, 0):
            raise StageError(
                f"resources.{stage}.{key.lower()}s: each trial asks for {asked:g} {key}s but this Ray has"
                f" {available.get(key, 0):g} (set it lower to run on this machine)"
            )


class Progress(tune.Callback):
    """One line per finished trial and a throttled status line: quiet, but never silent for long."""

    def __init__(self, stage: str, total: int, describe: Callable[[dict], str], every_s: float = 15.0) -> None:
        self.stage, self.total, self.describe, self.every_s = stage, total, describe, every_s
        self.done = 0
        self.last_line = 0.0

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        now = time.monotonic()
        if now - self.last_line >= self.every_s:
            self.last_line = now
            running = sum(1 for t in trials if t.status == "RUNNING")
            self.say(f"{self.done}/{self.total} done, {running} running; latest: {self.describe(result)}")

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.done += 1
        result = trial.last_result or {}
        self.say(f"{self.done}/{self.total} done: {self.describe(result)}")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.say(f"trial {trial.trial_id} failed: {trial.error_file or 'see the Ray logs'}")

    def say(self, text: str) -> None:
        print(f"[{self.stage}] {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class TunerJob:
    """Everything one stage hands to Ray Tune."""

    storage: Storage
    experiment_path: str
    """Storage path of Ray Tune's experiment directory for this stage."""
    trainable: Any
    param_space: dict[str, Any]
    num_samples: int
    resources: TrialResources
    max_concurrent_trials: int | None
    progress: Progress
    ray_session: RaySession
    search_seed: int = 0
    max_failures: int = 2


def fit(job: TunerJob) -> tune.ResultGrid:
    """Run the stage's trials, resuming Ray Tune's own experiment state when an earlier run stopped."""
    job.ray_session.ensure(job.resources, stage=job.progress.stage)
    trainable = tune.with_resources(job.trainable, {"cpu": job.resources.cpus, "gpu": job.resources.gpus})
    filesystem = job.storage.filesystem
    if tune.Tuner.can_restore(job.experiment_path, storage_filesystem=filesystem):
        job.progress.say(f"resuming from {job.storage.uri_of_path(job.experiment_path)}")
        tuner = tune.Tuner.restore(
            job.experiment_path, trainable, resume_errored=True, storage_filesystem=filesystem
        )
    else:
        parent, name = job.experiment_path.rsplit("/", 1)
        tuner = tune.Tuner(
            trainable,
            param_space=job.param_space,
            tune_config=tune.TuneConfig(
                num_samples=job.num_samples,
                # The variant generator enforces the limit itself (Tune ignores max_concurrent_trials for it).
                search_alg=tune.search.BasicVariantGenerator(
                    max_concurrent=job.max_concurrent_trials or 0, random_state=job.search_seed
                ),
            ),
            run_config=tune.RunConfig(
                name=name,
                storage_path=parent,
                storage_filesystem=filesystem,
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                failure_config=tune.FailureConfig(max_failures=job.max_failures),
                callbacks=[job.progress],
                verbose=0,
            ),
        )
    results = tuner.fit()
    failed = [result for result in results if result.error is not None]
    if failed:
        first = str(failed[0].error).strip().splitlines()[-1]
        raise StageError(f"{job.progress.stage}: {len(failed)} of {len(results)} trials failed (first: {first})")
    return results
