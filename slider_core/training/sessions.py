"""What a host may add around a training loop without owning it: resume and periodic checkpoints.

The loops call a session twice: `begin` right after the adaptors, the optimiser and the random generator exist
(it may restore them from a checkpoint, reseed the generator per process, or install gradient averaging) and
returns the step to start from; `step_done` after every optimiser step (where periodic checkpoints are written).
Hosts that need none of this pass no session; the CLI composes this one with the data-parallel one
(distributed.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch

from ..adaptors.trainable import TrainableSlider
from ..errors import SliderConfigError
from ..io.checkpoints import Checkpoint, fingerprint, load_checkpoint, save_checkpoint


class TrainingSession(Protocol):
    def begin(self, slider: TrainableSlider, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> int:
        """Prepare the run; return the number of steps already done (0 for a fresh run)."""
        ...

    def step_done(self, step: int, slider: TrainableSlider, optimizer: torch.optim.Optimizer,
                  generator: torch.Generator) -> None:
        """Called after optimiser step `step` (1-based)."""
        ...


class CheckpointingSession:
    """Resume from `resume` (if given) and write `path` every `every` steps (0: never) and on request."""

    def __init__(self, path: Path | None, every: int, settings: dict[str, Any], resume: Path | None = None,
                 writer: bool = True) -> None:
        self.path = path
        self.every = every
        self.fingerprint = fingerprint(settings)
        self.resume = resume
        self.writer = writer
        self.last_saved: int | None = None

    def begin(self, slider: TrainableSlider, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> int:
        if self.resume is None:
            return 0
        checkpoint = load_checkpoint(self.resume)
        if checkpoint.fingerprint != self.fingerprint:
            raise SliderConfigError(
                f"{self.resume.name} was written for different settings: resume with the same model, prompts, "
                f"rank, alpha and train method. Checkpoint: {checkpoint.fingerprint}; now: {self.fingerprint}"
            )
        slider.load_state_dict(checkpoint.slider)
        optimizer.load_state_dict(checkpoint.optimizer)
        generator.set_state(checkpoint.generator)
        return checkpoint.step

    def step_done(self, step: int, slider: TrainableSlider, optimizer: torch.optim.Optimizer,
                  generator: torch.Generator) -> None:
        if self.every and step % self.every == 0:
            self.save(step, slider, optimizer, generator)

    def save(self, step: int, slider: TrainableSlider, optimizer: torch.optim.Optimizer,
             generator: torch.Generator) -> None:
        if not self.writer or self.path is None:
            return
        state = {key: value.detach().cpu().clone() for key, value in slider.state_dict().items()}
        save_checkpoint(self.path, Checkpoint(step=step, slider=state, optimizer=_cpu(optimizer.state_dict()),
                                              generator=generator.get_state(), fingerprint=self.fingerprint))
        self.last_saved = step


def _cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return {key: _cpu(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return type(value)(_cpu(item) for item in value)
    return value
