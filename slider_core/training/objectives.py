"""The two training objectives of Concept Sliders, as pure tensor maths.

Text sliders (paper eq. 5 with the disentanglement sum of eq. 6):
    ε̂ = ε_θ(x_t, c_t, t) + s·η·mean_{p∈P}[ε_θ(x_t, p + c₊, t) − ε_θ(x_t, p + c₋, t)]
regressed by the slid model ε_θ*(x_t, c_t, t) at strength s (s = +1, and −1 for a bidirectional slider).
The mean (not the paper's sum) keeps η's meaning independent of |P|; the reference samples one p per step,
whose expectation is this mean.

Image-pair sliders: ‖ε_θ₋(x_A, t) − ε‖² + ‖ε_θ₊(x_B, t) − ε‖² with one shared noise ε for the pair.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def guidance_direction(eps_positive: torch.Tensor, eps_negative: torch.Tensor) -> torch.Tensor:
    """mean over preservation concepts (dim 0) of ε(p + c₊) − ε(p + c₋)."""
    if eps_positive.shape != eps_negative.shape:
        raise ValueError(f"positive {tuple(eps_positive.shape)} and negative {tuple(eps_negative.shape)} predictions differ")
    return (eps_positive - eps_negative).mean(dim=0)


def guided_goal(eps_anchor: torch.Tensor, direction: torch.Tensor, eta: float, strength: float) -> torch.Tensor:
    """ε̂, what the slid model at `strength` (+1 enhance, −1 the opposite pole) is regressed onto."""
    return eps_anchor + strength * eta * direction


def text_slider_loss(eps_slid: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(eps_slid.float(), goal.float())


def image_pair_loss(eps_before: torch.Tensor, eps_after: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """`eps_before` from the model at −s on x_A, `eps_after` at +s on x_B, both noised with `noise`."""
    return F.mse_loss(eps_before.float(), noise.float()) + F.mse_loss(eps_after.float(), noise.float())
