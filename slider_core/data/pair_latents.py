"""Checks on before/after latent batches, so a bad pair set fails before training with the input named."""
from __future__ import annotations

import torch

from ..errors import SliderConfigError
from .images import PIXEL_MULTIPLE

LATENT_MULTIPLE = 8  # latent sides the UNet's three downsamplings divide


def check_pairs(before: torch.Tensor, after: torch.Tensor, latent_channels: int) -> None:
    """Model-space latent batches (N, C, H, W) that can be trained on as N pairs, or a SliderConfigError."""
    if before.dim() != 4 or after.dim() != 4:
        raise SliderConfigError(
            f"pair latents must be 4-D batches (N, C, H, W); got before {tuple(before.shape)}, after {tuple(after.shape)}"
        )
    if before.shape[0] != after.shape[0]:
        raise SliderConfigError(
            f"{before.shape[0]} 'before' and {after.shape[0]} 'after' latents: pairs are matched by index, so both "
            "sides need the same number"
        )
    if before.shape[0] == 0:
        raise SliderConfigError("no pairs: give at least one before/after pair")
    if before.shape[1:] != after.shape[1:]:
        raise SliderConfigError(
            f"'before' latents are {_size(before)} but 'after' latents are {_size(after)}: the two images of a pair "
            "must have the same size"
        )
    if before.shape[1] != latent_channels:
        raise SliderConfigError(
            f"pair latents have {before.shape[1]} channels but the model takes {latent_channels}: encode the images "
            "with this model's VAE"
        )
    height, width = before.shape[-2:]
    if height % LATENT_MULTIPLE or width % LATENT_MULTIPLE:
        raise SliderConfigError(
            f"pair latents are {width}x{height}; the UNet needs sides that are multiples of {LATENT_MULTIPLE} "
            f"(images in multiples of {PIXEL_MULTIPLE} pixels)"
        )


def _size(latents: torch.Tensor) -> str:
    return f"{latents.shape[-1]}x{latents.shape[-2]} ({latents.shape[1]} channels)"
