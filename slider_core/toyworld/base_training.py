"""How every toy world's base model is trained, whatever its denoiser and loss: AdamW with a linear warm-up into a
cosine decay, gradient clipping, and an exponential moving average of the weights that is what ships (far smoother
samples than the last step's weights). The world's script computes each step's loss; this does the rest."""
from __future__ import annotations

import math
import time
from collections.abc import Iterable

import torch

WARMUP_FRACTION = 20  # warm-up over the first 1/20 of the steps
GRADIENT_CLIP = 1.0
REPORT_EVERY = 100


class BaseModelTrainer:
    def __init__(self, parameters: Iterable[torch.nn.Parameter], steps: int, lr: float, ema: float) -> None:
        self.parameters = list(parameters)
        self.steps = steps
        self.ema = ema
        self.averages = [p.detach().clone() for p in self.parameters]
        self.optimiser = torch.optim.AdamW(self.parameters, lr=lr, weight_decay=0.0)
        warmup = max(steps // WARMUP_FRACTION, 1)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimiser, lambda step: min((step + 1) / warmup, 0.5 * (1 + math.cos(math.pi * step / steps)))
        )
        self.started = time.perf_counter()
        self.running_loss: float | None = None

    def step(self, step: int, loss: torch.Tensor) -> None:
        """Back-propagate `loss`, update the weights and their average, print the smoothed loss now and then."""
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.parameters, GRADIENT_CLIP)
        self.optimiser.step()
        self.schedule.step()
        with torch.no_grad():
            for average, parameter in zip(self.averages, self.parameters, strict=True):
                average.lerp_(parameter, 1 - min(self.ema, (1 + step) / (10 + step)))
        value = loss.item()
        smoothed = self.running_loss
        self.running_loss = value if smoothed is None else 0.98 * smoothed + 0.02 * value
        if step % REPORT_EVERY == 0 or step == self.steps - 1:
            print(f"step {step:5d}  loss {self.running_loss:.4f}  {self.seconds():6.1f}s", flush=True)

    def finish(self) -> None:
        """Put the moving average into the model's weights."""
        with torch.no_grad():
            for average, parameter in zip(self.averages, self.parameters, strict=True):
                parameter.copy_(average)

    def seconds(self) -> float:
        return time.perf_counter() - self.started
