"""Where the noisy latents x_t that a text slider trains on come from.

The model never sees a real image: x_t must look like the base model's own generations for the target
prompt at noise level σ. Three sources, from reference-faithful to cheapest:

- `rollout` (the reference): every iteration, denoise fresh noise for K ~ U{1..N−1} of N steps with CFG and
  the slider on, and train at the reached level. ~2K UNet evaluations per iteration, most of the cost.
- `pool`: every `refresh_every` iterations, one full N-step trajectory with the frozen model; all N
  intermediate states go into a pool that iterations draw from. Same states the reference visits, shared.
- `renoise`: every `refresh_every` iterations, the frozen model generates clean latents x_0; iterations take
  x_0 + σ·ε with fresh ε at a uniform σ. Any σ from one generation, and the exact noise level is known.
"""
from __future__ import annotations

import random
from collections.abc import Callable

import torch

from ..choices import check_choice
from ..errors import SliderConfigError

TRAJECTORIES = ("renoise", "pool", "rollout")

EpsFn = Callable[[torch.Tensor, torch.Tensor, list[int]], torch.Tensor]


def sampling_sigmas(table: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` levels evenly spaced in timestep from the highest σ down, then 0 (DDIM's spacing)."""
    indices = torch.linspace(len(table) - 1, 0, steps).round().long()
    return torch.cat([table[indices], table.new_zeros(1)])


def cfg_eps(eps: EpsFn, x: torch.Tensor, sigma: torch.Tensor, cond: int, uncond: int, cfg: float) -> torch.Tensor:
    """Classifier-free guidance with cond and uncond in one batch."""
    batch = x.shape[0]
    both = eps(torch.cat([x, x]), torch.cat([sigma, sigma]), [cond] * batch + [uncond] * batch)
    conditional, unconditional = both[:batch], both[batch:]
    return unconditional + cfg * (conditional - unconditional)


def euler_states(eps: EpsFn, noise: torch.Tensor, sigmas: torch.Tensor, stop: int, cond: int, uncond: int,
                 cfg: float) -> list[tuple[torch.Tensor, float]]:
    """States (x, σ) of an Euler (= deterministic DDIM) run from σ_0 for `stop` steps, the start included."""
    x = noise * sigmas[0]
    states = [(x, float(sigmas[0]))]
    for index in range(stop):
        sigma, following = sigmas[index], sigmas[index + 1]
        batch_sigma = sigma.expand(x.shape[0]).to(x.device)
        x = x + (following - sigma) * cfg_eps(eps, x, batch_sigma, cond, uncond, cfg)
        states.append((x, float(following)))
    return states


class LatentSource:
    """Draws (x_t, σ per sample) batches; `eps` is the frozen model except for `rollout` (slider on)."""

    def __init__(self, kind: str, shape: tuple[int, int, int, int], sigma_table: torch.Tensor, target: int,
                 uncond: int, steps: int, cfg: float, refresh_every: int, generator: torch.Generator,
                 device: torch.device) -> None:
        check_choice("trajectory", kind, TRAJECTORIES)
        if steps < 2:
            raise SliderConfigError(f"trajectory steps must be at least 2, got {steps}")
        self.kind = kind
        self.shape = shape
        self.table = sigma_table
        self.target = target
        self.uncond = uncond
        self.steps = steps
        self.cfg = cfg
        self.refresh_every = max(1, refresh_every)
        self.generator = generator
        self.picker = random.Random(int(torch.randint(0, 2**31, (1,), generator=generator)))
        self.device = device
        self.sigmas = sampling_sigmas(sigma_table, steps)
        self.iteration = 0
        self.pool: list[tuple[torch.Tensor, float]] = []
        self.clean: torch.Tensor | None = None

    def _noise(self) -> torch.Tensor:
        return torch.randn(self.shape, generator=self.generator).to(self.device)

    def sample(self, eps: EpsFn) -> tuple[torch.Tensor, torch.Tensor]:
        refresh = self.iteration % self.refresh_every == 0
        self.iteration += 1
        batch = self.shape[0]
        if self.kind == "rollout":
            stop = self.picker.randint(1, self.steps - 1)
            x, sigma = euler_states(eps, self._noise(), self.sigmas, stop, self.target, self.uncond, self.cfg)[-1]
            return x, torch.full((batch,), sigma, device=self.device)
        if self.kind == "pool":
            if refresh:
                states = euler_states(eps, self._noise(), self.sigmas, self.steps - 1, self.target, self.uncond, self.cfg)
                self.pool = [(x[i:i + 1], sigma) for x, sigma in states[1:] for i in range(batch)]
            picks = [self.pool[self.picker.randrange(len(self.pool))] for _ in range(batch)]
            return torch.cat([x for x, _ in picks]), torch.tensor([s for _, s in picks], device=self.device)
        if refresh or self.clean is None:
            self.clean = euler_states(eps, self._noise(), self.sigmas, self.steps, self.target, self.uncond, self.cfg)[-1][0]
        index = torch.randint(0, len(self.table), (batch,), generator=self.generator)
        sigma = self.table[index].to(self.device)
        x = self.clean + sigma.reshape(-1, 1, 1, 1) * self._noise()
        return x, sigma
