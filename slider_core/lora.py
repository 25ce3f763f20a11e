"""Trainable low-rank adaptors attached to a frozen module tree through forward hooks.

Hooks, not weight edits: the base weights are never written, so they are bit-identical after training,
an error or a cancel, whatever the host does. Each sample of a batch can carry its own slider scale, which
lets one forward pass train both directions (+1 and −1) of a bidirectional slider.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .slider import LowRankDelta, Slider, SliderMetadata


class LowRankAdaptor(nn.Module):
    """down: k×k conv (or linear) to `rank` channels, up: 1×1 conv (or linear) back; LoCon for convolutions."""

    def __init__(self, base: nn.Module, rank: int, alpha: float, generator: torch.Generator) -> None:
        super().__init__()
        self.scale = alpha / rank
        self.alpha = alpha
        if isinstance(base, nn.Conv2d):
            self.down = nn.Parameter(torch.empty(rank, base.in_channels, *base.kernel_size))
            self.up = nn.Parameter(torch.zeros(base.out_channels, rank, 1, 1))
            self.conv_args = (base.stride, base.padding, base.dilation)
        else:
            self.down = nn.Parameter(torch.empty(rank, base.in_features))
            self.up = nn.Parameter(torch.zeros(base.out_features, rank))
            self.conv_args = None
        bound = 1.0 / math.sqrt(self.down[0].numel())  # kaiming-uniform(a=√5) as torch's layers; up = 0 → ΔW = 0
        with torch.no_grad():
            self.down.uniform_(-bound, bound, generator=generator)

    def branch(self, x: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        down = self.down.to(x.dtype)
        up = self.up.to(x.dtype)
        if self.conv_args is None:
            out = F.linear(F.linear(x, down), up)
        else:
            stride, padding, dilation = self.conv_args
            out = F.conv2d(F.conv2d(x, down, None, stride, padding, dilation), up)
        per_sample = scales.to(device=x.device, dtype=x.dtype).reshape(-1, *([1] * (x.dim() - 1)))
        if per_sample.shape[0] != out.shape[0]:
            per_sample = per_sample.repeat_interleave(out.shape[0] // per_sample.shape[0], dim=0)
        return out * (per_sample * self.scale)


class TrainableSlider(nn.Module):
    """Adaptors for a set of module paths in a frozen tree; `stems` are the kohya names used when exported."""

    def __init__(self, root: nn.Module, module_paths: list[str], stems: dict[str, str], rank: int, alpha: float,
                 seed: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.module_paths = list(module_paths)
        self.stems = dict(stems)
        self.adaptors = nn.ModuleList(
            LowRankAdaptor(root.get_submodule(path), rank, alpha, generator) for path in self.module_paths
        )

    @contextlib.contextmanager
    def attached(self, root: nn.Module, scales: torch.Tensor) -> Iterator[None]:
        """Within the block, `root`'s targeted modules output f(x) + s_i·(α/r)·up(down(x)) for sample i."""
        handles = []
        try:
            for path, adaptor in zip(self.module_paths, self.adaptors, strict=True):
                handles.append(root.get_submodule(path).register_forward_hook(_adding(adaptor, scales)))
            yield
        finally:
            for handle in handles:
                handle.remove()

    def export(self, metadata: SliderMetadata, name: str) -> Slider:
        deltas = {
            self.stems[path]: LowRankDelta(down=adaptor.down.detach().float().cpu().clone(),
                                           up=adaptor.up.detach().float().cpu().clone(), alpha=adaptor.alpha)
            for path, adaptor in zip(self.module_paths, self.adaptors, strict=True)
        }
        return Slider(deltas=deltas, metadata=metadata, name=name)


def _adding(adaptor: LowRankAdaptor, scales: torch.Tensor):
    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
        return output + adaptor.branch(inputs[0], scales)

    return hook
