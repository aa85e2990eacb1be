"""The experiment spec: one frozen Pydantic tree, the single source of truth for every stage.

Units: accuracies are percentages (0-100), epochs are counts of completed epochs (1-based, so
"weights after epoch E" means E passes over the training set; epoch 0 is the initial weights).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from hpinit_k8s.errors import SpecError
from hpinit_k8s.k8s_spec import KubernetesSpec
from hpinit_k8s.seeds import paper_seeds

NAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_NAME_LENGTH = 40

ModelName = Literal["small-cnn", "resnet18-cifar", "resnet152-cifar", "resnet18-tinyimagenet", "inception-v3"]
DatasetName = Literal["digits", "cifar10", "cifar100", "tinyimagenet", "food101", "fake"]


class Section(BaseModel):
    """Base of every spec section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class ModelSpec(Section):
    name: ModelName
    """Architecture from the model registry; the class count comes from the dataset."""


class DatasetSpec(Section):
    name: DatasetName
    root: str = "data"
    """Directory holding (or receiving) the dataset files; relative paths are relative to the working directory."""
    download: bool = False
    """Download when absent (torchvision datasets only). Off: an absent dataset stops the stage."""
    subset: int | None = Field(default=None, ge=10)
    """Use only the first N training examples (smoke tests); None uses all."""


class Choice(Section):
    choice: list[float] = Field(min_length=1)


class Uniform(Section):
    uniform: tuple[float, float]


