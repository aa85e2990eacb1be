"""Dataset registry: (dataset spec, stage, seed) -> a train set and an evaluation set.

Tuning trains on a seeded split of the training set and evaluates on the held-out part (or on a
dataset's own validation folder, Tiny ImageNet's `val/`); training trains on the whole training
set and evaluates on the test set. Transforms are those of the paper's scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch.utils.data import Dataset, Subset, TensorDataset
from torchvision import datasets
from torchvision import transforms as T

from hpinit_k8s.errors import DatasetMissingError
from hpinit_k8s.spec import DatasetSpec

Stage = Literal["tune", "train"]

CIFAR10_NORM = T.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
HALF_NORM = T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
TINY_NORM = T.Normalize((0.4802, 0.4481, 0.3975), (0.2302, 0.2265, 0.2262))
IMAGENET_NORM = T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CIFAR_AUGMENT = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()]


@dataclass(frozen=True)
class DatasetInfo:
    num_classes: int
    csv_name: str
    """The `dataset` column of the paper's CSVs."""


INFO = {
    "digits": DatasetInfo(10, "digits"),
    "cifar10": DatasetInfo(10, "cifar10"),
    "cifar100": DatasetInfo(100, "cifar100"),
    "tinyimagenet": DatasetInfo(200, "tiny-imagenet"),
    "food101": DatasetInfo(101, "food101"),
    "fake": DatasetInfo(10, "fake"),
}


@dataclass(frozen=True)
class DataSplit:
    train: Dataset
    evaluation: Dataset


def load_datasets(spec: DatasetSpec, *, stage: Stage, seed: int, validation_fraction: float) -> DataSplit:
    """The stage's train and evaluation sets; the tuning split is seeded with the trial's seed."""
    loader = LOADERS[spec.name]
    root = Path(spec.root)
    if stage == "train" or spec.name == "tinyimagenet":
        split = loader(root, stage, spec.download)
    else:
        split = _holdout(loader(root, stage, spec.download), seed, validation_fraction)
    if spec.subset is not None:
        split = DataSplit(Subset(split.train, range(min(spec.subset, len(split.train)))), split.evaluation)
    return split


def prepare(spec: DatasetSpec, stage: Stage) -> None:
    """Find (or download) the data once on the driver, before trials start: a missing dataset is one
    clear line, not a failure in every trial, and trials never race to download the same files."""
    load_datasets(spec, stage=stage, seed=0, validation_fraction=0.2)


def _holdout(split: DataSplit, seed: int, fraction: float) -> DataSplit:
    """Split the training set; `split.evaluation` must be the same examples with evaluation transforms."""
    n = len(split.train)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    n_val = max(1, round(n * fraction))
    return DataSplit(Subset(split.train, order[n_val:]), Subset(split.evaluation, order[:n_val]))


def _missing(name: str, root: Path) -> DatasetMissingError:
    return DatasetMissingError(
        f"dataset {name} not found under {root.resolve()} (stage it there or set dataset.download: true)"
    )


def _torchvision(cls: type, name: str, root: Path, download: bool, **kwargs: object) -> Dataset:
    try:
        return cls(str(root), download=download, **kwargs)
    except RuntimeError as error:  # torchvision's "Dataset not found or corrupted"
        raise _missing(name, root) from error
    except OSError as error:  # download attempted without a network
        raise DatasetMissingError(f"dataset {name}: download into {root.resolve()} failed ({error})") from error


def _cifar(cls: type, name: str, tune_augment: bool, tune_norm: T.Normalize) -> Callable[..., DataSplit]:
    def load(root: Path, stage: Stage, download: bool) -> DataSplit:
        augment = CIFAR_AUGMENT if stage == "train" or tune_augment else []
        norm = CIFAR10_NORM if stage == "train" else tune_norm
        train_tf = T.Compose([*augment, T.ToTensor(), norm])
        eval_tf = T.Compose([T.ToTensor(), norm])
        train = _torchvision(cls, name, root, download, train=True, transform=train_tf)
        if stage == "tune":
            return DataSplit(train, _torchvision(cls, name, root, False, train=True, transform=eval_tf))
        return DataSplit(train, _torchvision(cls, name, root, False, train=False, transform=eval_tf))

    return load


def _tinyimagenet(root: Path, stage: Stage, download: bool) -> DataSplit:
    base = root / "tiny-imagenet-200"
    eval_dir = base / ("val" if stage == "tune" else "test")
    if not (base / "train").is_dir() or not eval_dir.is_dir():
        raise _missing("tinyimagenet (ImageFolder train/, val/, test/)", base)
    train_tf = T.Compose([T.RandomHorizontalFlip(), T.ToTensor(), TINY_NORM])
    eval_tf = T.Compose([T.ToTensor(), TINY_NORM])
    return DataSplit(datasets.ImageFolder(str(base / "train"), train_tf), datasets.ImageFolder(str(eval_dir), eval_tf))


def _food101(root: Path, stage: Stage, download: bool) -> DataSplit:
    train_tf = T.Compose([T.RandomResizedCrop(299), T.RandomHorizontalFlip(), T.ToTensor(), IMAGENET_NORM])
    eval_tf = T.Compose([T.Resize((299, 299)), T.ToTensor(), IMAGENET_NORM])
    train = _torchvision(datasets.Food101, "food101", root, download, split="train", transform=train_tf)
    if stage == "tune":
        return DataSplit(train, _torchvision(datasets.Food101, "food101", root, False, split="train", transform=eval_tf))
    return DataSplit(train, _torchvision(datasets.Food101, "food101", root, False, split="test", transform=eval_tf))


def _digits(root: Path, stage: Stage, download: bool) -> DataSplit:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 real images); the last 20 % is the test set."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = (images - 0.5) / 0.5
    labels = torch.tensor(bunch.target, dtype=torch.long)
    n_test = len(labels) // 5
    train = TensorDataset(images[:-n_test], labels[:-n_test])
    if stage == "tune":
        return DataSplit(train, train)
    return DataSplit(train, TensorDataset(images[-n_test:], labels[-n_test:]))


def _fake(root: Path, stage: Stage, download: bool) -> DataSplit:
    """torchvision FakeData shaped like CIFAR: for shape and plumbing tests, not for accuracy."""
    tf = T.Compose([T.ToTensor(), CIFAR10_NORM])
    train = datasets.FakeData(512, (3, 32, 32), 10, transform=tf, random_offset=0)
    if stage == "tune":
        return DataSplit(train, train)
    return DataSplit(train, datasets.FakeData(128, (3, 32, 32), 10, transform=tf, random_offset=512))


LOADERS: dict[str, Callable[[Path, Stage, bool], DataSplit]] = {
    "digits": _digits,
    "cifar10": _cifar(datasets.CIFAR10, "cifar10", tune_augment=True, tune_norm=CIFAR10_NORM),
    "cifar100": _cifar(datasets.CIFAR100, "cifar100", tune_augment=False, tune_norm=HALF_NORM),
    "tinyimagenet": _tinyimagenet,
    "food101": _food101,
    "fake": _fake,
}
