"""The ComfyUI side of the training contract (slider_core.training.denoiser.Denoiser) over a loaded MODEL.

Prompts arrive as the host's own CONDITIONING (from the graph's CLIP or the family's encoder nodes) and reach the
model through the family's `extra_conds`, as the host's samplers feed it. `apply_model` returns the denoised x₀
for every model type; the prediction in the family's own space follows from x₀ and x_t (training/noise.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import comfy.model_management
import torch

from ...slider_core.model.architectures import require_trainable
from . import conditioning, shims
from .models import latent_shape, model_architecture, model_label, noise_schedule


class ComfyDenoiser:
    def __init__(self, patcher: Any, prompts: Sequence[conditioning.Conditioning],
                 latent_size: tuple[int, int]) -> None:
        """`prompts[i]` (single-entry CONDITIONING) is prompt id i; `latent_size` the (height, width) in latent
        positions the family's inputs are made for (SDXL's size embedding, FLUX's position ids)."""
        architecture = require_trainable(model_architecture(patcher), model_label(patcher))
        comfy.model_management.load_models_gpu([patcher])
        self.patcher = patcher
        self.base = patcher.model
        self.root = self.base
        self.device = patcher.load_device
        self.schedule = noise_schedule(patcher)
        self.latent_multiple = architecture.latent_multiple
        self.in_place = shims.residuals_in_place(self.base.diffusion_model)
        noise = torch.zeros(1, *self.latent_shape(*latent_size), device=self.device)
        self.conds = [conditioning.model_conds(patcher, prompt, noise) for prompt in prompts]

    def latent_shape(self, height: int, width: int) -> tuple[int, ...]:
        return latent_shape(self.patcher, height, width)

    def predict(self, x: torch.Tensor, sigma: torch.Tensor, prompts: Sequence[int]) -> torch.Tensor:
        """One forward when the prompts' inputs concatenate (the usual case), else one per prompt."""
        ids = list(prompts)
        distinct = list(dict.fromkeys(ids))
        if all(conditioning.batchable(self.conds[distinct[0]], self.conds[other]) for other in distinct[1:]):
            return self._predict(x, sigma, ids)
        out = torch.empty_like(x)
        for prompt in distinct:
            rows = torch.tensor([i for i, p in enumerate(ids) if p == prompt], device=x.device)
            out[rows] = self._predict(x[rows], sigma[rows], [prompt] * len(rows))
        return out

    def _predict(self, x: torch.Tensor, sigma: torch.Tensor, ids: list[int]) -> torch.Tensor:
        inputs = conditioning.batched([self.conds[i] for i in ids], x.device)
        sigma = sigma.to(x.device)
        with shims.autograd_safe_residuals(self.in_place):
            denoised = self.base.apply_model(x, sigma, **inputs)
        return self.schedule.prediction_of(x, sigma, denoised)
