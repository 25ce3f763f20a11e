"""Trainable low-rank adaptors on a frozen module tree, with fp32 master weights.

Each sample of a batch can carry its own slider strength, which lets one forward pass train both directions
(+1 and −1) of a bidirectional slider.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..model.slider import LowRankDelta, Slider, SliderMetadata
from .lowrank import branches_attached, low_rank_output, per_sample


class LowRankAdaptor(nn.Module):
    """down: k×k conv (or linear) to `rank` channels, up: 1×1 conv (or linear) back; LoCon for convolutions.

    `rows` adapts only the first `rows` outputs of a linear layer (the q, k, v rows of a fused projection); the
    rest of the delta is zero. `frozen_up` is the reference's FLUX parametrisation: `up` a fixed random orthonormal
    frame, only `down` (starting at zero) trained.
    """

    def __init__(self, base: nn.Module, rank: int, alpha: float, generator: torch.Generator,
                 rows: int | None = None, frozen_up: bool = False) -> None:
        super().__init__()
        self.scale = alpha / rank
        self.alpha = alpha
        if isinstance(base, nn.Conv2d):
            self.out_features = base.out_channels
            self.down = nn.Parameter(torch.empty(rank, base.in_channels, *base.kernel_size))
            self.up = nn.Parameter(torch.zeros(base.out_channels, rank, 1, 1))
        else:
            self.out_features = int(base.out_features)
            self.down = nn.Parameter(torch.empty(rank, int(base.in_features)))
            self.up = nn.Parameter(torch.zeros(rows or self.out_features, rank))
        with torch.no_grad():
            if frozen_up:
                frame = torch.linalg.qr(torch.randn(self.up.shape[0], rank, generator=generator))[0]
                self.up.copy_(frame.reshape(self.up.shape))
                self.up.requires_grad_(False)
                self.down.zero_()  # ΔW = 0 at the start, as with the usual init
            else:
                bound = 1.0 / math.sqrt(self.down[0].numel())  # kaiming-uniform(a=√5); up = 0 → ΔW = 0
                self.down.uniform_(-bound, bound, generator=generator)

    def full_up(self) -> torch.Tensor:
        """`up` over all of the layer's outputs (zero rows beyond the adapted ones)."""
        missing = self.out_features - self.up.shape[0]
        return F.pad(self.up, (0, 0, 0, missing)) if missing else self.up

    def branch(self, strengths: torch.Tensor):
        """The branch for one forward: sample i of the batch at strength `strengths[i]` (a batch that repeats
        each sample, as classifier-free guidance does, repeats its strength)."""
        def add(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
            out = low_rank_output(module, x, self.down, self.up)
            if out.shape[-1] != self.out_features and self.down.dim() == 2:
                out = F.pad(out, (0, self.out_features - out.shape[-1]))
            return out * (per_sample(strengths, out) * self.scale)

        return add


class TrainableSlider(nn.Module):
    """Adaptors for a set of module paths in a frozen tree; `stems` are the kohya names used when exported."""

    def __init__(self, root: nn.Module, module_paths: list[str], stems: dict[str, str], rank: int, alpha: float,
                 seed: int, rows: dict[str, int] | None = None, frozen_up: bool = False) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.module_paths = list(module_paths)
        self.stems = dict(stems)
        rows = rows or {}
        self.adaptors = nn.ModuleList(
            LowRankAdaptor(root.get_submodule(path), rank, alpha, generator, rows.get(path), frozen_up)
            for path in self.module_paths
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
                                           up=adaptor.full_up().detach().float().cpu().clone(),
                                           alpha=adaptor.alpha)
            for path, adaptor in zip(self.module_paths, self.adaptors, strict=True)
        }
        return Slider(deltas=deltas, metadata=metadata, name=name)
