"""The quickstart end to end on a real local Ray: local storage, a real S3 server, idempotence, resume."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import EXPERIMENTS, HPINIT, REPO, run_cli, write_spec
from hpinit_k8s.results import columns
from hpinit_k8s.seeds import paper_seeds

pytestmark = pytest.mark.slow
QUICKSTART = EXPERIMENTS / "quickstart.yaml"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    return env


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("storage")
    result = run_cli("run", str(QUICKSTART), "--storage", str(root), env=_env(), cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "quickstart", result


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_prints_where_results_are(local_run):
    experiment, result = local_run
    assert result.stdout.splitlines() == [
        f"tune: done: {experiment}/tune/summary.json",
        f"train: done: {experiment}/train/summary.json",
        f"collect: done: {experiment}/results",
    ]
    assert "[tune] 4/4 done" in result.stderr and "[train] 10/10 done" in result.stderr


def test_every_trial_saved_every_epoch_and_the_summary_hashes_them(local_run):
    experiment, _ = local_run
    summary = json.loads((experiment / "tune" / "summary.json").read_text())
    assert [t["seed"] for t in summary["trials"]] == paper_seeds(3, 4)
    for trial in summary["trials"]:
        folder = experiment / "tune" / "weights" / f"trial-{trial['trial_index']:03d}"
        assert sorted(p.name for p in folder.iterdir()) == [f"epoch-{e:04d}.safetensors" for e in range(7)]
        assert len(trial["val_accuracy"]) == 6 and trial["hyperparameters"]["lr"] in (0.01, 0.03, 0.1)
    winner = summary["winner"]
    assert winner["score"] == max(t["val_accuracy"][-1] for t in summary["trials"])
    assert sorted(winner["weights"], key=int) == [str(e) for e in range(7)]
    for saved in winner["weights"].values():
        assert hashlib.sha256(Path(saved["uri"]).read_bytes()).hexdigest() == saved["sha256"]
    assert (experiment / "tune" / "summary.csv").read_text().count("\n") == 5
    assert summary["provenance"]["ray_version"] == "2.60.0"


def test_collector_writes_the_papers_format(local_run):
    experiment, _ = local_run
    results = experiment / "results"
    names = sorted(p.name for p in results.glob("*.csv"))
    assert names == sorted(f"quickstart-{label}.csv" for label in
                           ["all", "random", "hp-init", "hp-final", "hp-epoch-2", "hp-epoch-4"])
    rows = _rows((results / "quickstart-all.csv").read_text())
    assert len(rows) == 10 and list(rows[0]) == columns(8)
    for row in rows:
        accuracies = [float(row[f"epoch_{e}"]) for e in range(1, 9)]
        assert float(row["best_accuracy"]) == max(accuracies)
        assert row["dataset"] == "digits" and row["num_epochs"] == "8"
        assert row["hp_epoch"] == ((row["weight_initialization"] == "hp-epoch" and row["hp_epoch"]) or "-1")
    assert {r["seed"] for r in rows} == {str(s) for s in paper_seeds(17, 2)}
    report = json.loads((results / "report" / "summary.json").read_text())
    assert [e["policy"] for e in report] == ["hp-epoch", "hp-epoch", "hp-init", "hp-final", "random"]
    assert (results / "report" / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_hp_final_starts_far_above_random(local_run):
    experiment, _ = local_run
    rows = _rows((experiment / "results" / "quickstart-all.csv").read_text())

    def first_epoch(policy):
        values = [float(r["epoch_1"]) for r in rows if r["weight_initialization"] == policy]
        return sum(values) / len(values)

    assert first_epoch("hp-final") > first_epoch("random")
    assert first_epoch("hp-final") > 50  # chance is 10 %


def test_rerun_is_idempotent(local_run):
    experiment, _ = local_run
    summary = experiment / "tune" / "summary.json"
    before = summary.stat().st_mtime_ns
    result = run_cli("run", str(QUICKSTART), "--storage", str(experiment.parent), env=_env(), cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("already complete, nothing to do") == 3
    assert summary.stat().st_mtime_ns == before


def test_changed_spec_on_the_same_storage_is_refused(local_run, tmp_path, quickstart_data):
    experiment, _ = local_run
    data = copy.deepcopy(quickstart_data)
    data["tuning"]["batch_size"] = 32
    spec = write_spec(tmp_path, data)
    result = run_cli("run", str(spec), "--stage", "tune", "--storage", str(experiment.parent), env=_env())
    assert result.returncode == 2 and "written from a different spec" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_training_refuses_weights_that_changed_after_tuning(local_run, tmp_path):
    experiment, _ = local_run
    copy_root = tmp_path / "copy"
    shutil.copytree(experiment.parent, copy_root)
    summary_path = copy_root / "quickstart" / "tune" / "summary.json"
    summary = json.loads(summary_path.read_text().replace(str(experiment.parent), str(copy_root)))
    summary_path.write_text(json.dumps(summary))
    (copy_root / "quickstart" / "train" / "summary.json").unlink()
    tampered = Path(summary["winner"]["weights"]["2"]["uri"])
    tampered.write_bytes(tampered.read_bytes()[:-4] + b"\0\0\0\0")
    result = run_cli("run", str(QUICKSTART), "--stage", "train", "--storage", str(copy_root), env=_env())
    assert result.returncode == 2
    actual = hashlib.sha256(tampered.read_bytes()).hexdigest()[:12]
    assert result.stderr.strip() == (f"hpinit: error: {tampered}: sha256 {actual}…"
                                     f" differs from the tuning summary's {summary['winner']['weights']['2']['sha256'][:12]}…"
                                     " (the file changed after tuning)")


def test_a_trial_bigger_than_the_local_ray_is_refused(tmp_path, quickstart_data):
    data = copy.deepcopy(quickstart_data)
    data["resources"]["tune"]["gpus"] = 1
    result = run_cli("run", str(write_spec(tmp_path, data)), "--storage", str(tmp_path / "runs"), env=_env())
    assert result.returncode == 2
    assert result.stderr.strip() == ("hpinit: error: resources.tune.gpus: each trial asks for 1 GPUs but this Ray has 0"
                                     " (set it lower to run on this machine)")


def test_quickstart_on_a_real_s3_server(s3_server, s3_env, tmp_path, quickstart_data):
    import boto3

    data = copy.deepcopy(quickstart_data)
    data["storage"] = {"uri": f"s3://{s3_server['bucket']}/e2e", "s3": {"endpoint": s3_server["endpoint"]}}
    spec = write_spec(tmp_path, data)
    result = run_cli("run", str(spec), env=s3_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"collect: done: s3://{s3_server['bucket']}/e2e/quickstart/results" in result.stdout
    client = boto3.client("s3", endpoint_url=s3_server["endpoint"], region_name="us-east-1",
                          aws_access_key_id=s3_server["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=s3_server["AWS_SECRET_ACCESS_KEY"])
    keys = {o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3_server["bucket"],
                                                                               Prefix="e2e/quickstart/")
            for o in page.get("Contents", [])}
    weights = [k for k in keys if k.startswith("e2e/quickstart/tune/weights/") and k.endswith(".safetensors")]
    assert len(weights) == 4 * 7
    assert any(k.startswith("e2e/quickstart/tune/trials/") for k in keys)  # Ray Tune's own state on S3
    summary = json.loads(client.get_object(Bucket=s3_server["bucket"], Key="e2e/quickstart/tune/summary.json")["Body"].read())
    assert summary["winner"]["weights"]["6"]["uri"].startswith(f"s3://{s3_server['bucket']}/e2e/quickstart/tune/weights/")
    all_csv = client.get_object(Bucket=s3_server["bucket"], Key="e2e/quickstart/results/quickstart-all.csv")["Body"].read()
    assert len(_rows(all_csv.decode())) == 10
    assert not (tmp_path / "runs").exists()  # nothing written locally


def test_killed_tuning_resumes_instead_of_restarting(tmp_path, quickstart_data):
    data = copy.deepcopy(quickstart_data)
    data["tuning"].update({"trials": 2, "epochs": 6})
    data["training"]["policies"] = ["random", "hp-final"]
    data["resources"]["max_concurrent_trials"] = 1
    spec = write_spec(tmp_path, data)
    storage = tmp_path / "runs"
    weights = storage / "quickstart" / "tune" / "weights" / "trial-000"
    process = subprocess.Popen([*HPINIT, "run", str(spec), "--stage", "tune", "--storage", str(storage)],
                               env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    while not (weights / "epoch-0002.safetensors").exists():
        assert process.poll() is None and time.monotonic() < deadline, "tuning ended before it could be killed"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    time.sleep(3)  # let the killed Ray's processes go
    early = {p.name: p.stat().st_mtime_ns for p in weights.iterdir() if p.name <= "epoch-0001.safetensors"}
    assert "epoch-0000.safetensors" in early and not (storage / "quickstart" / "tune" / "summary.json").exists()

    result = run_cli("run", str(spec), "--stage", "tune", "--storage", str(storage), env=_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from" in result.stderr
    after = {p.name: p.stat().st_mtime_ns for p in weights.iterdir()}
    assert {name: after[name] for name in early} == early  # epochs done before the kill were not redone
    assert len(after) == 7
    summary = json.loads((storage / "quickstart" / "tune" / "summary.json").read_text())
    assert [len(t["val_accuracy"]) for t in summary["trials"]] == [6, 6]
