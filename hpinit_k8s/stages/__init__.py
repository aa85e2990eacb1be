"""The pipeline: tune -> train -> collect, each reading the spec and the previous stage's summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from hpinit_k8s.spec import ExperimentSpec
from hpinit_k8s.stages.summary import StageOutcome

StageName = Literal["tune", "train", "collect"]
STAGES: tuple[StageName, ...] = ("tune", "train", "collect")


def stage_runner(stage: StageName) -> Callable[..., StageOutcome]:
    """Imported lazily: `collect` runs in a CPU-only Job that never needs Ray."""
    if stage == "tune":
        from hpinit_k8s.stages.tune import run_tune

        return run_tune
    if stage == "train":
        from hpinit_k8s.stages.train import run_train

        return run_train
    from hpinit_k8s.stages.collect import run_collect

    return run_collect


def run_stages(spec: ExperimentSpec, stages: tuple[StageName, ...], *, verbose: bool = False) -> Iterator[StageOutcome]:
    spec = spec.with_absolute_paths(Path.cwd())
    if stages == ("collect",):
        yield stage_runner("collect")(spec)
        return
    from hpinit_k8s.stages.runner import RaySession

    session = RaySession(verbose=verbose)
    try:
        for stage in stages:
            yield stage_runner(stage)(spec) if stage == "collect" else stage_runner(stage)(spec, session)
    finally:
        session.close()
