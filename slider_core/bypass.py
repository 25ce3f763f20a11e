"""Apply a slider without touching weights: y = f(x) + s·(α/r)·up(down(x)) on each targeted module.

Used where the slider must switch on and off during sampling (start/end percent) and by training, where the
frozen weights must stay bit-identical. Mathematically equal to patching W + s·ΔW (up to float rounding).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .slider import Slider


@dataclass
class Branch:
    module_path: str
    down: torch.Tensor
    up: torch.Tensor
    factor: float

    def output(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        down = self.down.to(device=x.device, dtype=x.dtype)
        up = self.up.to(device=x.device, dtype=x.dtype)
        if down.dim() == 2:
            return F.linear(F.linear(x, down), up) * self.factor
        hidden = F.conv2d(x, down, None, module.stride, module.padding, module.dilation)
        return F.conv2d(hidden, up) * self.factor


class LowRankBranches:
    def __init__(self, branches: list[Branch]) -> None:
        self.branches = branches

    @classmethod
    def from_slider(cls, slider: Slider, module_paths: dict[str, str], strength: float) -> LowRankBranches:
        """`module_paths` maps the slider's stems to module paths in the tree the branches will attach to."""
        return cls([
            Branch(module_paths[stem], delta.down.detach(), delta.up.detach(), strength * delta.scale)
            for stem, delta in slider.deltas.items()
        ])

    @contextlib.contextmanager
    def attached(self, root: nn.Module) -> Iterator[None]:
        handles = []
        try:
            for branch in self.branches:
                module = root.get_submodule(branch.module_path)
                handles.append(module.register_forward_hook(_hook(branch)))
            yield
        finally:
            for handle in handles:
                handle.remove()


def _hook(branch: Branch):
    def add_branch(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
        return output + branch.output(module, inputs[0])

    return add_branch
