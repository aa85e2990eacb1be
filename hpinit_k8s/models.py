"""Model registry: spec model name + class count -> a freshly initialised `nn.Module` (never pretrained)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torchvision
from torch import nn

from hpinit_k8s.errors import SpecError


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        return torch.relu(self.bn3(self.conv3(out)) + self.shortcut(x))


def _shortcut(in_planes: int, out_planes: int, stride: int) -> nn.Module:
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), nn.BatchNorm2d(out_planes))


class CifarResNet(nn.Module):
    """ResNet for 32x32 inputs: 3x3 stem, no max-pool (the common CIFAR variant the paper trained)."""

    def __init__(self, block: type[BasicBlock | Bottleneck], layers: list[int], num_classes: int) -> None:
        super().__init__()
        self.in_planes = 64
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        self.layer1 = self._stage(block, 64, layers[0], 1)
        self.layer2 = self._stage(block, 128, layers[1], 2)
        self.layer3 = self._stage(block, 256, layers[2], 2)
        self.layer4 = self._stage(block, 512, layers[3], 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _stage(self, block: type[BasicBlock | Bottleneck], planes: int, blocks: int, stride: int) -> nn.Sequential:
        modules = []
        for block_stride in [stride] + [1] * (blocks - 1):
            modules.append(block(self.in_planes, planes, block_stride))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.fc(torch.flatten(self.pool(x), 1))


class SmallCNN(nn.Module):
    """Two conv layers for 8x8 digits: trains in seconds on a CPU, still a real convolutional net."""

    def __init__(self, num_classes: int, in_channels: int = 1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(inplace=True), nn.Linear(64, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _tinyimagenet_resnet18(num_classes: int) -> nn.Module:
    """torchvision's ResNet-18 (its average pool is already adaptive) with a 200-way head."""
    return torchvision.models.resnet18(weights=None, num_classes=num_classes)


def _inception_v3(num_classes: int) -> nn.Module:
    return torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True, num_classes=num_classes)


MODELS: dict[str, Callable[[int], nn.Module]] = {
    "small-cnn": SmallCNN,
    "resnet18-cifar": lambda n: CifarResNet(BasicBlock, [2, 2, 2, 2], n),
    "resnet152-cifar": lambda n: CifarResNet(Bottleneck, [3, 8, 36, 3], n),
    "resnet18-tinyimagenet": _tinyimagenet_resnet18,
    "inception-v3": _inception_v3,
}

CSV_MODEL_NAMES = {
    "small-cnn": "small_cnn",
    "resnet18-cifar": "resnet18",
    "resnet152-cifar": "resnet152",
    "resnet18-tinyimagenet": "resnet18",
    "inception-v3": "inception_v3",
}
"""The `model` column of the paper's CSVs."""


def build_model(name: str, num_classes: int) -> nn.Module:
    try:
        factory = MODELS[name]
    except KeyError:
        raise SpecError(f"model.name: unknown model {name!r} (known: {', '.join(MODELS)})") from None
    return factory(num_classes)
