"""Data parallelism for the training loops through torch.distributed (torchrun or accelerate launch)."""
from __future__ import annotations

from typing import Any

import torch

from ..adaptors.trainable import TrainableSlider
from ..errors import SliderConfigError
from .sessions import TrainingSession


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
