"""A slider's sweep measured by the base model itself: images at each strength and seed, and their scores.

For every seed, one noise is sampled with the slider at every probed strength in one batch (strength_sampling.py),
so each seed is a controlled experiment whose only variable is the strength. Each image is then scored with the
slider off (scores.py): the efficacy score on the slider's own prompts (averaged over the prompt pairs it was
trained on), one locality score per preservation pair, and its latent distance from the same seed's strength-0
image.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from ..errors import SliderConfigError
from ..strength_sampling import StrengthBatched, sample_at_strengths, seeded_noise
from ..strengths import check_strength
from ..training.denoiser import CountingDenoiser, Denoiser
from .scores import LEVEL_FRACTIONS, pair_scores, prediction_errors, score_levels

DEFAULT_STRENGTHS = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
DEFAULT_SEEDS = 4
DEFAULT_STEPS = 20
SCORE_NOISES = 2
"""Noise draws per σ level: with LEVEL_FRACTIONS' five levels, ten predictions per prompt and image."""
SCORE_NOISE_SEED_OFFSET = 7919  # the scoring noise must not be the sampling noise of any probed seed
MAX_SEEDS = 64
MAX_STEPS = 200


@dataclass(frozen=True)
class ReportPrompts:
    """Prompt ids in the host's denoiser: the prompt images are generated from and its unconditional partner,
    the slider's (negative, positive) pairs, and labelled (a, b) pairs whose scores should not move."""

    generate: int
    uncond: int
    efficacy: tuple[tuple[int, int], ...]
    locality: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.efficacy:
            raise SliderConfigError("the report needs at least one (negative, positive) prompt pair to score")

    @property
    def scored(self) -> list[int]:
        pairs = [*self.efficacy, *self.locality.values()]
        return list(dict.fromkeys(prompt for pair in pairs for prompt in pair))


@dataclass(frozen=True)
class ReportConfig:
    strengths: tuple[float, ...] = DEFAULT_STRENGTHS
    seeds: int = DEFAULT_SEEDS
    seed: int = 0
    steps: int = DEFAULT_STEPS
    cfg: float = 4.0
    batch: int = 16
    """Samples per model call while scoring (lower it for big models on small GPUs)."""

    def __post_init__(self) -> None:
        values = [check_strength(value, "report strengths") for value in self.strengths]
        if 0.0 not in values:
            raise SliderConfigError(f"report strengths {values} lack 0: strength 0 is the anchor every image is "
                                    "compared with; add 0 to the list")
        if len(set(values)) != len(values) or len([v for v in values if v != 0]) < 2:
            raise SliderConfigError(f"report strengths {values}: give at least two distinct non-zero strengths, "
                                    "each once (e.g. -2, -1, 0, 1, 2)")
        if not 2 <= self.seeds <= MAX_SEEDS:
            raise SliderConfigError(f"report seeds must be between 2 and {MAX_SEEDS}, got {self.seeds}: the natural "
                                    "variation between seeds is the unit effects are measured in")
        if not 1 <= self.steps <= MAX_STEPS:
            raise SliderConfigError(f"report steps must be between 1 and {MAX_STEPS}, got {self.steps}")
        if self.batch < 1:
            raise SliderConfigError(f"report batch must be at least 1, got {self.batch}")

    @property
    def ordered(self) -> list[float]:
        return sorted(self.strengths)


@dataclass
class SweepMeasurement:
    """What was measured, indexed [strength, seed] in ascending strength order."""

    strengths: list[float]
    efficacy: torch.Tensor
    locality: dict[str, torch.Tensor]
    image_change: torch.Tensor
    """RMS latent distance from the same seed's strength-0 image, relative to that image's RMS."""
    latents: torch.Tensor
    """(strengths, seeds, C, ...) the generated model-space latents."""
    forwards: int
    """Per-sample model evaluations the measurement cost (sampling and scoring)."""

    @property
    def zero(self) -> int:
        return self.strengths.index(0.0)


def measure_sweep(denoiser: Denoiser, slider: StrengthBatched, prompts: ReportPrompts, config: ReportConfig,
                  latent_shape: tuple[int, ...], on_batch: Callable[[], None] = lambda: None) -> SweepMeasurement:
    counted = CountingDenoiser(denoiser)
    strengths = config.ordered
    with torch.no_grad():
        levels = score_levels(denoiser.schedule.sigmas)
        noise = torch.cat([seeded_noise(latent_shape, config.seed + SCORE_NOISE_SEED_OFFSET + draw)
                           for draw in range(SCORE_NOISES)]).to(denoiser.device)
        scored = prompts.scored
        per_seed = []
        for index in range(config.seeds):
            latents = sample_at_strengths(counted, slider, strengths, latent_shape, prompts.generate, prompts.uncond,
                                          config.cfg, config.steps, config.seed + index)
            on_batch()
            errors = prediction_errors(counted, latents, scored, levels, noise, config.batch, on_batch)
            per_seed.append((latents.float().cpu(), errors))
    latents = torch.stack([latents for latents, _ in per_seed], dim=1)
    errors = torch.stack([errors for _, errors in per_seed], dim=1)          # (strengths, seeds, prompts)
    flat = errors.flatten(0, 1)

    def scores(pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
        return pair_scores(flat, scored, pairs).mean(dim=1).view(len(strengths), config.seeds)

    zero = strengths.index(0.0)
    difference = (latents - latents[zero : zero + 1]).flatten(2).pow(2).mean(dim=2).sqrt()
    reference = latents[zero].flatten(1).pow(2).mean(dim=1).sqrt().clamp_min(1e-8)
    return SweepMeasurement(
        strengths=strengths, efficacy=scores(prompts.efficacy),
        locality={label: scores([pair]) for label, pair in prompts.locality.items()},
        image_change=difference / reference, latents=latents, forwards=counted.frozen_samples)


def batches_per_report(config: ReportConfig, prompts: ReportPrompts) -> int:
    """The model calls measure_sweep reports through `on_batch`, known before it runs (a progress bar's total): per
    seed, one for its sampled row and one per scoring batch of each scored prompt."""
    scoring = math.ceil(len(LEVEL_FRACTIONS) * SCORE_NOISES * len(config.strengths) / config.batch)
    return config.seeds * (1 + scoring * len(prompts.scored))


def forwards_per_report(config: ReportConfig, prompts: ReportPrompts) -> int:
    """The forwards measure_sweep costs, known before it runs: sampling (two per step with CFG) and scoring."""
    per_step = 1 if config.cfg == 1.0 else 2
    images = len(config.strengths) * config.seeds
    return images * (config.steps * per_step + len(LEVEL_FRACTIONS) * SCORE_NOISES * len(prompts.scored))
