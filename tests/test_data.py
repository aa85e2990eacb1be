"""Datasets: seeded tuning split, training on all data, and a clear line when data is missing."""

import pytest

from hpinit_k8s.data import load_datasets
from hpinit_k8s.errors import DatasetMissingError
from hpinit_k8s.spec import DatasetSpec


def _indices(subset):
    return list(subset.indices)


def test_tuning_split_is_seeded_80_20():
    spec = DatasetSpec(name="digits")
    a = load_datasets(spec, stage="tune", seed=31190, validation_fraction=0.2)
    b = load_datasets(spec, stage="tune", seed=31190, validation_fraction=0.2)
    c = load_datasets(spec, stage="tune", seed=77678, validation_fraction=0.2)
    total = len(a.train) + len(a.evaluation)
    assert abs(len(a.evaluation) / total - 0.2) < 0.01
    assert _indices(a.evaluation) == _indices(b.evaluation) != _indices(c.evaluation)
    assert not set(_indices(a.train)) & set(_indices(a.evaluation))


def test_training_uses_the_whole_training_set_and_the_test_set():
    spec = DatasetSpec(name="digits")
    tune = load_datasets(spec, stage="tune", seed=1, validation_fraction=0.2)
    train = load_datasets(spec, stage="train", seed=1, validation_fraction=0.2)
    assert len(train.train) == len(tune.train) + len(tune.evaluation)
    assert len(train.train) + len(train.evaluation) == 1797  # scikit-learn's digits
    image, label = train.evaluation[0]
    assert image.shape == (1, 8, 8) and 0 <= int(label) < 10


def test_subset_limits_training_examples():
    split = load_datasets(DatasetSpec(name="fake", subset=50), stage="train", seed=0, validation_fraction=0.2)
    assert len(split.train) == 50 and split.train[0][0].shape == (3, 32, 32)


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "food101", "tinyimagenet"])
def test_absent_dataset_names_the_root(tmp_path, name):
    with pytest.raises(DatasetMissingError) as raised:
        load_datasets(DatasetSpec(name=name, root=str(tmp_path)), stage="train", seed=0, validation_fraction=0.2)
    assert str(tmp_path) in str(raised.value) and "\n" not in str(raised.value)


def test_missing_dataset_stops_the_run_before_ray_starts(tmp_path):
    from conftest import EXPERIMENTS, load_yaml, run_cli, write_spec

    data = load_yaml(EXPERIMENTS / "res18-cifar10.yaml")
    data["dataset"]["download"] = False
    spec = write_spec(tmp_path, data)
    result = run_cli("run", str(spec), "--storage", str(tmp_path / "runs"),
                     "--data-root", str(tmp_path / "empty"), "--stage", "tune", timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"hpinit: error: dataset cifar10 not found under {tmp_path / 'empty'}"
                                     " (stage it there or set dataset.download: true)")
