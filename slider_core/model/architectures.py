"""The model families sliders are made for, in one registry: everything the pack needs to know about a family
(how kohya and modelspec name it, how its modules are spelt in kohya keys, what it predicts, its native size,
which host model classes belong to it) is a field here rather than a table in each module that needs it."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import SliderConfigError, SliderFormatError


@dataclass(frozen=True)
class Architecture:
    id: str
    family: str
    """Sliders fit models of the same family (SD2 ε and SD2 v share a UNet layout)."""
    label: str
    kohya_base_version: str
    """kohya's `ss_base_model_version`."""
    modelspec: str
    """`modelspec.architecture` of a LoRA for this family."""
    prediction: str
    """`modelspec.prediction_type`: what the model predicts ("epsilon", "v" or "flow")."""
    stem_naming: str
    """Module naming inside kohya stems: "diffusers" (kohya's SD1.x/2.x files) or "ldm", the model's original
    module paths (kohya's SDXL files; BFL names for FLUX, which ComfyUI, Forge and kohya all read)."""
    native_resolution: int
    host_configs: tuple[str, ...]
    """ComfyUI model-config class names (comfy.supported_models) of this architecture."""
    pooled_text: bool = False
    """The denoiser takes a pooled text embedding beside the cross-attention context (SDXL's `y`)."""
    latent_multiple: int = 8
    """Latent sides must be multiples of this: a UNet's downsamplings, a transformer's patch size."""
    distilled_guidance: bool = False
    """Guidance is distilled into the model (FLUX dev/schnell, FLUX.2): it samples at CFG 1, one forward a step."""
    layout: str = "unet"
    """Which module layout the train methods select from (module_selection.LAYOUTS)."""


ARCHITECTURES: dict[str, Architecture] = {arch.id: arch for arch in (
    Architecture("sd1", "sd1", "SD1.x", "sd_v1", "stable-diffusion-v1/lora", "epsilon", "diffusers", 512,
                 ("SD15",)),
    Architecture("sd2", "sd2", "SD2.x", "sd_v2", "stable-diffusion-v2-512/lora", "epsilon", "diffusers", 512,
                 ("SD20", "SD21UnclipL", "SD21UnclipH")),
    Architecture("sd2-v", "sd2", "SD2.x (v-prediction)", "sd_v2_v", "stable-diffusion-v2-768-v/lora", "v",
                 "diffusers", 768, ()),
    Architecture("sdxl", "sdxl", "SDXL", "sdxl_base_v1-0", "stable-diffusion-xl-v1-base/lora", "epsilon", "ldm",
                 1024, ("SDXL", "SSD1B", "Segmind_Vega", "KOALA_700M", "KOALA_1B"), pooled_text=True),
    Architecture("flux1-dev", "flux1", "FLUX.1 dev", "flux1", "flux-1-dev/lora", "flow", "ldm", 1024, ("Flux",),
                 latent_multiple=2, distilled_guidance=True, layout="flux"),
    Architecture("flux1-schnell", "flux1", "FLUX.1 schnell", "flux1-schnell", "flux-1-schnell/lora", "flow", "ldm",
                 1024, ("FluxSchnell",), latent_multiple=2, distilled_guidance=True, layout="flux"),
    Architecture("flux2", "flux2", "FLUX.2", "flux2", "flux-2-dev/lora", "flow", "ldm", 1024, ("Flux2",),
                 latent_multiple=1, distilled_guidance=True, layout="flux"),
    Architecture("chroma", "chroma", "Chroma", "chroma", "chroma/lora", "flow", "ldm", 1024, ("Chroma",),
                 latent_multiple=2, layout="flux"),
    Architecture("qwen-image", "qwen-image", "Qwen-Image", "qwen_image", "qwen-image/lora", "flow", "ldm", 1328,
                 ("QwenImage",), latent_multiple=2, layout="qwen_image"),
    Architecture("z-image", "z-image", "Z-Image", "z_image", "z-image/lora", "flow", "ldm", 1024, ("ZImage",),
                 latent_multiple=2, layout="lumina"),
    Architecture("lumina2", "lumina2", "Lumina Image 2.0", "lumina2", "lumina-image-2/lora", "flow", "ldm", 1024,
                 ("Lumina2",), latent_multiple=2, layout="lumina"),
    Architecture("sd3", "sd3", "SD3.x", "sd3", "stable-diffusion-v3/lora", "flow", "ldm", 1024, ("SD3",),
                 latent_multiple=2, layout="mmdit"),
)}


def architecture(architecture_id: str) -> Architecture:
    """The registry entry, or a SliderFormatError naming the unknown id and the known ones."""
    try:
        return ARCHITECTURES[architecture_id]
    except KeyError:
        raise SliderFormatError(
            f"unknown architecture {architecture_id!r}; expected one of {', '.join(ARCHITECTURES)}"
        ) from None


def architecture_of_host_config(config_name: str, v_prediction: bool) -> Architecture | None:
    """The architecture of a host model config class (None: a family the pack has no slider convention for);
    SD2's ε and v checkpoints share one config class and differ in their prediction type."""
    for arch in ARCHITECTURES.values():
        if config_name in arch.host_configs:
            if arch.id == "sd2" and v_prediction:
                return ARCHITECTURES["sd2-v"]
            return arch
    return None


def from_foreign_metadata(kohya_version: str, modelspec: str) -> str | None:
    """Our id from another tool's `ss_base_model_version` or `modelspec.architecture`, if it names one."""
    for arch in ARCHITECTURES.values():
        if kohya_version == arch.kohya_base_version:
            return arch.id
    if kohya_version.startswith("sdxl"):
        return "sdxl"
    for arch in ARCHITECTURES.values():
        if modelspec == arch.modelspec:
            return arch.id
    return None


def require_trainable(arch: Architecture | None, model_label: str) -> Architecture:
    if arch is None:
        raise SliderConfigError(
            f"cannot train a slider on {model_label}: supported are "
            f"{', '.join(a.label for a in ARCHITECTURES.values())}"
        )
    return arch
