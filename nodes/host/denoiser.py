"""The ComfyUI side of the training contract (slider_core.training.denoiser.Denoiser) over a MODEL and CLIP."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import comfy.model_management
import torch

from ...slider_core.errors import SliderConfigError
from ...slider_core.model.architectures import require_trainable
from . import shims
from .models import latent_channels, model_architecture, model_label

Encoder = Callable[[str], tuple[torch.Tensor, torch.Tensor | None]]


def clip_encoder(clip: Any) -> Encoder:
    """What CLIPTextEncode does: (cross-attention context, pooled output) for one prompt."""
    def encode(text: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        cond, pooled = clip.encode_from_tokens(clip.tokenize(text), return_pooled=True)
        return cond, pooled

    return encode


class ComfyDenoiser:
    """ε(x_t, σ, prompt) from a ComfyUI BaseModel, whatever it predicts: apply_model returns the denoised x_0 for
    every prediction type (ε, v), and x_t = x_0 + σ·ε gives ε = (x_t − x_0)/σ."""

    def __init__(self, patcher: Any, encode: Encoder, texts: Sequence[str], pixel_size: tuple[int, int]) -> None:
        architecture = require_trainable(model_architecture(patcher), model_label(patcher))
        comfy.model_management.load_models_gpu([patcher])
        self.patcher = patcher
        self.base = patcher.model
        self.root = self.base
        self.device = patcher.load_device
        self.latent_channels = latent_channels(patcher)
        self.sigmas = self.base.model_sampling.sigmas.detach().float().cpu()
        height, width = pixel_size
        contexts, extras = [], []
        for text in texts:
            context, pooled = encode(text)
            contexts.append(context.detach().clone().to(self.device))
            if architecture.pooled_text:
                if pooled is None:
                    raise SliderConfigError("this SDXL model needs a CLIP with a pooled output (CLIP-G)")
                adm = self.base.encode_adm(pooled_output=pooled, width=width, height=height,
                                           target_width=width, target_height=height)
                extras.append(adm.detach().clone().to(self.device))
        self.contexts = _same_length(contexts)
        self.adm = torch.cat(extras) if extras else None

    def eps(self, x: torch.Tensor, sigma: torch.Tensor, prompts: Sequence[int]) -> torch.Tensor:
        index = torch.tensor(list(prompts), device=self.contexts.device)
        conditioning: dict[str, torch.Tensor] = {"c_crossattn": self.contexts[index]}
        if self.adm is not None:
            conditioning["y"] = self.adm[index]
        sigma = sigma.to(x.device)
        with shims.autograd_safe_residuals():
            denoised = self.base.apply_model(x, sigma, **conditioning)
        return (x - denoised) / sigma.reshape(-1, *([1] * (x.dim() - 1)))


def _same_length(contexts: list[torch.Tensor]) -> torch.Tensor:
    """Long prompts give longer contexts (77·k tokens); repeat shorter ones to the common multiple, as ComfyUI's
    own conditioning batching does, so all prompts share one batch."""
    length = math.lcm(*(context.shape[1] for context in contexts))
    return torch.cat([context.repeat(1, length // context.shape[1], 1) for context in contexts])
