"""One noise sampled with a slider at several strengths in one batch: the rows of a preview strip and of a Slider
Report's sweep.

It runs through the Denoiser contract with the family's own Euler sampler over its σ table (latent_sources.py), so
every host and family samples the same way, and it is host-independent: the strengths sit on the batch, one per
sample, so a whole row costs one model call per step. Its noise comes from a private generator seeded from `seed`
alone, so the same seed gives the same row whatever ran before.
"""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import torch
from torch import nn

from .seeds import fold_seed
from .training.denoiser import Denoiser
from .training.latent_sources import euler_states, sampling_sigmas


class StrengthBatched(Protocol):
    """A slider that takes a strength per sample (TrainableSlider, StrengthBatchedBranches)."""

    def attached(self, root: nn.Module, strengths: torch.Tensor) -> AbstractContextManager[None]:
        ...


def seeded_noise(latent_shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """(1, *latent_shape) standard normal noise of `seed`, on the CPU (the same on every device)."""
    return torch.randn((1, *latent_shape), generator=torch.Generator().manual_seed(fold_seed(seed)))


def sample_at_strengths(denoiser: Denoiser, slider: StrengthBatched, strengths: Sequence[float],
                        latent_shape: tuple[int, ...], cond: int, uncond: int, cfg: float, steps: int,
                        seed: int) -> torch.Tensor:
    """Clean model-space latents (len(strengths), C, ...): the noise of `seed` sampled with the slider at each
    strength, `steps` Euler steps with CFG `cfg` between prompt ids `cond` and `uncond`."""
    values = torch.tensor(list(strengths), device=denoiser.device)
    noise = seeded_noise(latent_shape, seed).to(denoiser.device)
    noise = noise.repeat(len(values), *([1] * len(latent_shape)))

    def slid(x: torch.Tensor, sigma: torch.Tensor, ids: list[int]) -> torch.Tensor:
        # a CFG batch is [x, x]: the strengths repeat with it
        with slider.attached(denoiser.root, values.repeat(x.shape[0] // len(values))):
            return denoiser.predict(x, sigma, ids)

    sigmas = sampling_sigmas(denoiser.schedule.sigmas, steps)
    return euler_states(slid, denoiser.schedule, noise, sigmas, steps, cond, uncond, cfg)[-1][0]
