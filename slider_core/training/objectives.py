"""The two training objectives of Concept Sliders, as pure tensor maths.

Text sliders (paper eq. 5 with the disentanglement sum of eq. 6):
    ε̂ = ε_θ(x_t, c_t, t) + s·η·mean_{p∈P}[ε_θ(x_t, p + c₊, t) − ε_θ(x_t, p + c₋, t)]
regressed by the slid model ε_θ*(x_t, c_t, t) at strength s (s = +1, and −1 for a bidirectional slider).
The mean (not the paper's sum) keeps η's meaning independent of |P|; the reference samples one p per step,
whose expectation is this mean.

Image-pair sliders: ‖ε_θ₋(x_A, t) − ε‖² + ‖ε_θ₊(x_B, t) − ε‖² with one shared noise ε for the pair (in the
model's own prediction space, each side against its own target).
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


GOAL_NORMALISATIONS = ("none", "positive_norm", "anchor_stats")


def normalised_goal(goal: torch.Tensor, kind: str, eps_anchor: torch.Tensor,
                    eps_positive: torch.Tensor) -> torch.Tensor:
    """The guided target rescaled per sample: to the norm of the positive prediction (mean over preservation
    concepts), or to the anchor prediction's mean and standard deviation; unchanged for "none". Peers use these
    to keep η from pushing the target off the distribution the model predicts."""
    if kind == "none":
        return goal
    dims = tuple(range(1, goal.dim()))
    if kind == "positive_norm":
        reference = eps_positive.mean(dim=0)
        scale = reference.flatten(1).norm(dim=1) / goal.flatten(1).norm(dim=1).clamp_min(1e-12)
        return goal * scale.reshape(-1, *([1] * (goal.dim() - 1)))
    mean, std = goal.mean(dim=dims, keepdim=True), goal.std(dim=dims, keepdim=True).clamp_min(1e-12)
    return (goal - mean) / std * eps_anchor.std(dim=dims, keepdim=True) + eps_anchor.mean(dim=dims, keepdim=True)


def text_slider_loss(eps_slid: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(eps_slid.float(), goal.float())


def image_pair_loss(predicted: torch.Tensor, targets: torch.Tensor, batch: int) -> torch.Tensor:
    """The first `batch` rows: the model at −s on x_A; the rest: at +s on x_B; each against its own target (the
    same noise ε for both in ε space)."""
    return (F.mse_loss(predicted[:batch].float(), targets[:batch].float())
            + F.mse_loss(predicted[batch:].float(), targets[batch:].float()))
