"""Sampling as KSampler does it, for nodes that sample several images (sweeps, previews, reports)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import comfy.model_management
import comfy.sample
import comfy.samplers
import comfy.utils
import torch

from . import shims


def progress_bar(total: int) -> Any:
    return comfy.utils.ProgressBar(total)


def raise_if_cancelled() -> None:
    comfy.model_management.throw_exception_if_processing_interrupted()


def sampler_names() -> list[str]:
    """The host's own sampler list (the KSampler node's), so a sweep offers exactly what KSampler offers."""
    return comfy.samplers.KSampler.SAMPLERS


def scheduler_names() -> list[str]:
    return comfy.samplers.KSampler.SCHEDULERS


def empty_latent(patcher: Any, width: int, height: int) -> torch.Tensor:
    """One empty latent exactly as EmptyLatentImage → KSampler sees it: zeros at 1/8 of the pixel size."""
    latent = torch.zeros([1, 4, height // 8, width // 8], device=comfy.model_management.intermediate_device())
    return shims.widen_empty_latent(patcher, latent)


def sample_seeded(patcher: Any, latent: torch.Tensor, seeds: Sequence[int], steps: int, cfg: float, sampler_name: str,
                  scheduler: str, positive: Any, negative: Any,
                  on_step: Callable[[], None] | None = None) -> torch.Tensor:
    """KSampler's full-denoise samples without its preview/progress UI, one per seed in one batch: each starts from
    the noise KSampler draws for that seed, whatever the model, which is what lets a sweep compare models (slider
    strengths) on one noise.

    The noise is drawn right before sampling, as KSampler draws it, because prepare_noise seeds torch's global
    generator and the 2024 host's ancestral/SDE samplers draw their extra noise from that global state (current
    ComfyUI seeds a private generator from `seed`); drawing every noise up front would change those samplers'
    images after the first. With several seeds, deterministic samplers give each seed's KSampler image up to float
    rounding; stochastic ones draw their extra noise once for the whole batch, so it differs from one by one.
    """
    noise = torch.cat([comfy.sample.prepare_noise(latent, seed) for seed in seeds])
    batch = latent.repeat(len(seeds), *[1] * (latent.dim() - 1))
    callback = None if on_step is None else (lambda step, denoised, x, total: on_step())
    return comfy.sample.sample(patcher, noise, steps, cfg, sampler_name, scheduler, positive, negative, batch,
                               denoise=1.0, callback=callback, disable_pbar=not comfy.utils.PROGRESS_BAR_ENABLED,
                               seed=seeds[0])
