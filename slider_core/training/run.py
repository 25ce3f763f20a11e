"""What every slider training run shares, whatever its objective (text prompts or image pairs).

One place for the guarantees users rely on: the adaptors are fp32 master weights on the denoiser's device, the
base model's parameters are frozen and restored (nothing of it is ever written, so an exception or a cancel
anywhere leaves it as it was), gradient checkpointing is switched off again, forward passes are counted for the
benchmarks, and a non-finite loss or slider weight stops the run with the step and what to change: a run never
returns a slider of NaN or inf weights.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from ..adaptors.trainable import TrainableSlider
from ..errors import SliderError
from .configs import RunConfig
from .denoiser import CountingDenoiser, Denoiser
from .frozen import autograd_usable, frozen_parameters
from .gradient_checkpointing import gradient_checkpointed
from .sessions import TrainingSession

StepCallback = Callable[[int, int, float], None]
PreviewHook = Callable[[int, int, float, TrainableSlider], None]
"""After each step: (1-based step, total steps, the step's loss, the live slider); previews.Previews.hook makes one."""


class NonFiniteLossError(SliderError):
    pass


@dataclass
class TrainResult:
    slider: TrainableSlider
    losses: list[float]
    seconds: float
    forward_equivalents: float
    stats: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainingRun:
    """The live pieces of one run: counted denoiser, adaptors, optimiser and the run's random stream, plus who
    hears about each step (the host's progress callback, a session for resume, checkpoints, parallelism, and a
    preview hook)."""

    counted: CountingDenoiser
    slider: TrainableSlider
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    steps: int
    on_step: StepCallback | None
    session: TrainingSession | None
    started: float = field(default_factory=time.perf_counter)
    start: int = 0
    losses: list[float] = field(default_factory=list)
    preview: PreviewHook | None = None

    def resume(self) -> range:
        """The steps left to run: all of them, or those after the session's checkpoint. Called once the loop has
        drawn whatever it seeds from the generator, so a resumed run continues the original's random stream."""
        if self.session is not None:
            self.start = self.session.begin(self.slider, self.optimizer, self.generator)
        return range(self.start, self.steps)

    def end_step(self, step: int, loss: float) -> None:
        """Apply the step's gradients and tell the session, the preview hook and the host (whose callback may raise
        to cancel). The preview comes before the host's callback so that a host can show it with that step."""
        self.optimizer.step()
        check_finite_weights(self.slider, step, self.optimizer.param_groups[0]["lr"])
        self.losses.append(loss)
        if self.session is not None:
            self.session.step_done(step + 1, self.slider, self.optimizer, self.generator)
        if self.preview is not None:
            self.preview(step + 1, self.steps, loss, self.slider)
        if self.on_step is not None:
            self.on_step(step + 1, self.steps, loss)

    def result(self) -> TrainResult:
        """The run's outcome; forward passes are counted per step this call ran (a resumed run skips some)."""
        return TrainResult(slider=self.slider, losses=self.losses, seconds=time.perf_counter() - self.started,
                           forward_equivalents=self.counted.forward_equivalents() / max(1, self.steps - self.start),
                           stats={"frozen_samples": self.counted.frozen_samples,
                                  "grad_samples": self.counted.grad_samples})


@contextlib.contextmanager
def training_run(denoiser: Denoiser, module_paths: list[str], stems: dict[str, str], config: RunConfig,
                 recompute_units: list[nn.Module] | None, on_step: StepCallback | None,
                 session: TrainingSession | None, rows: dict[str, int] | None = None) -> Iterator[TrainingRun]:
    """Adaptors seeded from `config.seed`, AdamW over their trainable factors only, the base frozen for the
    duration of the block. `rows` limits adaptors of fused projections to their leading output rows."""
    seed, gradient_checkpointing = config.seed, config.gradient_checkpointing
    generator = torch.Generator().manual_seed(seed)
    slider = TrainableSlider(denoiser.root, module_paths, stems, config.rank, config.alpha, seed, rows,
                             config.frozen_up)
    slider.to(denoiser.device)
    optimizer = torch.optim.AdamW([p for p in slider.parameters() if p.requires_grad], lr=config.learning_rate)
    run = TrainingRun(CountingDenoiser(denoiser), slider, optimizer, generator, config.steps, on_step, session)
    with autograd_usable(denoiser.root), frozen_parameters(denoiser.root), \
            gradient_checkpointed(recompute_units or [], gradient_checkpointing):
        yield run
    optimizer.zero_grad(set_to_none=True)


def check_finite_weights(slider: TrainableSlider, step: int, learning_rate: float) -> None:
    """A NonFiniteLossError when the step just taken left any adaptor weight NaN or inf (a finite loss can still
    give an update that overflows); one reduction over the small adaptors, one sync per step."""
    largest = torch.stack([parameter.detach().abs().amax() for parameter in slider.parameters()])
    if not bool(torch.isfinite(largest).all()):
        raise NonFiniteLossError(
            f"training diverged at step {step + 1}: the slider's weights became NaN or inf; lower the learning "
            f"rate (now {learning_rate:g}) or use fp32 precision")


def check_finite(loss: torch.Tensor, step: int, learning_rate: float) -> torch.Tensor:
    """`loss`, or a NonFiniteLossError naming the (1-based) step and the two settings that usually cure it."""
    if not math.isfinite(loss.item()):
        raise NonFiniteLossError(
            f"training diverged at step {step + 1}: loss is {loss.item()}; lower the learning rate "
            f"(now {learning_rate:g}) or use fp32 precision"
        )
    return loss
