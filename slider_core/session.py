"""What a host may add around a training loop without owning it: resume, checkpoints, data parallelism.

The loops (train.py, train_pairs.py) call a session twice: `begin` right after the adaptors, the optimiser and
the random generator exist (it may restore them from a checkpoint, reseed the generator per process, or install
gradient averaging) and returns the step to start from; `step_done` after every optimiser step (where periodic
checkpoints are written). Hosts that need none of this pass no session. This module holds the checkpoint file
format and the torch.distributed session; the CLI composes them.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from .errors import SliderConfigError, SliderFormatError
from .formats import write_atomically
from .lora import TrainableSlider

CHECKPOINT_VERSION = 1


class TrainingSession(Protocol):
    def begin(self, slider: TrainableSlider, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> int:
        """Prepare the run; return the number of steps already done (0 for a fresh run)."""
        ...

    def step_done(self, step: int, slider: TrainableSlider, optimizer: torch.optim.Optimizer,
                  generator: torch.Generator) -> None:
        """Called after optimiser step `step` (1-based)."""
        ...


@dataclass
class Checkpoint:
    """Everything a resumed run needs: adaptor weights, AdamW moments, the generator, the step, and a
    fingerprint of the settings that must not change between the run that wrote it and the one resuming."""

    step: int
    slider: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    generator: torch.Tensor
    fingerprint: str


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Atomic (temp file + rename): an interrupted write leaves the previous checkpoint intact. Only tensors and
    plain containers go in, so it loads with `weights_only=True` (no pickle code runs on resume)."""
    write_atomically(path, lambda temp_name: torch.save(
        {"version": CHECKPOINT_VERSION, "step": checkpoint.step, "slider": checkpoint.slider,
         "optimizer": checkpoint.optimizer, "generator": checkpoint.generator,
         "fingerprint": checkpoint.fingerprint}, temp_name))


def load_checkpoint(path: Path) -> Checkpoint:
    if not path.is_file():
        raise SliderFormatError(f"checkpoint not found: {path}")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise SliderFormatError(f"{path.name}: not a readable training checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(raw, dict) or raw.get("version") != CHECKPOINT_VERSION:
        raise SliderFormatError(f"{path.name}: not a version-{CHECKPOINT_VERSION} slider training checkpoint")
    return Checkpoint(step=int(raw["step"]), slider=raw["slider"], optimizer=raw["optimizer"],
                      generator=raw["generator"], fingerprint=str(raw["fingerprint"]))


def fingerprint(settings: dict[str, Any]) -> str:
    """Stable text of the settings a checkpoint is only valid for (model layout, rank, modules, prompts)."""
    return json.dumps(settings, sort_keys=True, default=str)


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


class DistributedSession:
    """Data parallelism through torch.distributed (launched by torchrun or accelerate): every process trains on
    its own noise and latents (generator reseeded by rank), adaptors start equal (broadcast from rank 0), and
    gradients are averaged across processes right before each optimiser step, which is what DDP's reducer does
    — the adaptors live in hooks on a frozen tree, so the slid forward is not a module call DDP could wrap."""

    def __init__(self, inner: TrainingSession, seed: int) -> None:
        import torch.distributed as dist

        if not dist.is_initialized():
            raise SliderConfigError("DistributedSession needs torch.distributed initialised (launch with torchrun)")
        self.dist = dist
        self.inner = inner
        self.seed = seed
        self.rank = dist.get_rank()
        self.world = dist.get_world_size()

    def begin(self, slider: TrainableSlider, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> int:
        start = self.inner.begin(slider, optimizer, generator)
        for parameter in slider.parameters():
            self.dist.broadcast(parameter.data, src=0)
        if start == 0:
            generator.manual_seed(self.seed + self.rank)
        else:  # a resumed run: the checkpoint's generator is rank 0's; derive the others from it
            generator.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)) + self.rank)
        optimizer.register_step_pre_hook(self._average_gradients)
        return start

    def _average_gradients(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        flat = torch.cat([grad.reshape(-1) for grad in grads])
        self.dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for grad in grads:
            grad.copy_(flat[offset:offset + grad.numel()].view_as(grad))
            offset += grad.numel()

    def step_done(self, step: int, slider: TrainableSlider, optimizer: torch.optim.Optimizer,
                  generator: torch.Generator) -> None:
        self.inner.step_done(step, slider, optimizer, generator)


def _cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return {key: _cpu(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return type(value)(_cpu(item) for item in value)
    return value
