"""What the pack needs to know about a ComfyUI MODEL: its architecture, module names, noise schedule, latent space
and size."""
from __future__ import annotations

from typing import Any

import comfy.model_base
import comfy.utils
import torch

from ...slider_core.errors import SliderConfigError, SliderMismatchError
from ...slider_core.model.architectures import Architecture, architecture_of_host_config
from ...slider_core.model.keys import kohya_stem
from ...slider_core.model.module_selection import LDM_ROLES, select_modules, select_transformer_modules
from ...slider_core.training.noise import NoiseSchedule
from . import shims

# ComfyUI's model types (comfy.model_base.ModelType) → how the family noises and what it predicts.
_SCHEDULES = {"EPS": ("variance_exploding", "epsilon"), "V_PREDICTION": ("variance_exploding", "v"),
              "FLOW": ("flow", "flow"), "FLUX": ("flow", "flow")}


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


def slider_targets(patcher: Any, method: str, include_conv: bool,
                   include_mlp: bool = False) -> tuple[list[str], dict[str, int]]:
    """Module paths (relative to the BaseModel) a train method adapts, and the leading output rows adapted in fused
    projections: a UNet's by block kind (with its convolutions if asked), a transformer's by token stream (with
    its MLPs if asked)."""
    arch = model_architecture(patcher)
    root = patcher.model.diffusion_model
    if arch is None or arch.layout == "unet":
        inner, rows = select_modules(root, method, include_conv, LDM_ROLES), {}
    else:
        inner, rows = select_transformer_modules(root, arch.layout, method, include_mlp)
    return (["diffusion_model." + path for path in inner],
            {"diffusion_model." + path: count for path, count in rows.items()})


def slider_target_paths(patcher: Any, method: str, include_conv: bool) -> list[str]:
    return slider_targets(patcher, method, include_conv)[0]


def noise_schedule(patcher: Any) -> NoiseSchedule:
    """The family's noising and prediction space over its own σ table (as patched, e.g. a FLUX shift)."""
    kind = patcher.model.model_type.name
    if kind not in _SCHEDULES:
        raise SliderConfigError(f"cannot train a slider on {model_label(patcher)}: its {kind} prediction is not "
                                "supported (ε, v and flow-matching models are)")
    sigmas = shims.model_sampling(patcher).sigmas.detach().float().cpu()
    return NoiseSchedule(sigmas, *_SCHEDULES[kind])


def latent_shape(patcher: Any, height: int, width: int) -> tuple[int, ...]:
    """One latent as the model denoises it: (C, H, W), or (C, 1, H, W) for video-shaped latents."""
    channels = shims.latent_channels(patcher)
    return (channels, height, width) if shims.latent_dimensions(patcher) == 2 else (channels, 1, height, width)


def latent_downscale(patcher: Any) -> int:
    """Pixels per latent position (8 for SD and FLUX.1's VAE, 16 for FLUX.2's)."""
    return int(getattr(patcher.model.latent_format, "spacial_downscale_ratio", 8))


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
    """The units gradient checkpointing recomputes: a UNet's ResBlocks and SpatialTransformers, a transformer's
    blocks (every member of its block lists)."""
    root = patcher.model.diffusion_model
    arch = model_architecture(patcher)
    if arch is None or arch.layout == "unet":
        return [module for module in root.modules() if type(module).__name__ in ("ResBlock", "SpatialTransformer")]
    return [block for child in root.children() if isinstance(child, torch.nn.ModuleList) for block in child]


def latents_to_model_space(patcher: Any, samples: torch.Tensor) -> torch.Tensor:
    """Raw LATENT samples (what VAEEncode/KSampler hand around) into the space the UNet denoises, as KSampler
    does on the way in: the model family's latent scaling (SD1.x: × 0.18215; SDXL: × 0.13025)."""
    return patcher.model.process_latent_in(samples)


def encode_pixels(vae: Any, images: torch.Tensor) -> torch.Tensor:
    """What VAEEncode does: raw LATENT samples of a ComfyUI IMAGE batch (B, H, W, 3)."""
    return vae.encode(images[:, :, :, :3])


def latent_channels(patcher: Any) -> int:
    """Channels of the latents the model denoises (4 for SD1.x/SDXL, 16 for FLUX.1, 128 for FLUX.2)."""
    return shims.latent_channels(patcher)
