"""The one training/evaluation loop, shared by tuning trials and final training runs."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from hpinit_k8s.data import DataSplit
from hpinit_k8s.spec import Hyperparameters


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    train_loss: float
    train_accuracy: float
    eval_loss: float
    eval_accuracy: float
    """Percent correct on the evaluation set (validation in tuning, test in training)."""
    train_seconds: float
    train_samples: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def pick_device() -> torch.device:
    """The GPU Ray assigned to this trial (via CUDA_VISIBLE_DEVICES), else the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def configure_determinism(deterministic: bool) -> None:
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


class TrainingRun:
    """A model with its optimiser, scheduler and loaders; `run_epoch` is one pass plus evaluation.

    The data order and augmentation of epoch E depend only on (seed, E), so a resumed run
    continues exactly as an uninterrupted one would.
    """

    def __init__(
        self,
        model: nn.Module,
        hyperparameters: Hyperparameters,
        data: DataSplit,
        *,
        batch_size: int,
        seed: int,
        data_workers: int,
        device: torch.device,
    ) -> None:
        self.device = device
        self.seed = seed
        self.model = model.to(device)
        self.optimizer = torch.optim.SGD(
            model.parameters(),
            lr=hyperparameters.lr,
            momentum=hyperparameters.momentum,
            weight_decay=hyperparameters.weight_decay,
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=hyperparameters.T_max)
        self.loss_fn = nn.CrossEntropyLoss()
        self.generator = torch.Generator()
        pin = device.type == "cuda"
        self.train_loader = DataLoader(
            data.train, batch_size=batch_size, shuffle=True, generator=self.generator,
            num_workers=data_workers, pin_memory=pin, drop_last=False, persistent_workers=data_workers > 0,
        )
        self.eval_loader = DataLoader(data.evaluation, batch_size=max(batch_size, 256), num_workers=data_workers, pin_memory=pin)

    def run_epoch(self, epoch: int) -> EpochMetrics:
        epoch_seed = self.seed * 1_000 + epoch
        self.generator.manual_seed(epoch_seed)
        torch.manual_seed(epoch_seed)  # augmentation in the trial's own process
        started = time.perf_counter()
        train_loss, train_accuracy, samples = self._train_pass()
        train_seconds = time.perf_counter() - started
        self.scheduler.step()
        eval_loss, eval_accuracy = self.evaluate()
        return EpochMetrics(epoch, train_loss, train_accuracy, eval_loss, eval_accuracy, train_seconds, samples)

    def _train_pass(self) -> tuple[float, float, int]:
        self.model.train()
        total_loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        seen = 0
        for inputs, targets in self.train_loader:
            inputs = inputs.to(self.device, non_blocking=True)
            targets = targets.to(self.device, non_blocking=True)
            outputs = self.model(inputs)
            loss = self.loss_fn(outputs, targets)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total_loss += loss.detach() * len(targets)
            correct += (outputs.argmax(1) == targets).sum()
            seen += len(targets)
        return total_loss.item() / seen, 100.0 * correct.item() / seen, seen

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        self.model.eval()
        total_loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        seen = 0
        for inputs, targets in self.eval_loader:
            inputs = inputs.to(self.device, non_blocking=True)
            targets = targets.to(self.device, non_blocking=True)
            outputs = self.model(inputs)
            total_loss += self.loss_fn(outputs, targets) * len(targets)
            correct += (outputs.argmax(1) == targets).sum()
            seen += len(targets)
        return total_loss.item() / seen, 100.0 * correct.item() / seen

    def trainer_state(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_trainer_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
