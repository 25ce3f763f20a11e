"""Module path ↔ kohya key conversions, and recognition of the LoRA key dialects found in the wild.

A kohya stem is `lora_unet_` + the module path with dots as underscores. The path is in diffusers naming for
SD1.x/2.x and in the original (ldm) naming for SDXL, which is what kohya's sd-scripts writes and what
A1111/Forge and ComfyUI read. The host supplies the path naming; this module only spells keys.
"""
from __future__ import annotations

from dataclasses import dataclass

UNET_PREFIX = "lora_unet_"
TEXT_ENCODER_PREFIXES = ("lora_te_", "lora_te1_", "lora_te2_", "text_encoder.", "text_encoders.", "lora_te.")

# (suffix, role) — the role says which low-rank factor the tensor holds.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".lora_down.weight", "down"),
    (".lora_up.weight", "up"),
    (".lora_A.weight", "down"),
    (".lora_B.weight", "up"),
    (".lora.down.weight", "down"),
    (".lora.up.weight", "up"),
    (".alpha", "alpha"),
)
# Prefixes that wrap a diffusers module path in peft / diffusers / ComfyUI's SaveLoRA files.
_PATH_PREFIXES = ("base_model.model.", "unet.", "diffusion_model.", "transformer.")


@dataclass(frozen=True)
class LoraKey:
    stem: str
    role: str


def kohya_stem(module_path: str) -> str:
    """`down_blocks.0.attentions.0.proj_in` → `lora_unet_down_blocks_0_attentions_0_proj_in`."""
    return UNET_PREFIX + module_path.replace(".", "_")


def parse_lora_key(key: str) -> LoraKey | None:
    """Map a tensor name from any supported dialect onto (kohya stem, factor role); None if it is not UNet LoRA."""
    match = next(((suffix, role) for suffix, role in _SUFFIXES if key.endswith(suffix)), None)
    if match is None:
        return None
    suffix, role = match
    base = key[: -len(suffix)]
    if base.startswith(UNET_PREFIX):
        return LoraKey(base, role)
    for prefix in _PATH_PREFIXES:
        if base.startswith(prefix):
            return LoraKey(kohya_stem(base[len(prefix):]), role)
    if is_text_encoder_key(key):
        return None
    return LoraKey(kohya_stem(base), role)


def is_text_encoder_key(key: str) -> bool:
    return key.startswith(TEXT_ENCODER_PREFIXES)