class LogUniform(Section):
    loguniform: tuple[float, float]

    @field_validator("loguniform")
    @classmethod
    def _positive(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        if bounds[0] <= 0:
            raise ValueError("loguniform bounds must be > 0")
        return bounds


def _distribution_kind(value: object) -> str | None:
    if isinstance(value, dict):
        keys = [key for key in ("choice", "uniform", "loguniform") if key in value]
        return keys[0] if len(keys) == 1 else None
    return type(value).__name__.lower() if isinstance(value, Choice | Uniform | LogUniform) else None


Distribution = Annotated[
    Annotated[Choice, Tag("choice")] | Annotated[Uniform, Tag("uniform")] | Annotated[LogUniform, Tag("loguniform")],
    Discriminator(
        _distribution_kind,
        custom_error_type="distribution",
        custom_error_message="must be one of {choice: [...]}, {uniform: [low, high]}, {loguniform: [low, high]}",
    ),
]
HyperparameterName = Literal["lr", "momentum", "weight_decay", "T_max"]


class Hyperparameters(Section):
    """The values one trial trains with: fixed ones from the spec merged with sampled ones."""

    lr: float = Field(gt=0)
    """SGD learning rate."""
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    T_max: int = Field(default=200, ge=1)
    """Cosine-annealing period in epochs (the scheduler steps once per epoch)."""


class MasterSeed(Section):
    master: int
    """Seeds are drawn as the paper did: `random.seed(master)`, then `randint(0, 100000)` each."""


Seeds = list[int] | MasterSeed


def resolve_seeds(seeds: Seeds, n: int) -> list[int]:
    return paper_seeds(seeds.master, n) if isinstance(seeds, MasterSeed) else list(seeds[:n])


class RetentionSpec(Section):
    epochs: Literal["all", "policies"] | list[Annotated[int, Field(ge=0)]] = "all"
    """Which epochs' weights every tuning trial keeps: all, only those the training policies use, or a list.
    Epoch 0 (the initial weights) is always kept."""
    top_trials: int | None = Field(default=None, ge=1)
    """After tuning, delete the weights of all but the best T trials; None keeps every trial's."""


class TuningSpec(Section):
    trials: int = Field(ge=1)
    epochs: int = Field(ge=1)
    """Epochs per tuning trial."""
    batch_size: int = Field(ge=1)
    hyperparameters: dict[HyperparameterName, float] = Field(default_factory=dict)
    """Fixed hyperparameters, shared by every trial."""
    search_space: dict[HyperparameterName, Distribution] = Field(default_factory=dict)
    """Sampled hyperparameters (random search)."""
    seeds: Seeds = MasterSeed(master=3)
    """Per-trial seeds, used by trial index."""
    search_seed: int = 0
    """Seed of the random search itself, so a spec always samples the same configurations."""
    validation_fraction: float = Field(default=0.2, gt=0, lt=1)
    """Share of the training set held out for validation (seeded by the trial's seed)."""
    winner: Literal["last", "best"] = "last"
    """Pick the winner by last-epoch validation accuracy (the paper) or by its best epoch."""
    retention: RetentionSpec = RetentionSpec()

    @model_validator(mode="after")
    def _check(self) -> TuningSpec:
        overlap = sorted(set(self.hyperparameters) & set(self.search_space))
        if overlap:
            raise ValueError(f"{', '.join(overlap)} both fixed in hyperparameters and searched in search_space")
        if "lr" not in self.hyperparameters and "lr" not in self.search_space:
            raise ValueError("lr must be set in hyperparameters or search_space")
        if isinstance(self.seeds, list) and len(self.seeds) < self.trials:
            raise ValueError(f"seeds lists {len(self.seeds)} seeds for {self.trials} trials")
        if isinstance(self.retention.epochs, list):
            beyond = [e for e in self.retention.epochs if e > self.epochs]
            if beyond:
                raise ValueError(f"retention.epochs {beyond} exceed the {self.epochs} tuning epochs")
        if self.retention.top_trials is not None and self.retention.top_trials > self.trials:
            raise ValueError(f"retention.top_trials {self.retention.top_trials} exceeds the {self.trials} trials")
        return self

    def trial_seeds(self) -> list[int]:
        return resolve_seeds(self.seeds, self.trials)


class HpEpoch(Section):
    hp_epoch: list[Annotated[int, Field(ge=1)]] = Field(alias="hp-epoch", min_length=1)
    """Start from the winner's weights after each of these completed tuning epochs."""


PolicyKind = Literal["random", "hp-init", "hp-final", "hp-epoch"]
PolicyEntry = Literal["random", "hp-init", "hp-final"] | HpEpoch


class Policy(BaseModel):
    """One initialisation to train with: a policy kind and, for hp-*, the tuning epoch it loads."""

    model_config = ConfigDict(frozen=True)

    kind: PolicyKind
    epoch: int | None
    """Completed tuning epochs of the weights to load: 0 for hp-init, tuning epochs for hp-final, None for random."""

    @property
    def label(self) -> str:
        return f"hp-epoch-{self.epoch}" if self.kind == "hp-epoch" else self.kind

    @property
    def csv_hp_epoch(self) -> int:
        """The paper's `hp_epoch` column: the epoch for hp-epoch, -1 otherwise."""
        return self.epoch if self.kind == "hp-epoch" and self.epoch is not None else -1


class TrainingSpec(Section):
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    seeds: Seeds = MasterSeed(master=17)
    runs_per_policy: int = Field(ge=1)
    """Seeds per policy: the first N of `seeds`."""
    policies: list[PolicyEntry] = Field(min_length=1)
    target_accuracy: float = Field(gt=0, le=100)
    """Test accuracy (%) that defines time-to-target-accuracy."""

    @model_validator(mode="after")
    def _check(self) -> TrainingSpec:
        if isinstance(self.seeds, list) and len(self.seeds) < self.runs_per_policy:
            raise ValueError(f"seeds lists {len(self.seeds)} seeds for {self.runs_per_policy} runs per policy")
        return self

    def run_seeds(self) -> list[int]:
        return resolve_seeds(self.seeds, self.runs_per_policy)


class TrialResources(Section):
    cpus: float = Field(default=1, gt=0)
    gpus: float = Field(default=0, ge=0)


class ResourcesSpec(Section):
    tune: TrialResources = TrialResources(cpus=2, gpus=1)
    train: TrialResources = TrialResources(cpus=1, gpus=1)
    max_concurrent_trials: int | None = Field(default=None, ge=1)
    """Upper bound on trials running at once; None lets Ray fill the cluster."""
    data_workers: int = Field(default=2, ge=0)
    """DataLoader worker processes per trial (0 loads in the trial's own process)."""
    deterministic: bool = True
    """Deterministic cuDNN kernels (slower, reproducible)."""


class S3Spec(Section):
    endpoint: str | None = None
    """Endpoint URL of an S3-compatible store (http://minio:9000); None means AWS itself."""
    region: str = "us-east-1"
    access_key_env: str = Field(default="AWS_ACCESS_KEY_ID", pattern=ENV_NAME_PATTERN)
    """Name of the environment variable holding the access key (never the key itself)."""
    secret_key_env: str = Field(default="AWS_SECRET_ACCESS_KEY", pattern=ENV_NAME_PATTERN)
    """Name of the environment variable holding the secret key (never the key itself)."""
    session_token_env: str | None = Field(default=None, pattern=ENV_NAME_PATTERN)


class StorageSpec(Section):
    uri: str = "runs"
    """Storage root: a local path, file:///path (also a mounted PVC) or s3://bucket/prefix."""
    s3: S3Spec = S3Spec()

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, uri: str) -> str:
        if "://" in uri and not uri.startswith(("file://", "s3://")):
            raise ValueError(f"unsupported scheme in {uri!r} (use a path, file:// or s3://)")
        if uri.startswith("s3://"):
            bucket = uri[len("s3://") :].split("/", 1)[0]
            if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
                raise ValueError(f"invalid S3 bucket name {bucket!r} (3-63 lowercase letters, digits, '.', '-')")
        return uri


