"""The diffusion-classifier score: how much more an image looks like one prompt than another, to the base model.

A denoiser that predicts the noise of x_t better under prompt c₊ than under c₋ finds the image more c₊-like
(Li et al., "Your Diffusion Model is Secretly a Zero-Shot Classifier", 2023). For a clean latent x₀ the score is
E_{σ,n}[‖f(x_t, c₋) − y‖² − ‖f(x_t, c₊) − y‖²] with x_t the family's noising of x₀ with n at σ and y its training
target (ε, v or flow velocity: the model's own prediction space, noise.py), so it works on every family without an
external classifier. The σ and n are the same for every image: score differences between images then come from the
images, not from the draw.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..training.denoiser import Denoiser

LEVEL_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)
"""Where in the model's own σ table the score looks, as fractions of its timesteps: evenly spread, so both the
layout (high σ) and detail (low σ) of the image count, and the family's shift is respected."""


def score_levels(sigmas: torch.Tensor, fractions: Sequence[float] = LEVEL_FRACTIONS) -> torch.Tensor:
    """The σ at each timestep fraction of an ascending σ table."""
    indices = torch.tensor([round(fraction * (len(sigmas) - 1)) for fraction in fractions])
    return sigmas[indices]


def prediction_errors(denoiser: Denoiser, clean: torch.Tensor, prompts: Sequence[int], levels: torch.Tensor,
                      noise: torch.Tensor, batch: int, on_batch: Callable[[], None] = lambda: None) -> torch.Tensor:
    """(images, prompts): each image's mean squared prediction error under each prompt, over every level × noise.

    `clean` (B, C, ...) model-space latents; `noise` (K, C, ...) shared by all images; the B·levels·K·prompts
    predictions run `batch` samples per model call."""
    images, draws = clean.shape[0], noise.shape[0]
    sigma = levels.to(clean.device).repeat_interleave(draws)             # (L·K,): level-major
    noises = noise.to(clean.device).repeat(len(levels), *([1] * (noise.dim() - 1)))
    per_image = len(sigma)
    x_t = torch.cat([denoiser.schedule.noised(image.expand_as(noises), noises, sigma) for image in clean])
    target = torch.cat([denoiser.schedule.target(image.expand_as(noises), noises, sigma) for image in clean])
    sigmas = sigma.repeat(images)
    errors = torch.empty(len(prompts), images * per_image, device=clean.device)
    for row, prompt in enumerate(prompts):
        for first in range(0, len(x_t), batch):
            part = slice(first, first + batch)
            prediction = denoiser.predict(x_t[part], sigmas[part], [prompt] * len(x_t[part]))
            errors[row, part] = (prediction.float() - target[part].float()).pow(2).flatten(1).mean(dim=1)
            on_batch()
    return errors.view(len(prompts), images, per_image).mean(dim=2).T.cpu()


def pair_scores(errors: torch.Tensor, prompts: Sequence[int], pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
    """(images, pairs): for each (towards-from, towards-to) prompt pair, error under the first minus error under
    the second, i.e. how much more the image looks like the second prompt."""
    column = {prompt: index for index, prompt in enumerate(prompts)}
    return torch.stack([errors[:, column[low]] - errors[:, column[high]] for low, high in pairs], dim=1)
