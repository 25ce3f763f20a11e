"""The contract between the training loops and a host (ComfyUI, diffusers).

A host hands the loops its model's noise schedule and predictions in the model's own space (ε, v or flow
velocity, see noise.py), for latents of the shape the model denoises; prompts are ids into the host's own list of
encoded conditionings, however the host made them.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch
from torch import nn

from .noise import NoiseSchedule


class Denoiser(Protocol):
    root: nn.Module
    """The module tree adaptors attach to (paths given to TrainableSlider are relative to it)."""
    schedule: NoiseSchedule
    device: torch.device
    latent_multiple: int
    """Latent sides must be multiples of this (a UNet's downsamplings, a DiT's patch size)."""

    def latent_shape(self, height: int, width: int) -> tuple[int, ...]:
        """One latent's shape (without the batch) for a latent of height × width positions."""
        ...

    def predict(self, x: torch.Tensor, sigma: torch.Tensor, prompts: Sequence[int]) -> torch.Tensor:
        """The model's output for a batch at x_t and σ (per sample); `prompts[i]` is sample i's conditioning id."""
        ...


class CountingDenoiser:
    """Wraps a Denoiser and counts per-sample model evaluations, the unit the speed claims are made in."""

    def __init__(self, inner: Denoiser) -> None:
        self.inner = inner
        self.root = inner.root
        self.schedule = inner.schedule
        self.device = inner.device
        self.latent_multiple = inner.latent_multiple
        self.frozen_samples = 0
        self.grad_samples = 0

    def latent_shape(self, height: int, width: int) -> tuple[int, ...]:
        return self.inner.latent_shape(height, width)

    def predict(self, x: torch.Tensor, sigma: torch.Tensor, prompts: Sequence[int]) -> torch.Tensor:
        if torch.is_grad_enabled():
            self.grad_samples += x.shape[0]
        else:
            self.frozen_samples += x.shape[0]
        return self.inner.predict(x, sigma, prompts)

    def forward_equivalents(self) -> float:
        """A forward with backward costs about three forwards (backward ≈ 2× forward)."""
        return self.frozen_samples + 3.0 * self.grad_samples
