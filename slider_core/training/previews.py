"""Live previews while a slider trains: every `every` steps, the target sampled at strengths −m, 0, +m.

The core decides when a preview is due and samples it, through the same Denoiser contract the loops train on
(so every host and family previews the same way, with the family's own Euler sampler, strength_sampling.py); the host
only turns latents into pictures and shows the strip (ComfyUI: its progress-preview channel).

A preview must never change the slider being trained: it runs under no_grad, draws its noise from a private
generator seeded afresh each time (the same noise every preview, so strips compare across steps), never touches
the run's generator or optimiser, and uses the uncounted denoiser so the run's forward counts stay the training's.
A run with previews on trains a slider bit-identical to one with them off.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..adaptors.trainable import TrainableSlider
from ..charts.preview_strip import preview_strip
from ..strength_sampling import sample_at_strengths
from ..strengths import check_strength
from .configs import require
from .denoiser import Denoiser

# Measured by benchmarks/previews.py (results in benchmarks/README.md): at the training nodes' defaults a preview
# every 100 steps with 10 sampling steps stays within the 10 % budget.
DEFAULT_EVERY = 100
DEFAULT_STRENGTH = 2.0
DEFAULT_STEPS = 10
MAX_STEPS = 100

Decode = Callable[[torch.Tensor], torch.Tensor]
"""Model-space latents (N, C, ...) → IMAGE (N, H, W, 3) in [0, 1]: the host's picture of its latents."""
Show = Callable[[torch.Tensor, int, int], None]
"""(strip as IMAGE (1, H, W, 3), step, total): the host shows it while training goes on."""
PreviewHook = Callable[[int, int, float, TrainableSlider], None]
"""Called after every step with (1-based step, total steps, the step's loss, the live slider)."""


@dataclass
class PreviewConfig:
    """`every` 0 turns previews off; otherwise every `every`-th step and the last one are previewed, the last so the
    node's preview output always shows the finished slider."""

    every: int = DEFAULT_EVERY
    strength: float = DEFAULT_STRENGTH
    steps: int = DEFAULT_STEPS

    def __post_init__(self) -> None:
        require([
            (self.every >= 0, f"preview_every must be 0 (off) or a number of steps, got {self.every}"),
            (1 <= self.steps <= MAX_STEPS, f"preview_steps must be between 1 and {MAX_STEPS}, got {self.steps}"),
        ])
        check_strength(self.strength, "preview_strength", positive=True)

    @property
    def strengths(self) -> tuple[float, float, float]:
        return (-self.strength, 0.0, self.strength)

    def due(self, step: int, total: int) -> bool:
        return self.every > 0 and (step % self.every == 0 or step == total)


@dataclass(frozen=True)
class PreviewPrompt:
    """What a loop previews: prompt ids into its denoiser, the guidance scale, and one latent's shape."""

    cond: int
    uncond: int
    cfg: float
    latent_shape: tuple[int, ...]


@dataclass
class Previews:
    """A host's request for previews: the schedule and strength, how to decode latents and how to show a strip.
    `last` holds the latest strip (the node's preview output)."""

    config: PreviewConfig
    decode: Decode
    show: Show
    last: torch.Tensor | None = field(default=None, init=False)

    def hook(self, denoiser: Denoiser, prompt: PreviewPrompt, seed: int) -> PreviewHook:
        """The per-step hook a loop hands its run: samples `prompt` at −m, 0, +m when a preview is due and shows
        the strip labelled with the step and the mean loss since the previous preview."""
        config = self.config
        window: list[float] = []

        def after_step(step: int, total: int, loss: float, slider: TrainableSlider) -> None:
            window.append(loss)
            if not config.due(step, total):
                return
            with torch.no_grad():
                latents = sample_at_strengths(denoiser, slider, config.strengths, prompt.latent_shape, prompt.cond,
                                              prompt.uncond, prompt.cfg, config.steps, seed)
                images = self.decode(latents.float())
            self.last = preview_strip(images, list(config.strengths), step, total, sum(window) / len(window),
                                      len(window))
            window.clear()
            self.show(self.last, step, total)

        return after_step
