"""Measure the toy world's attributes on generated latents: the ground truth a slider's effect is judged by.

Every function takes raw LATENT samples (B, 4, H, W), exactly what KSampler returns, and gives one float per
sample. They read the coverage channel through a soft threshold (values below a quarter count as background,
above three quarters as fully inside), which keeps sampler noise and faint halos out of the area and centroid
while a clean sigmoid edge still integrates to the true disc area (the ramp is symmetric about one half).
"""
from __future__ import annotations

import math

import torch

from .scenes import channel_values

_EPS = 1e-6


def _weights(samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(channel values, soft disc membership per pixel)."""
    values = channel_values(samples)
    return values, ((values[:, 3] - 0.25) / 0.5).clamp(0.0, 1.0)


def size(samples: torch.Tensor) -> torch.Tensor:
    """Disc radius as a fraction of the width: sqrt(area / pi); 0 when there is no disc."""
    _, weight = _weights(samples)
    return torch.sqrt(weight.sum(dim=(1, 2)) / math.pi) / samples.shape[-1]


def position(samples: torch.Tensor) -> torch.Tensor:
    """Horizontal centre of the disc as a fraction of the width (0 left edge, 1 right edge; 0.5 if no disc)."""
    _, weight = _weights(samples)
    width = samples.shape[-1]
    columns = (torch.arange(width, dtype=weight.dtype) + 0.5) / width
    return ((weight * columns).sum(dim=(1, 2)) + 0.5 * _EPS) / (weight.sum(dim=(1, 2)) + _EPS)


def colour(samples: torch.Tensor) -> torch.Tensor:
    """(B, 3) red/green/blue shares of the disc's colour, summing to 1 (a third each if there is no colour)."""
    values, weight = _weights(samples)
    rgb = (values[:, :3].clamp(min=0.0) * weight.unsqueeze(1)).sum(dim=(2, 3)) + _EPS
    return rgb / rgb.sum(dim=1, keepdim=True)


def brightness(samples: torch.Tensor) -> torch.Tensor:
    """Colour intensity relative to coverage: the scene's brightness, independent of size and hue."""
    values, weight = _weights(samples)
    light = (values[:, :3].clamp(min=0.0).sum(dim=1) * weight).sum(dim=(1, 2))
    return light / ((values[:, 3].clamp(min=0.0) * weight).sum(dim=(1, 2)) + _EPS)


def measure(samples: torch.Tensor) -> dict[str, torch.Tensor]:
    """All attributes at once, one (B,) tensor each; colour split into its red, green and blue shares."""
    shares = colour(samples)
    return {
        "size": size(samples),
        "x": position(samples),
        "red": shares[:, 0],
        "green": shares[:, 1],
        "blue": shares[:, 2],
        "brightness": brightness(samples),
    }