class ExperimentSpec(Section):
    name: str = Field(max_length=MAX_NAME_LENGTH)
    """DNS-1035 label: names the storage folder and every Kubernetes object."""
    description: str = ""
    model: ModelSpec
    dataset: DatasetSpec
    tuning: TuningSpec
    training: TrainingSpec
    resources: ResourcesSpec = ResourcesSpec()
    storage: StorageSpec = StorageSpec()
    kubernetes: KubernetesSpec = KubernetesSpec()

    @field_validator("name")
    @classmethod
    def _dns_name(cls, name: str) -> str:
        if not NAME_PATTERN.fullmatch(name):
            raise ValueError("must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter")
        return name

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        for policy in self.policies():
            if policy.epoch is not None and policy.epoch > self.tuning.epochs:
                raise ValueError(
                    f"training.policies: {policy.label} asks for epoch {policy.epoch}"
                    f" but tuning runs {self.tuning.epochs} epochs"
                )
        kept = self.retained_epochs()
        missing = sorted(set(self.policy_epochs()) - set(kept))
        if missing:
            raise ValueError(
                f"tuning.retention.epochs keeps {kept} but training.policies need epochs {missing}"
            )
        return self

    def policies(self) -> list[Policy]:
        """Expand the spec's policy entries, in spec order, without duplicates."""
        expanded: list[Policy] = []
        for entry in self.training.policies:
            if isinstance(entry, HpEpoch):
                expanded.extend(Policy(kind="hp-epoch", epoch=e) for e in entry.hp_epoch)
            elif entry == "random":
                expanded.append(Policy(kind="random", epoch=None))
            else:
                expanded.append(Policy(kind=entry, epoch=0 if entry == "hp-init" else self.tuning.epochs))
        return list(dict.fromkeys(expanded))

    def policy_epochs(self) -> list[int]:
        """Tuning epochs whose winner weights the training policies load."""
        return sorted({p.epoch for p in self.policies() if p.epoch is not None})

    def retained_epochs(self) -> list[int]:
        """Epochs whose weights each tuning trial saves; epoch 0 always."""
        retention = self.tuning.retention.epochs
        if retention == "all":
            epochs = set(range(self.tuning.epochs + 1))
        elif retention == "policies":
            epochs = set(self.policy_epochs())
        else:
            epochs = set(retention)
        return sorted(epochs | {0})

    def fingerprint(self, *sections: str) -> str:
        """Hash of the named sections, so a stage can tell whether stored results came from this spec."""
        payload = {name: getattr(self, name).model_dump(mode="json", by_alias=True) for name in sections}
        if "dataset" in payload:  # where the files live does not change the results
            payload["dataset"] = {k: v for k, v in payload["dataset"].items() if k not in ("root", "download")}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def _replaced(self, changes: dict[tuple[str, str], str], *, source: str) -> ExperimentSpec:
        """A copy with (section, field) values replaced, validated again like the original."""
        data = self.model_dump(mode="json", by_alias=True)
        for (section, field), value in changes.items():
            data[section][field] = value
        return parse_spec(data, source=source)

    def with_storage(self, uri: str | None) -> ExperimentSpec:
        return self if uri is None else self._replaced({("storage", "uri"): uri}, source="--storage")

    def with_absolute_paths(self, cwd: Path) -> ExperimentSpec:
        """Local storage and data roots made absolute on the driver: Ray runs trials in other directories."""
        changes = {("dataset", "root"): str((cwd / self.dataset.root).expanduser().resolve())}
        if "://" not in self.storage.uri or self.storage.uri.startswith("file://"):
            local = (cwd / self.storage.uri.removeprefix("file://")).expanduser().resolve()
            changes[("storage", "uri")] = str(local)
        return self._replaced(changes, source="spec")

    def with_namespace(self, namespace: str) -> ExperimentSpec:
        return self._replaced({("kubernetes", "namespace"): namespace}, source="--namespace")

    def with_data_root(self, root: str) -> ExperimentSpec:
        return self._replaced({("dataset", "root"): root}, source="--data-root")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json", by_alias=True, exclude_defaults=False), sort_keys=False)


TUNE_SECTIONS = ("model", "dataset", "tuning")
TRAIN_SECTIONS = (*TUNE_SECTIONS, "training")


def _format_error(error: dict[str, Any]) -> str:
    location = ""
    previous: object = None
    for part in error["loc"]:
        if _is_union_tag(part) or part == previous:  # a discriminator tag repeats its field name
            continue
        location += f"[{part}]" if isinstance(part, int) else f".{part}" if location else str(part)
        previous = part
    message = error["msg"].removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


def _is_union_tag(part: object) -> bool:
    """Pydantic puts union member names (`Choice`, `list[int]`) into error locations; users never wrote them."""
    return isinstance(part, str) and (part[:1].isupper() or "[" in part or part.startswith("literal"))


def parse_spec(data: object, *, source: str) -> ExperimentSpec:
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise SpecError(f"{source}: {_format_error(first)}") from None


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a spec file; every problem becomes one `SpecError` line naming the field."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise SpecError(f"{path}: cannot read spec ({error.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SpecError(f"{path}:{where} invalid YAML ({getattr(error, 'problem', error)})") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a spec must be a YAML mapping")
    return parse_spec(data, source=str(path))
