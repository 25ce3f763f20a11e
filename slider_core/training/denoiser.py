"""The contract between the training loops and a host (ComfyUI, diffusers).

Noise levels use the k-diffusion parametrisation every supported host can express: x_t = x_0 + σ·ε, with the
host's own discrete σ table. A host converts whatever its model predicts (ε, v, x_0) into ε.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch
from torch import nn


class Denoiser(Protocol):
    root: nn.Module
    """The module tree adaptors attach to (paths given to TrainableSlider are relative to it)."""
    sigmas: torch.Tensor
    """The model's discrete noise levels, ascending, on the CPU."""
    device: torch.device
    latent_channels: int

    def eps(self, x: torch.Tensor, sigma: torch.Tensor, prompts: Sequence[int]) -> torch.Tensor:
        """ε prediction for a batch; `prompts[i]` indexes the host's encoded prompt list for sample i."""
        ...


class CountingDenoiser:
    """Wraps a Denoiser and counts per-sample UNet evaluations, the unit the speed claims are made in."""

    def __init__(self, inner: Denoiser) -> None:
        self.inner = inner
        self.root = inner.root
        self.sigmas = inner.sigmas
        self.device = inner.device
        self.latent_channels = inner.latent_channels
        self.frozen_samples = 0
        self.grad_samples = 0

    def eps(self, x: torch.Tensor, sigma: torch.Tensor, prompts: Sequence[int]) -> torch.Tensor:
        if torch.is_grad_enabled():
            self.grad_samples += x.shape[0]
        else:
            self.frozen_samples += x.shape[0]
        return self.inner.eps(x, sigma, prompts)

    def forward_equivalents(self) -> float:
        """A forward with backward costs about three forwards (backward ≈ 2× forward)."""
        return self.frozen_samples + 3.0 * self.grad_samples
