"""Trainable low-rank adaptors on a frozen module tree, with fp32 master weights.

Each sample of a batch can carry its own slider strength, which lets one forward pass train both directions
(+1 and −1) of a bidirectional slider.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import nn

from ..model.slider import LowRankDelta, Slider, SliderMetadata
from .lowrank import branches_attached, low_rank_output


class LowRankAdaptor(nn.Module):
    """down: k×k conv (or linear) to `rank` channels, up: 1×1 conv (or linear) back; LoCon for convolutions."""

    def __init__(self, base: nn.Module, rank: int, alpha: float, generator: torch.Generator) -> None:
        super().__init__()
        self.scale = alpha / rank
        self.alpha = alpha
        if isinstance(base, nn.Conv2d):
            self.down = nn.Parameter(torch.empty(rank, base.in_channels, *base.kernel_size))
            self.up = nn.Parameter(torch.zeros(base.out_channels, rank, 1, 1))
        else:
            self.down = nn.Parameter(torch.empty(rank, base.in_features))
            self.up = nn.Parameter(torch.zeros(base.out_features, rank))
        bound = 1.0 / math.sqrt(self.down[0].numel())  # kaiming-uniform(a=√5) as torch's layers; up = 0 → ΔW = 0
        with torch.no_grad():
            self.down.uniform_(-bound, bound, generator=generator)

    def branch(self, strengths: torch.Tensor):
        """The branch for one forward: sample i of the batch at strength `strengths[i]` (a batch that repeats
        each sample, as classifier-free guidance does, repeats its strength)."""
        def add(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
            out = low_rank_output(module, x, self.down, self.up)
            per_sample = strengths.to(device=x.device, dtype=x.dtype).reshape(-1, *([1] * (x.dim() - 1)))
            if per_sample.shape[0] != out.shape[0]:
                per_sample = per_sample.repeat_interleave(out.shape[0] // per_sample.shape[0], dim=0)
            return out * (per_sample * self.scale)

        return add


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
    def attached(self, root: nn.Module, strengths: torch.Tensor) -> Iterator[None]:
        """Within the block, `root`'s adapted modules output f(x) + s_i·(α/r)·up(down(x)) for sample i."""
        branches = {path: adaptor.branch(strengths)
                    for path, adaptor in zip(self.module_paths, self.adaptors, strict=True)}
        with branches_attached(root, branches):
            yield

    def export(self, metadata: SliderMetadata, name: str) -> Slider:
        deltas = {
            self.stems[path]: LowRankDelta(down=adaptor.down.detach().float().cpu().clone(),
                                           up=adaptor.up.detach().float().cpu().clone(), alpha=adaptor.alpha)
            for path, adaptor in zip(self.module_paths, self.adaptors, strict=True)
        }
        return Slider(deltas=deltas, metadata=metadata, name=name)
