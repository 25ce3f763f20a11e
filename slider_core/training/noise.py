"""How a model family noises latents and what its network predicts, so the loops work in its own terms.

Two ways of noising cover every supported family: variance exploding, x_t = x₀ + σ·n (SD1.x/2.x/XL in
k-diffusion form, σ over the model's discrete table), and flow matching, x_t = σ·n + (1 − σ)·x₀ with σ in [0, 1]
(FLUX, SD3, Qwen-Image, Z-Image, Chroma). What the network outputs is one of three spaces:
- "epsilon": the noise n;
- "v": v-prediction on the variance-preserving scale, v = α·n − σα·x₀ with α = 1/√(1+σ²);
- "flow": the flow velocity n − x₀.
All three are affine in x₀ for a given x_t and σ, so a guided target whose weights sum to one (the slider
objective) means the same image whichever space it is formed in; the loss is taken in the model's own space, the
one it was trained in.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..choices import check_choice

NOISINGS = ("variance_exploding", "flow")
PREDICTIONS = ("epsilon", "v", "flow")


def _per_sample(sigma: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return sigma.to(device=like.device, dtype=like.dtype).reshape(-1, *([1] * (like.dim() - 1)))


@dataclass(frozen=True)
class NoiseSchedule:
    sigmas: torch.Tensor
    """The model's discrete noise levels, ascending, on the CPU."""
    noising: str = "variance_exploding"
    prediction: str = "epsilon"

    def __post_init__(self) -> None:
        check_choice("noising", self.noising, NOISINGS)
        check_choice("prediction", self.prediction, PREDICTIONS)

    def noised(self, clean: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """x_t of `clean` at σ (per sample) with `noise`."""
        spread = _per_sample(sigma, clean)
        if self.noising == "flow":
            return spread * noise + (1.0 - spread) * clean
        return clean + spread * noise

    def denoised(self, x: torch.Tensor, sigma: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
        """x₀ from the network's output at x_t."""
        spread = _per_sample(sigma, x)
        if self.prediction == "v":
            alpha_squared = 1.0 / (1.0 + spread**2)
            return alpha_squared * x - spread * alpha_squared.sqrt() * prediction
        return x - spread * prediction

    def prediction_of(self, x: torch.Tensor, sigma: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        """The network output that would mean x₀ = `clean` at x_t: the inverse of `denoised`."""
        spread = _per_sample(sigma, x)
        if self.prediction == "v":
            alpha = 1.0 / torch.sqrt(1.0 + spread**2)
            return alpha * (x - clean) / spread - spread * alpha * clean
        return (x - clean) / spread

    def target(self, clean: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """What a perfect network outputs for x_t = noised(clean, noise, σ): the family's training target."""
        if self.prediction == "epsilon":
            return noise
        if self.prediction == "flow":
            return noise - clean
        spread = _per_sample(sigma, clean)
        alpha = 1.0 / torch.sqrt(1.0 + spread**2)
        return alpha * noise - spread * alpha * clean

    def derivative(self, x: torch.Tensor, sigma: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
        """dx/dσ of the probability-flow ODE, (x − x₀)/σ, as an Euler sampler steps it; for ε and flow outputs
        it is the output itself."""
        if self.prediction == "v":
            return (x - self.denoised(x, sigma, prediction)) / _per_sample(sigma, x)
        return prediction
