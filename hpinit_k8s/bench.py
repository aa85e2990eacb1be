"""`make bench`: overhead of the tuning trainable against a bare PyTorch loop, cost of saving weights,
and bytes stored per trial under each retention policy. Prints a Markdown table (the README quotes it)."""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader

from hpinit_k8s.data import INFO, load_datasets
from hpinit_k8s.models import build_model
from hpinit_k8s.spec import ExperimentSpec, Hyperparameters, load_spec, parse_spec
from hpinit_k8s.weights import state_to_bytes

REPO = Path(__file__).resolve().parent.parent


def bare_loop_samples_per_second(spec: ExperimentSpec, hyperparameters: Hyperparameters, epochs: int) -> float:
    """The same model, data and optimiser in a plain loop: what the trainable's overhead is measured against."""
    torch.manual_seed(0)
    data = load_datasets(spec.dataset, stage="tune", seed=0, validation_fraction=spec.tuning.validation_fraction)
    model = build_model(spec.model.name, INFO[spec.dataset.name].num_classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=hyperparameters.lr, momentum=hyperparameters.momentum)
    loader = DataLoader(data.train, batch_size=spec.tuning.batch_size, shuffle=True)
    eval_loader = DataLoader(data.evaluation, batch_size=256)
    loss_fn = nn.CrossEntropyLoss()
    samples = 0
    started = 0.0
    for epoch in range(epochs):
        if epoch == 1:  # epoch 1 is warm-up, as for the trainable
            started, samples = time.perf_counter(), 0
        model.train()
        for inputs, targets in loader:
            loss = loss_fn(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            samples += len(targets)
        model.eval()
        with torch.no_grad():  # the trainable evaluates every epoch too
            for inputs, _ in eval_loader:
                model(inputs)
    return samples / (time.perf_counter() - started)


def trainable_run(spec: ExperimentSpec) -> dict[str, float]:
    """One tuning trial through Ray Tune, storage and all; times from its own reports."""
    from ray import tune

    from hpinit_k8s.stages.runner import Progress, RaySession, TunerJob, fit
    from hpinit_k8s.stages.tune import param_space, tune_trainable
    from hpinit_k8s.storage import open_storage

    session = RaySession()
    try:
        storage = open_storage(spec.storage)
        results = fit(TunerJob(
            storage=storage, experiment_path=storage.path(spec.name, "bench"),
            trainable=tune.with_parameters(tune_trainable, spec=spec), param_space=param_space(spec),
            num_samples=1, resources=spec.resources.tune, max_concurrent_trials=1,
            progress=Progress("bench", 1, lambda r: f"epoch {r.get('epoch')}", every_s=1e9), ray_session=session,
        ))
    finally:
        session.close()
    frame = results[0].metrics_dataframe
    wall = float(frame["time_total_s"].iloc[-1] - frame["time_total_s"].iloc[0])  # epochs 2..E: warm
    samples = float(frame["train_samples"].iloc[1:].sum())
    epoch_seconds = float(frame["time_this_iter_s"].iloc[1:].mean())
    return {
        "samples_per_second": samples / wall,
        "save_share": float(frame["weights_save_seconds"].iloc[1:].mean()) / epoch_seconds,
        "epoch_seconds": epoch_seconds,
    }


def bench_spec(base: dict, *, model: str, dataset: str, epochs: int, batch: int, root: Path) -> ExperimentSpec:
    data = copy.deepcopy(base)
    data.update(name=f"bench-{model}")
    data["model"] = {"name": model}
    data["dataset"] = {"name": dataset}
    data["tuning"].update(trials=1, epochs=epochs, batch_size=batch, search_space={"lr": {"choice": [0.05]}})
    data["training"]["policies"] = ["random", "hp-final"]
    data["storage"] = {"uri": str(root)}
    threads = torch.get_num_threads()  # the trial gets as many cores as the bare loop uses
    data["resources"] = {**data["resources"], "tune": {"cpus": threads, "gpus": 0}}
    return parse_spec(data, source="bench")


def retention_bytes(spec_path: Path) -> tuple[str, int, dict[str, int]]:
    spec = load_spec(spec_path)
    per_epoch = len(state_to_bytes(build_model(spec.model.name, INFO[spec.dataset.name].num_classes)))
    epochs_all = spec.tuning.epochs + 1
    policies = {0, *spec.policy_epochs()}
    return spec.name, per_epoch, {"all": per_epoch * epochs_all, "policies": per_epoch * len(policies),
                                  "init+final": per_epoch * 2}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hpinit_k8s.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs per measured run (first one is warm-up)")
    args = parser.parse_args(argv)
    base = yaml.safe_load((REPO / "experiments" / "quickstart.yaml").read_text())
    print("| workload | bare loop (samples/s) | tuning trainable (samples/s) | ratio | weight saving / epoch time |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as scratch:
        for model, dataset, batch in (("small-cnn", "digits", 64), ("resnet18-cifar", "fake", 64)):
            spec = bench_spec(base, model=model, dataset=dataset, epochs=args.epochs, batch=batch, root=Path(scratch))
            hyperparameters = Hyperparameters(lr=0.05)
            bare = bare_loop_samples_per_second(spec, hyperparameters, args.epochs)
            trial = trainable_run(spec)
            print(f"| {model} on {dataset} | {bare:,.0f} | {trial['samples_per_second']:,.0f} |"
                  f" {trial['samples_per_second'] / bare:.2f} | {100 * trial['save_share']:.1f} % |", flush=True)
    print()
    print("| spec | bytes per epoch | all epochs, per trial | only policy epochs | init + final |")
    print("|---|---:|---:|---:|---:|")
    for path in sorted((REPO / "experiments").glob("*.yaml")):
        name, per_epoch, sizes = retention_bytes(path)
        mib = lambda n: f"{n / 2**20:,.1f} MiB"  # noqa: E731
        print(f"| {name} | {mib(per_epoch)} | {mib(sizes['all'])} | {mib(sizes['policies'])} | {mib(sizes['init+final'])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
