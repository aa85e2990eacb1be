"""The spec: shipped specs validate, bad ones fail with one line naming the field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from conftest import EXPERIMENTS, load_yaml, run_cli, write_spec
from hpinit_k8s.errors import SpecError
from hpinit_k8s.spec import ExperimentSpec, Policy, load_spec, parse_spec

PAPER_SPECS = {
    # spec: (trials, tuning epochs, tuning batch, training epochs, training batch, runs, policy labels, target)
    "res18-cifar10": (10, 30, 128, 200, 128, 8,
                      ["random", "hp-final", *[f"hp-epoch-{e}" for e in (2, 5, 10, 15, 20, 25)]], 90),
    "res18-cifar100": (10, 40, 256, 200, 256, 8,
                       ["random", "hp-final", *[f"hp-epoch-{e}" for e in (5, 10, 15, 30, 35)]], 75),
    "res18-tinyimagenet": (12, 40, 256, 200, 256, 8,
                           ["random", "hp-final", *[f"hp-epoch-{e}" for e in (5, 10, 15, 30, 35)]], 40),
    "res152-cifar100": (10, 80, 128, 200, 128, 4, ["random", "hp-final", "hp-epoch-65", "hp-epoch-75"], 75),
    "inceptionv3-food101": (12, 20, 64, 50, 64, 8, ["random", "hp-final", *[f"hp-epoch-{e}" for e in (5, 10, 15)]], 70),
}


@pytest.mark.parametrize("name", sorted(PAPER_SPECS))
def test_paper_specs_have_the_papers_settings(name):
    spec = load_spec(EXPERIMENTS / f"{name}.yaml")
    trials, t_epochs, t_batch, epochs, batch, runs, labels, target = PAPER_SPECS[name]
    assert (spec.tuning.trials, spec.tuning.epochs, spec.tuning.batch_size) == (trials, t_epochs, t_batch)
    assert (spec.training.epochs, spec.training.batch_size, spec.training.runs_per_policy) == (epochs, batch, runs)
    assert [p.label for p in spec.policies()] == labels
    assert spec.training.target_accuracy == target
    assert spec.tuning.trial_seeds()[:2] == [31190, 77678]
    assert spec.training.run_seeds()[:2] == [68417, 54285]
    assert (spec.resources.tune.gpus, spec.resources.tune.cpus, spec.resources.train.cpus) == (1, 2, 1)


def test_every_shipped_spec_validates():
    names = sorted(p.stem for p in EXPERIMENTS.glob("*.yaml"))
    assert "quickstart" in names and set(PAPER_SPECS) <= set(names)
    for path in EXPERIMENTS.glob("*.yaml"):
        assert load_spec(path).name == path.stem


def test_quickstart_has_every_policy(quickstart_data):
    spec = parse_spec(quickstart_data, source="quickstart")
    assert {p.kind for p in spec.policies()} == {"random", "hp-init", "hp-final", "hp-epoch"}


def test_policy_epochs_are_completed_epochs(quickstart_data):
    spec = parse_spec(quickstart_data, source="quickstart")
    by_label = {p.label: p for p in spec.policies()}
    assert by_label["hp-init"] == Policy(kind="hp-init", epoch=0)
    assert by_label["hp-final"].epoch == spec.tuning.epochs
    assert by_label["hp-epoch-2"].epoch == 2 and by_label["hp-epoch-2"].csv_hp_epoch == 2
    assert by_label["hp-final"].csv_hp_epoch == -1 and by_label["random"].epoch is None


def test_retention_policies_keeps_only_what_training_needs(quickstart_data):
    data = copy.deepcopy(quickstart_data)
    data["tuning"]["retention"] = {"epochs": "policies"}
    spec = parse_spec(data, source="test")
    assert spec.retained_epochs() == [0, 2, 4, 6]


def _set(data: dict, dotted: str, value) -> dict:
    data = copy.deepcopy(data)
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


_DELETE = object()

BAD_SPECS = [
    ("name", "Bad_Name", "name: must be a DNS-1035 label"),
    ("name", "a" * 41, "name: String should have at most 40 characters"),
    ("model.name", "resnet50", "model.name: Input should be 'small-cnn'"),
    ("dataset.name", "mnist", "dataset.name: Input should be 'digits'"),
    ("dataset.colour", "red", "dataset.colour: Extra inputs are not permitted"),
    ("tuning.trials", 0, "tuning.trials: Input should be greater than or equal to 1"),
    ("tuning.search_space.lr", {"choice": []}, "tuning.search_space.lr.choice: List should have at least 1 item"),
    ("tuning.search_space.lr", {"normal": [0, 1]}, "tuning.search_space.lr: must be one of {choice: [...]}"),
    ("tuning.search_space.beta", {"choice": [1]}, "tuning.search_space.beta: Input should be 'lr'"),
    ("tuning.search_space.weight_decay", {"loguniform": [0, 1]}, "loguniform bounds must be > 0"),
    ("tuning.hyperparameters.weight_decay", 0.1, "weight_decay both fixed in hyperparameters and searched"),
    ("tuning.search_space", {}, "lr must be set in hyperparameters or search_space"),
    ("tuning.seeds", [1, 2], "tuning: seeds lists 2 seeds for 4 trials"),
    ("tuning.validation_fraction", 1.5, "tuning.validation_fraction: Input should be less than 1"),
    ("tuning.winner", "first", "tuning.winner: Input should be 'last' or 'best'"),
    ("tuning.retention", {"epochs": [0, 9]}, "retention.epochs [9] exceed the 6 tuning epochs"),
    ("tuning.retention", {"epochs": [0, 2]}, "tuning.retention.epochs keeps [0, 2] but training.policies need epochs [4, 6]"),
    ("tuning.retention", {"top_trials": 5}, "retention.top_trials 5 exceeds the 4 trials"),
    ("training.policies", ["random", {"hp-epoch": [7]}], "hp-epoch-7 asks for epoch 7 but tuning runs 6 epochs"),
    ("training.policies", ["warm"], "training.policies[0]: Input should be 'random', 'hp-init' or 'hp-final'"),
    ("training.policies", [], "training.policies: List should have at least 1 item"),
    ("training.target_accuracy", 120, "training.target_accuracy: Input should be less than or equal to 100"),
    ("training.runs_per_policy", _DELETE, "training.runs_per_policy: Field required"),
    ("storage.uri", "gs://bucket/x", "storage.uri: unsupported scheme"),
    ("storage.uri", "s3://ab/x", "storage.uri: invalid S3 bucket name 'ab'"),
    ("storage.s3.secret_key_env", "my secret!", "storage.s3.secret_key_env: String should match pattern"),
    ("storage.s3.access_key", "AKIA123", "storage.s3.access_key: Extra inputs are not permitted"),
    ("resources.tune.gpus", -1, "resources.tune.gpus: Input should be greater than or equal to 0"),
    ("kubernetes.ray_auth", "password", "kubernetes.ray_auth: Input should be 'token' or 'disabled'"),
    ("kubernetes.pvc.size", "lots", "kubernetes.pvc.size: String should match pattern"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_SPECS, ids=[f"{f}={v!r}"[:60] for f, v, _ in BAD_SPECS])
def test_bad_spec_is_rejected_with_its_field(quickstart_data, field, value, message):
    with pytest.raises(SpecError) as raised:
        parse_spec(_set(quickstart_data, field, value), source="spec.yaml")
    text = str(raised.value)
    assert text.startswith("spec.yaml: ") and message in text
    assert "\n" not in text


def test_cli_bad_spec_is_one_line_exit_2(tmp_path, quickstart_data):
    path = write_spec(tmp_path, _set(quickstart_data, "tuning.trials", 0))
    result = run_cli("validate", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == f"hpinit: error: {path}: tuning.trials: Input should be greater than or equal to 1"
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(("content", "message"), [
    ("name: [unclosed", "invalid YAML"),
    ("- just\n- a list\n", "a spec must be a YAML mapping"),
])
def test_cli_unreadable_spec(tmp_path: Path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = run_cli("run", str(path))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_missing_spec_file(tmp_path):
    result = run_cli("validate", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2 and "cannot read spec" in result.stderr


def test_spec_round_trips_through_yaml(quickstart_data):
    spec = parse_spec(quickstart_data, source="quickstart")
    import yaml

    again = ExperimentSpec.model_validate(yaml.safe_load(spec.to_yaml()))
    assert again == spec
    assert again.fingerprint("model", "dataset", "tuning") == spec.fingerprint("model", "dataset", "tuning")


def test_fingerprint_ignores_where_data_lives_but_not_what_it_is(quickstart_data):
    spec = parse_spec(quickstart_data, source="q")
    moved = spec.with_data_root("/elsewhere")
    assert moved.fingerprint("dataset") == spec.fingerprint("dataset")
    other = parse_spec(_set(quickstart_data, "dataset.subset", 100), source="q")
    assert other.fingerprint("dataset") != spec.fingerprint("dataset")


def test_spec_holds_no_secret_values():
    for path in EXPERIMENTS.glob("*.yaml"):
        data = load_yaml(path)
        s3 = data.get("storage", {}).get("s3", {})
        assert all(key.endswith("_env") or key in ("endpoint", "region") for key in s3), path
