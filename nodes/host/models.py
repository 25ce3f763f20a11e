"""What the pack needs to know about a ComfyUI MODEL: its architecture, module names, latent space and size."""
from __future__ import annotations

from typing import Any

import comfy.model_base
import comfy.utils
import torch

from ...slider_core.errors import SliderConfigError, SliderMismatchError
from ...slider_core.model.architectures import Architecture, architecture_of_host_config
from ...slider_core.model.keys import kohya_stem
from ...slider_core.model.module_selection import LDM_ROLES, select_modules


def model_architecture(patcher: Any) -> Architecture | None:
    """The architecture of a MODEL, or None for model families we have no slider convention for."""
    base = patcher.model
    v_prediction = base.model_type == comfy.model_base.ModelType.V_PREDICTION
    return architecture_of_host_config(type(base.model_config).__name__, v_prediction)


def architecture_id(patcher: Any) -> str | None:
    arch = model_architecture(patcher)
    return arch.id if arch is not None else None


def model_label(patcher: Any) -> str:
    base = patcher.model
    return f"{type(base.model_config).__name__} ({type(base).__name__})"


def kohya_stems(patcher: Any, module_paths: list[str]) -> dict[str, str]:
    """Kohya stems for host module paths (relative to the BaseModel), spelt as kohya's sd-scripts writes them for
    the architecture (diffusers names for SD1.x/2.x, the original names for SDXL), so A1111/Forge read them too."""
    relative = {path: path.removeprefix("diffusion_model.") for path in module_paths}
    arch = model_architecture(patcher)
    if arch is None or arch.stem_naming == "ldm":
        return {path: kohya_stem(inner) for path, inner in relative.items()}
    to_diffusers = {
        ldm[: -len(".weight")]: diffusers[: -len(".weight")]
        for diffusers, ldm in comfy.utils.unet_to_diffusers(patcher.model.model_config.unet_config).items()
        if ldm.endswith(".weight")
    }
    missing = [inner for inner in relative.values() if inner not in to_diffusers]
    if missing:
        raise SliderMismatchError(f"no diffusers name for module {missing[0]} of {model_label(patcher)}")
    return {path: kohya_stem(to_diffusers[inner]) for path, inner in relative.items()}


def slider_target_paths(patcher: Any, method: str, include_conv: bool) -> list[str]:
    """Module paths (relative to the BaseModel) that a train method adapts in this host's UNet."""
    inner = select_modules(patcher.model.diffusion_model, method, include_conv, LDM_ROLES)
    return ["diffusion_model." + path for path in inner]


def training_resolution(patcher: Any, requested: int) -> int:
    """Pixels per side: the request, or the model family's native size (a loader may state its own)."""
    if requested:
        if requested % 64:
            raise SliderConfigError(f"resolution {requested} is not a multiple of 64")
        return requested
    native = getattr(patcher.model.model_config, "native_resolution", None)
    if native:
        return int(native)
    arch = model_architecture(patcher)
    return arch.native_resolution if arch is not None else 512


def recompute_units(patcher: Any) -> list[torch.nn.Module]:
    """The UNet's ResBlocks and SpatialTransformers: the units gradient checkpointing recomputes."""
    return [module for module in patcher.model.diffusion_model.modules()
            if type(module).__name__ in ("ResBlock", "SpatialTransformer")]


def latents_to_model_space(patcher: Any, samples: torch.Tensor) -> torch.Tensor:
    """Raw LATENT samples (what VAEEncode/KSampler hand around) into the space the UNet denoises, as KSampler
    does on the way in: the model family's latent scaling (SD1.x: × 0.18215; SDXL: × 0.13025)."""
    return patcher.model.process_latent_in(samples)


def encode_pixels(vae: Any, images: torch.Tensor) -> torch.Tensor:
    """What VAEEncode does: raw LATENT samples of a ComfyUI IMAGE batch (B, H, W, 3)."""
    return vae.encode(images[:, :, :, :3])


def latent_channels(patcher: Any) -> int:
    """Channels of the latents the model denoises (4 for SD1.x/SDXL)."""
    return int(patcher.model.model_config.unet_config.get("in_channels", 4))
