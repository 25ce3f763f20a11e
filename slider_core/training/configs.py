"""The settings of a training run, as typed dataclasses validated on construction.

Nodes take their input defaults from these fields and the CLI reads its YAML into them, so a setting has one
default and one check wherever it is given. Defaults follow the reference implementation's shipped settings
(rank 4, alpha 1, lr 2e-4, η 4) except where measured better; the measurements are in benchmarks/README.md.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TypeVar

from ..choices import check_choice, check_keys
from ..errors import SliderConfigError
from ..seeds import fold_seed
from ..strengths import check_strength
from .latent_sources import TRAJECTORIES
from .objectives import GOAL_NORMALISATIONS

FROZEN_BATCHING = ("batched", "reference")
# How a bidirectional run trains its two sides. `alternate`: +1 on even iterations, −1 on odd ones, one backward
# each: the reference's per-iteration compute and peak memory exactly. `accumulate`: both sides every iteration,
# two backwards into one gradient: twice the backward work, and the second backward starts with the first's
# adaptor gradients alive on top of the full activations.
DIRECTION_SCHEDULES = ("alternate", "accumulate")
# How the two sides of an image pair run: `separate` passes (one side's activations at a time) or one `joint`
# batch (fewer kernel launches, both sides' activations at once).
SIDE_BATCHING = ("separate", "joint")

Config = TypeVar("Config", bound="RunConfig")
MAX_LEARNING_RATE = 1.0
"""Each AdamW step moves every factor entry by about the learning rate: above 1 that is beyond any LoRA's scale
(factors start near 1/√fan_in), and one step leaves a slider that predicts noise or overflows."""


@dataclass
class RunConfig:
    """What every slider training run needs, whatever its objective."""

    steps: int = 500
    learning_rate: float = 2e-4
    rank: int = 4
    alpha: float = 1.0
    batch_size: int = 1
    seed: int = 0
    gradient_checkpointing: bool = False
    frozen_up: bool = False
    """The reference's FLUX parametrisation: lora_up a fixed random orthonormal frame, only lora_down trained."""
    noise_range: tuple[float, float] = (0.0, 1.0)
    """The part of the noise schedule x_t is drawn from, as fractions of its timesteps (0 clean, 1 pure noise)."""

    def __post_init__(self) -> None:
        self.seed = fold_seed(self.seed)
        self.noise_range = check_noise_range(self.noise_range)
        require([
            (self.steps >= 1, f"steps must be at least 1, got {self.steps}"),
            (finite(self.learning_rate) and 0 < self.learning_rate <= MAX_LEARNING_RATE,
             f"learning rate must be a finite number in (0, {MAX_LEARNING_RATE:g}], got {self.learning_rate!r}"),
            (self.rank >= 1, f"rank must be at least 1, got {self.rank}"),
            (finite(self.alpha) and self.alpha > 0, f"alpha must be a positive finite number, got {self.alpha!r}"),
            (self.batch_size >= 1, f"batch size must be at least 1, got {self.batch_size}"),
        ])

    @classmethod
    def from_dict(cls: type[Config], values: dict[str, object], where: str = "training settings") -> Config:
        """A config from a mapping, refusing keys it does not have (a typo must not be silently ignored)."""
        check_keys(values, field_names(cls), where)
        return cls(**values)  # type: ignore[arg-type]


@dataclass
class TextSliderConfig(RunConfig):
    """A text (prompt) slider: the guided objective and where its noisy latents come from."""

    eta: float = 4.0
    latent_size: tuple[int, int] = (64, 64)
    bidirectional: bool = True
    trajectory: str = "renoise"
    trajectory_steps: int | None = None  # None: 50 for rollout (the reference's max_denoising_steps), else 20
    trajectory_cfg: float = 3.0
    refresh_every: int = 25
    frozen_batching: str = "batched"
    direction_schedule: str = "alternate"
    goal_normalisation: str = "none"
    """Rescale the guided target: "positive_norm" to the norm of the positive prediction (the reference's FLUX
    sliders), "anchor_stats" to the anchor prediction's mean and std (ai-toolkit), "none" as the paper."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require([
            (finite(self.eta), f"guidance (eta) must be a finite number, got {self.eta!r}"),
            (finite(self.trajectory_cfg) and self.trajectory_cfg >= 0,
             f"trajectory cfg must be a finite number ≥ 0, got {self.trajectory_cfg!r}"),
        ])
        if self.trajectory_steps is None:
            self.trajectory_steps = 50 if self.trajectory == "rollout" else 20
        check_choice("trajectory", self.trajectory, TRAJECTORIES)
        check_choice("frozen_batching", self.frozen_batching, FROZEN_BATCHING)
        check_choice("direction_schedule", self.direction_schedule, DIRECTION_SCHEDULES)
        check_choice("goal_normalisation", self.goal_normalisation, GOAL_NORMALISATIONS)


@dataclass
class PairSliderConfig(RunConfig):
    """An image-pair slider. Defaults: the reference's rank 4 / alpha 1 / 1000 iterations and one strength, but a
    learning rate 10x below its 2e-4, which users found copies the pairs' content into the slider (reference
    issue #47, where 1e-5 fixed it); benchmarks/README.md has the measurements behind it."""

    steps: int = 1000
    learning_rate: float = 2e-5
    strengths: tuple[float, ...] = (1.0,)
    side_batching: str = "separate"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.strengths = tuple(float(value) for value in self.strengths)
        if not self.strengths:
            raise SliderConfigError("strengths is empty: give at least one strength, e.g. '1'")
        for value in self.strengths:
            check_strength(value, "strengths", positive=True)
        check_choice("side_batching", self.side_batching, SIDE_BATCHING)


def check_noise_range(value: object) -> tuple[float, float]:
    """A (low, high) pair with 0 ≤ low < high ≤ 1, as a tuple (a job file gives a list)."""
    bounds = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(bounds) != 2 or not all(finite(bound) for bound in bounds) or not 0 <= bounds[0] < bounds[1] <= 1:
        raise SliderConfigError(f"noise range must be two numbers 0 ≤ low < high ≤ 1 (fractions of the noise "
                                f"schedule, 0 clean, 1 pure noise), got {value!r}")
    return float(bounds[0]), float(bounds[1])


def field_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def finite(value: object) -> bool:
    """A real number that is neither NaN nor ±inf (a string or None from a job file is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def require(checks: list[tuple[bool, str]]) -> None:
    """Raise the first failed check's message as a SliderConfigError."""
    for ok, message in checks:
        if not ok:
            raise SliderConfigError(message)
