"""Where the noisy latents x_t that a text slider trains on come from.

The model never sees a real image: x_t must look like the base model's own generations for the target
prompt at noise level σ. Three sources, from reference-faithful to cheapest:

- `rollout` (the reference): every iteration, denoise fresh noise for K ~ U{1..N−1} of N steps with CFG and
  the slider on, and train at the reached level. ~2K UNet evaluations per iteration, most of the cost.
- `pool`: every `refresh_every` iterations, one full N-step trajectory with the frozen model; all N
  intermediate states go into a pool that iterations draw from. Same states the reference visits, shared.
- `renoise`: every `refresh_every` iterations, the frozen model generates clean latents x_0; iterations noise
  them afresh (x_0 + σ·ε, or σ·ε + (1 − σ)·x_0 for flow models) at a σ drawn uniformly from the model's table.
  Any σ from one generation, and the exact noise level is known.

Each draws only from the `noise_range` part of the schedule (fractions of its timesteps, 0 clean, 1 pure noise):
where an object sits is settled at high noise, so a position slider learns nothing from the low-noise draws
(benchmarks/README.md, the timestep ablation).

Sampling is the family's own: Euler steps of its probability-flow ODE over its σ table (noise.py), which for
ε models is deterministic DDIM and for flow models the usual flow-matching Euler sampler.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable

import torch

from ..choices import check_choice
from ..errors import SliderConfigError
from .noise import NoiseSchedule

TRAJECTORIES = ("renoise", "pool", "rollout")

PredictFn = Callable[[torch.Tensor, torch.Tensor, list[int]], torch.Tensor]


def sampling_indices(table_size: int, steps: int) -> torch.Tensor:
    """The table positions of `steps` levels evenly spaced in timestep from the highest σ down (DDIM's spacing)."""
    return torch.linspace(table_size - 1, 0, steps).round().long()


def sampling_sigmas(table: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` levels evenly spaced in timestep from the highest σ down, then 0."""
    return torch.cat([table[sampling_indices(len(table), steps)], table.new_zeros(1)])


def noise_window(table_size: int, noise_range: tuple[float, float]) -> range:
    """The table positions inside `noise_range` (fractions of the timesteps, 0 the least noise): never empty, so
    a narrow range still trains at its nearest level."""
    low, high = noise_range
    first = min(math.floor(low * table_size), table_size - 1)
    return range(first, max(first + 1, math.ceil(high * table_size)))


def cfg_prediction(predict: PredictFn, x: torch.Tensor, sigma: torch.Tensor, cond: int, uncond: int,
                   cfg: float) -> torch.Tensor:
    """Classifier-free guidance with cond and uncond in one batch; CFG 1 (guidance-distilled models) is the
    conditional prediction alone, one forward."""
    batch = x.shape[0]
    if cfg == 1.0:
        return predict(x, sigma, [cond] * batch)
    both = predict(torch.cat([x, x]), torch.cat([sigma, sigma]), [cond] * batch + [uncond] * batch)
    conditional, unconditional = both[:batch], both[batch:]
    return unconditional + cfg * (conditional - unconditional)


def euler_states(predict: PredictFn, schedule: NoiseSchedule, noise: torch.Tensor, sigmas: torch.Tensor, stop: int,
                 cond: int, uncond: int, cfg: float) -> list[tuple[torch.Tensor, float]]:
    """States (x, σ) of an Euler run of the probability-flow ODE from σ_0 for `stop` steps, the start included."""
    x = schedule.noised(torch.zeros_like(noise), noise, sigmas[0].expand(noise.shape[0]))
    states = [(x, float(sigmas[0]))]
    for index in range(stop):
        sigma, following = sigmas[index], sigmas[index + 1]
        batch_sigma = sigma.expand(x.shape[0]).to(x.device)
        prediction = cfg_prediction(predict, x, batch_sigma, cond, uncond, cfg)
        x = x + (following - sigma) * schedule.derivative(x, batch_sigma, prediction)
        states.append((x, float(following)))
    return states


class LatentSource:
    """Draws (x_t, σ per sample) batches; `predict` is the frozen model except for `rollout` (slider on)."""

    def __init__(self, kind: str, shape: tuple[int, ...], schedule: NoiseSchedule, target: int, uncond: int,
                 steps: int, cfg: float, refresh_every: int, generator: torch.Generator, device: torch.device,
                 noise_range: tuple[float, float] = (0.0, 1.0)) -> None:
        check_choice("trajectory", kind, TRAJECTORIES)
        if steps < 2:
            raise SliderConfigError(f"trajectory steps must be at least 2, got {steps}")
        self.window = noise_window(len(schedule.sigmas), noise_range)
        # the trajectory states (1 … steps − 1) a pool or rollout may train at: those inside the window
        positions = sampling_indices(len(schedule.sigmas), steps)
        self.stops = [stop for stop in range(1, steps) if int(positions[stop]) in self.window]
        if kind != "renoise" and not self.stops:
            raise SliderConfigError(
                f"noise range {noise_range[0]:g}–{noise_range[1]:g} holds none of the {steps} trajectory steps' "
                f"noise levels ({kind} trains only at those): widen the range or raise the trajectory steps")
        self.kind = kind
        self.shape = shape
        self.schedule = schedule
        self.table = schedule.sigmas
        self.target = target
        self.uncond = uncond
        self.steps = steps
        self.cfg = cfg
        self.refresh_every = max(1, refresh_every)
        self.generator = generator
        self.picker = random.Random(int(torch.randint(0, 2**31, (1,), generator=generator)))
        self.device = device
        self.sigmas = sampling_sigmas(schedule.sigmas, steps)
        self.iteration = 0
        self.pool: list[tuple[torch.Tensor, float]] = []
        self.clean: torch.Tensor | None = None

    def _noise(self) -> torch.Tensor:
        return torch.randn(self.shape, generator=self.generator).to(self.device)

    def sample(self, predict: PredictFn) -> tuple[torch.Tensor, torch.Tensor]:
        refresh = self.iteration % self.refresh_every == 0
        self.iteration += 1
        batch = self.shape[0]
        if self.kind == "rollout":
            stop = self.stops[self.picker.randrange(len(self.stops))]
            x, sigma = euler_states(predict, self.schedule, self._noise(), self.sigmas, stop, self.target, self.uncond,
                                    self.cfg)[-1]
            return x, torch.full((batch,), sigma, device=self.device)
        if self.kind == "pool":
            if refresh:
                states = euler_states(predict, self.schedule, self._noise(), self.sigmas, max(self.stops),
                                      self.target, self.uncond, self.cfg)
                self.pool = [(states[stop][0][i:i + 1], states[stop][1]) for stop in self.stops
                             for i in range(batch)]
            picks = [self.pool[self.picker.randrange(len(self.pool))] for _ in range(batch)]
            return torch.cat([x for x, _ in picks]), torch.tensor([s for _, s in picks], device=self.device)
        if refresh or self.clean is None:
            self.clean = euler_states(predict, self.schedule, self._noise(), self.sigmas, self.steps, self.target,
                                      self.uncond, self.cfg)[-1][0]
        index = torch.randint(self.window.start, self.window.stop, (batch,), generator=self.generator)
        sigma = self.table[index].to(self.device)
        return self.schedule.noised(self.clean, self._noise(), sigma), sigma
