"""Measure the shapes world's attributes on generated latents: the ground truth a slider's effect is judged by.

Every function takes raw LATENT samples (B, 4, H, W), exactly what KSampler returns, and gives one float per
sample. Each attribute reads its own channel or the mask's geometry, so any one can move while the others are
measured unchanged: position, size and aspect come from the coverage channel alone, warmth from the
warm–cool channel relative to coverage, the background from the lightness channel where there is no object.
Coverage goes through a soft threshold (below a quarter is background, above three quarters fully inside),
which keeps sampler noise and faint halos out of the geometry while a clean sigmoid edge still integrates to
the true area (the ramp is symmetric about one half).
"""
from __future__ import annotations

import torch

from .scenes import channel_values

_EPS = 1e-6
_BACKGROUND_BELOW = 0.1  # coverage under which a pixel counts as pure background (full weight under 0.05)


def _inside(values: torch.Tensor) -> torch.Tensor:
    """(B, H, W) soft object membership per pixel."""
    return ((values[:, 3] - 0.25) / 0.5).clamp(0.0, 1.0)


def _centred(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total weight (B,), column offsets (B, 1, W), row offsets (B, H, 1)) from the weighted centroid, in pixels."""
    _, height, width = weight.shape
    total = weight.sum(dim=(1, 2)) + _EPS
    columns = torch.arange(width, dtype=weight.dtype) + 0.5
    rows = torch.arange(height, dtype=weight.dtype) + 0.5
    cx = (weight.sum(dim=1) * columns).sum(dim=1) / total
    cy = (weight.sum(dim=2) * rows).sum(dim=1) / total
    return total, columns.view(1, 1, -1) - cx.view(-1, 1, 1), rows.view(1, -1, 1) - cy.view(-1, 1, 1)


def position(samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) centre of the object as fractions of the width and height (y from the top; 0.5 if no object)."""
    weight = _inside(channel_values(samples))
    _, height, width = weight.shape
    total = weight.sum(dim=(1, 2)) + _EPS
    columns = (torch.arange(width, dtype=weight.dtype) + 0.5) / width
    rows = (torch.arange(height, dtype=weight.dtype) + 0.5) / height
    x = ((weight.sum(dim=1) * columns).sum(dim=1) + 0.5 * _EPS) / total
    y = ((weight.sum(dim=2) * rows).sum(dim=1) + 0.5 * _EPS) / total
    return x, y


def size(samples: torch.Tensor) -> torch.Tensor:
    """Side of the equal-area square as a fraction of the width: sqrt(area) / W; 0 when there is no object."""
    weight = _inside(channel_values(samples))
    return weight.sum(dim=(1, 2)).sqrt() / samples.shape[-1]


def aspect(samples: torch.Tensor) -> torch.Tensor:
    """log2 of the object's width over its height, from its second moments: ½·log2(E[dx²] / E[dy²]).

    For an ellipse (or any shape stretched along the axes) the moment ratio is the squared axis ratio, whatever
    the size or position, so it reads the aspect alone. No object reads as 0, between the poles.
    """
    weight = _inside(channel_values(samples))
    total, dx, dy = _centred(weight)
    xx = (weight * dx**2).sum(dim=(1, 2)) / total
    yy = (weight * dy**2).sum(dim=(1, 2)) / total
    return 0.5 * torch.log2((xx + _EPS) / (yy + _EPS))


def warmth(samples: torch.Tensor) -> torch.Tensor:
    """The object's warm–cool chroma per unit of coverage: +1 warm, −1 cool (0 if there is no object)."""
    values = channel_values(samples)
    weight = _inside(values)
    chroma = (values[:, 1] * weight).sum(dim=(1, 2))
    return chroma / ((values[:, 3].clamp(min=0.0) * weight).sum(dim=(1, 2)) + _EPS)


def background(samples: torch.Tensor) -> torch.Tensor:
    """Mean lightness L of the pixels the object does not cover (0 black, 1 white; 0.5 if every pixel is covered)."""
    values = channel_values(samples)
    outside = ((_BACKGROUND_BELOW - values[:, 3]) / (_BACKGROUND_BELOW / 2)).clamp(0.0, 1.0)
    level = (values[:, 0] * outside).sum(dim=(1, 2)) / (outside.sum(dim=(1, 2)) + _EPS)
    return (level + 1) / 2


def measure(samples: torch.Tensor) -> dict[str, torch.Tensor]:
    """All attributes at once, one (B,) tensor each; size is measured though no caption names it."""
    x, y = position(samples)
    return {
        "aspect": aspect(samples),
        "warmth": warmth(samples),
        "x": x,
        "y": y,
        "background": background(samples),
        "size": size(samples),
    }
