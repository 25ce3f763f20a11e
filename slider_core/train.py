"""The ε-guided text slider training loop (host-agnostic; the host supplies a Denoiser).

Per iteration, at x_t from the configured source:
  no-grad forwards (two prompts each) for ε(anchor) and every ε(p + c₊), ε(p + c₋)   (1 + 2|P| samples per x_t)
  a forward+backward of the slid model on c_t at scale +1 (and −1 if bidirectional), gradients accumulated
versus the reference's ~50 CFG forwards of rollout plus four batch-2 predictions. See trajectories.py.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

import torch
from torch import nn

from .checkpointing import checkpointed
from .denoiser import CountingDenoiser, Denoiser
from .errors import SliderConfigError, SliderError
from .frozen import autograd_usable, frozen_parameters
from .lora import TrainableSlider
from .objectives import guidance_direction, guided_target, text_slider_loss
from .prompts import SliderPrompts
from .session import TrainingSession
from .trajectories import TRAJECTORIES, LatentSource

FROZEN_BATCHING = ("batched", "reference")


@dataclass
class TrainConfig:
    """Defaults follow the reference's shipped settings (rank 4, alpha 1, lr 2e-4, η 4) except where measured
    better (trajectory, bidirectional); see benchmarks/train.py."""

    steps: int = 500
    learning_rate: float = 2e-4
    rank: int = 4
    alpha: float = 1.0
    eta: float = 4.0
    batch_size: int = 1
    seed: int = 0
    latent_size: tuple[int, int] = (64, 64)
    bidirectional: bool = True
    trajectory: str = "renoise"
    trajectory_steps: int | None = None  # None: 50 for rollout (the reference's max_denoising_steps), else 20
    trajectory_cfg: float = 3.0
    refresh_every: int = 25
    frozen_batching: str = "batched"
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        if self.trajectory_steps is None:
            self.trajectory_steps = 50 if self.trajectory == "rollout" else 20
        checks = [
            (self.steps >= 1, f"steps must be at least 1, got {self.steps}"),
            (self.learning_rate > 0, f"learning rate must be positive, got {self.learning_rate}"),
            (self.rank >= 1, f"rank must be at least 1, got {self.rank}"),
            (self.alpha > 0, f"alpha must be positive, got {self.alpha}"),
            (self.batch_size >= 1, f"batch size must be at least 1, got {self.batch_size}"),
            (self.trajectory in TRAJECTORIES, f"unknown trajectory {self.trajectory!r}; choose {', '.join(TRAJECTORIES)}"),
            (self.frozen_batching in FROZEN_BATCHING, f"frozen_batching must be one of {FROZEN_BATCHING}"),
        ]
        for ok, message in checks:
            if not ok:
                raise SliderConfigError(message)

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise SliderConfigError(f"unknown training settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**values)  # type: ignore[arg-type]


@dataclass
class TrainResult:
    slider: TrainableSlider
    losses: list[float]
    seconds: float
    forward_equivalents: float
    stats: dict[str, float] = field(default_factory=dict)


StepCallback = Callable[[int, int, float], None]


class NonFiniteLossError(SliderError):
    pass


def train_text_slider(denoiser: Denoiser, prompts: SliderPrompts | Sequence[SliderPrompts], config: TrainConfig,
                      module_paths: list[str], stems: dict[str, str], on_step: StepCallback | None = None,
                      checkpoint_units: list[nn.Module] | None = None,
                      session: TrainingSession | None = None) -> TrainResult:
    """Train and return the adaptors (fp32 master weights). `on_step` may raise to cancel: nothing of the
    base model is modified, so an exception anywhere leaves it as it was. `checkpoint_units` are the
    submodules recomputed in backward when gradient checkpointing is on. `session` (resume, checkpoints,
    data parallelism) sees the run's state before the first step and after each one.

    Several prompt sets (the reference's prompts YAML with several entries) are one slider trained on a set drawn
    per step, as the reference does; the denoiser then holds `entry_texts(sets)`. The latent source generates
    from the target of the set drawn when it refreshes."""
    entries = [prompts] if isinstance(prompts, SliderPrompts) else list(prompts)
    check_entries(entries)
    counted = CountingDenoiser(denoiser)
    generator = torch.Generator().manual_seed(config.seed)
    slider = TrainableSlider(denoiser.root, module_paths, stems, config.rank, config.alpha, config.seed)
    slider.to(denoiser.device)
    optimizer = torch.optim.AdamW(slider.parameters(), lr=config.learning_rate)
    shape = (config.batch_size, denoiser.latent_channels, *config.latent_size)
    uncond = len(entries[0].texts()) - 1
    source = LatentSource(config.trajectory, shape, denoiser.sigmas, 0, uncond, config.trajectory_steps,
                          config.trajectory_cfg, config.refresh_every, generator, denoiser.device)
    # after the source has taken its seed: a resumed renoise run with refresh_every 1 repeats the original exactly
    start = session.begin(slider, optimizer, generator) if session is not None else 0
    started = time.perf_counter()
    scale_values = [1.0, -1.0] if config.bidirectional else [1.0]
    units = checkpoint_units or []
    with autograd_usable(denoiser.root), frozen_parameters(denoiser.root), checkpointed(units, config.gradient_checkpointing):
        losses = _optimise(counted, slider, optimizer, source, entries, config, scale_values, on_step, start,
                           session, generator)
    optimizer.zero_grad(set_to_none=True)
    per_step = counted.forward_equivalents() / max(1, config.steps - start)
    return TrainResult(slider=slider, losses=losses, seconds=time.perf_counter() - started, forward_equivalents=per_step,
                       stats={"frozen_samples": counted.frozen_samples, "grad_samples": counted.grad_samples})


def _optimise(counted: CountingDenoiser, slider: TrainableSlider, optimizer: torch.optim.Optimizer,
              source: LatentSource, entries: list[SliderPrompts], config: TrainConfig, scale_values: list[float],
              on_step: StepCallback | None, start: int, session: TrainingSession | None,
              generator: torch.Generator) -> list[float]:
    count = entries[0].concept_count
    width = len(entries[0].texts())
    batch = config.batch_size
    root = counted.root
    losses: list[float] = []

    def slid_eps(x: torch.Tensor, sigma: torch.Tensor, ids: list[int]) -> torch.Tensor:
        with slider.attached(root, torch.ones(x.shape[0], device=x.device)):
            return counted.eps(x, sigma, ids)

    for step in range(start, config.steps):
        # one set per step; a single set draws nothing, so its random stream is that of a one-set run
        drawn = int(torch.randint(len(entries), (1,), generator=generator)) if len(entries) > 1 else 0
        offset = drawn * width
        target, anchor = offset, offset + 1
        positives = list(range(offset + 2, offset + 2 + count))
        negatives = list(range(offset + 2 + count, offset + 2 + 2 * count))
        uncond = offset + 2 + 2 * count
        source.target, source.uncond = target, uncond
        with torch.no_grad():
            x_t, sigma = source.sample(slid_eps if config.trajectory == "rollout" else counted.eps)
            eps_anchor, eps_positive, eps_negative = _frozen_predictions(
                counted, x_t, sigma, anchor, positives, negatives, uncond, config.frozen_batching)
            direction = entries[drawn].sign * guidance_direction(eps_positive, eps_negative)
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for scale in scale_values:
            # One backward per direction, gradients accumulated: the same compute as one batch of both, at the
            # activation memory of a single direction (the reference's peak).
            target_eps = guided_target(eps_anchor, direction, config.eta, scale)
            with slider.attached(root, torch.full((batch,), scale, device=counted.device)):
                loss = text_slider_loss(counted.eps(x_t, sigma, [target] * batch), target_eps) / len(scale_values)
                if not torch.isfinite(loss):
                    raise NonFiniteLossError(
                        f"training diverged at step {step + 1}: loss is {loss.item()}; lower the learning rate "
                        f"(now {config.learning_rate:g}) or use fp32 precision"
                    )
                loss.backward()
            total += loss.item()
        optimizer.step()
        losses.append(total)
        if session is not None:
            session.step_done(step + 1, slider, optimizer, generator)
        if on_step is not None:
            on_step(step + 1, config.steps, total)
    return losses


def entry_texts(entries: Sequence[SliderPrompts]) -> list[str]:
    """The texts a denoiser must hold for these prompt sets, set after set (ids offset by set)."""
    return [text for entry in entries for text in entry.texts()]


def check_entries(entries: Sequence[SliderPrompts]) -> None:
    if not entries:
        raise SliderConfigError("no prompts: give at least one target/positive/negative set")
    counts = {entry.concept_count for entry in entries}
    if len(counts) > 1:
        raise SliderConfigError(
            f"prompt sets have different numbers of preservation concepts ({sorted(counts)}): give every set the same"
        )


def _frozen_predictions(denoiser: CountingDenoiser, x_t: torch.Tensor, sigma: torch.Tensor, anchor: int,
                        positives: list[int], negatives: list[int], uncond: int,
                        batching: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ε(anchor), ε(p + c₊) and ε(p + c₋) stacked over p. `batched`: two prompts per forward. `reference`: as the
    reference does it, one CFG-style batch-2 forward per prediction with the unconditional half discarded
    (kept only as the baseline the benchmark measures against)."""
    batch = x_t.shape[0]
    ids = [anchor, *positives, *negatives]
    if batching == "batched":
        # At most two prompts per forward: the reference's CFG-pair batch size, so the frozen passes never raise
        # peak memory above it however many preservation concepts there are; nothing is thrown away.
        chunks = []
        for first in range(0, len(ids), 2):
            group = ids[first:first + 2]
            eps = denoiser.eps(x_t.repeat(len(group), 1, 1, 1), sigma.repeat(len(group)),
                               [i for i in group for _ in range(batch)])
            chunks.extend(eps.split(batch))
    else:
        chunks = []
        for prompt in ids:
            pair = denoiser.eps(torch.cat([x_t, x_t]), torch.cat([sigma, sigma]), [prompt] * batch + [uncond] * batch)
            chunks.append(pair[:batch])
    count = len(positives)
    return chunks[0], torch.stack(chunks[1:1 + count]), torch.stack(chunks[1 + count:])
