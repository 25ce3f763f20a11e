"""A training run inside the host's executor: autograd and precision for its duration, progress, cancel."""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import comfy.model_management
import comfy.utils
import torch

from ...slider_core.errors import SliderError
from ...slider_core.precision import compute_autocast
from . import previews, shims


@contextlib.contextmanager
def training_mode(patcher: Any, precision: str, batch_size: int, latent_size: tuple[int, int],
                  rank: int) -> Iterator[None]:
    """Autograd on (ComfyUI runs nodes under inference_mode), optional autocast, memory released afterwards,
    and out-of-memory turned into advice naming the settings that reduce it (those given here)."""
    device = patcher.load_device
    try:
        with torch.inference_mode(False), torch.enable_grad(), compute_autocast(precision, device), \
                shims.training_switches():
            yield
    except torch.cuda.OutOfMemoryError:
        raise SliderError(
            f"out of memory while training on {device} (batch size {batch_size}, latent "
            f"{latent_size[0]}x{latent_size[1]}, rank {rank}): turn on gradient_checkpointing, "
            "use bf16/fp16 precision, or lower batch_size or resolution"
        ) from None
    finally:
        comfy.model_management.soft_empty_cache()


class TrainingProgress:
    """ProgressBar once per step, the loss in the UI where the host can show text, and the user's cancel
    honoured right after the step it arrives in. A preview strip shown during a step goes out with that step's
    update, through the channel KSampler's live previews use, so the bar still moves once per step."""

    def __init__(self, total: int, label: str) -> None:
        self.bar = comfy.utils.ProgressBar(total)
        self.label = label
        self.losses: list[float] = []
        self.last_report = 0.0
        self.pending: tuple[str, Any, int] | None = None

    def show_preview(self, strip: torch.Tensor, step: int, total: int) -> None:
        self.pending = previews.preview_tuple(strip)

    def step(self, step: int, total: int, loss: float) -> None:
        self.losses.append(loss)
        preview, self.pending = self.pending, None
        self.bar.update_absolute(step, total, preview)
        now = time.monotonic()
        if now - self.last_report > 2.0 or step == total or preview is not None:
            self.last_report = now
            logging.info("concept sliders: %s step %d/%d loss %.5f", self.label, step, total, loss)
            shims.send_progress_text(f"{self.label}: step {step}/{total}, loss {loss:.5f}")
        comfy.model_management.throw_exception_if_processing_interrupted()
