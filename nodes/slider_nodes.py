"""Load, apply and save concept sliders."""
from __future__ import annotations

import os
import re
from typing import Any

from ..slider_core.errors import SliderConfigError, SliderFormatError
from ..slider_core.formats import load_slider, save_slider
from ..slider_core.slider import Slider
from . import host

CATEGORY = "concept_sliders"
SLIDER_TYPE = "CONCEPT_SLIDER"


class LoadConceptSlider:
    DESCRIPTION = (
        "Loads a concept slider (a LoRA that moves one attribute continuously) from models/concept_sliders or "
        "models/loras. Reads our files, kohya/A1111 LoRAs, peft lora_A/lora_B files, ComfyUI SaveLoRA files and "
        "the official implementation's .pt files (safely, without pickle)."
    )
    CATEGORY = CATEGORY
    FUNCTION = "load"
    RETURN_TYPES = (SLIDER_TYPE, "STRING")
    RETURN_NAMES = ("slider", "info")
    OUTPUT_TOOLTIPS = (
        "The slider, ready for Slider Strength (several can be chained).",
        "Architecture, rank, prompts and recommended strength range read from the file.",
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"slider_name": (host.slider_file_choices(), {
            "tooltip": "File in models/concept_sliders, or in models/loras under the 'loras/' prefix."})}}

    def load(self, slider_name: str) -> tuple[Slider, str]:
        path = host.resolve_slider_file(slider_name)
        if path is None:
            raise SliderFormatError(
                f"slider file {slider_name!r} not found in models/{host.SLIDER_FOLDER} or models/{host.LORA_FOLDER}"
            )
        slider = load_slider(path, name=os.path.splitext(os.path.basename(slider_name))[0])
        return slider, slider.describe()


class SliderStrength:
    DESCRIPTION = (
        "Applies a concept slider to a MODEL at a strength (negative values move the attribute the other way). "
        "Chain several to compose sliders. With a start percent above 0 the slider only acts after that fraction "
        "of sampling, which keeps the composition of the unslid image (the paper starts after ~20%)."
    )
    CATEGORY = CATEGORY
    FUNCTION = "apply"
    RETURN_TYPES = ("MODEL",)
    OUTPUT_TOOLTIPS = ("The model with the slider applied (the input model is left untouched).",)

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {
            "model": ("MODEL", {"tooltip": "The diffusion model to steer."}),
            "slider": (SLIDER_TYPE, {"tooltip": "A slider from Load Concept Slider or a training node."}),
            "strength": ("FLOAT", {"default": 1.0, "min": -10.0, "max": 10.0, "step": 0.05,
                                   "tooltip": "How far to move the attribute; 0 leaves the model exactly as it was."}),
            "start_percent": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 1.0, "step": 0.01,
                                        "tooltip": "Fraction of sampling after which the slider switches on."}),
            "end_percent": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01,
                                      "tooltip": "Fraction of sampling after which the slider switches off."}),
        }}

    def apply(self, model: Any, slider: Slider, strength: float, start_percent: float,
              end_percent: float) -> tuple[Any]:
        if start_percent >= end_percent:
            raise SliderConfigError(
                f"Slider Strength: start_percent ({start_percent}) must be below end_percent ({end_percent})"
            )
        if strength == 0.0:
            return (model.clone(),)
        keys = host.match_slider_to_model(slider, model)
        if start_percent == 0.0 and end_percent == 1.0:
            return (host.with_slider_patches(model, slider, strength, keys),)
        return (host.with_scheduled_slider(model, slider, strength, keys, start_percent, end_percent),)


_SAFE_PREFIX = re.compile(r"^[\w\-. ]+(/[\w\-. ]+)*$")
_RESERVED_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
_PRECISIONS = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}


class SaveConceptSlider:
    DESCRIPTION = (
        "Saves a slider as .safetensors into models/concept_sliders with kohya keys and metadata, so ComfyUI's "
        "LoraLoader, A1111/Forge and LoRA managers load it. Never overwrites: a counter is appended."
    )
    CATEGORY = CATEGORY
    FUNCTION = "save"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("path",)
    OUTPUT_TOOLTIPS = ("Full path of the written file.",)

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {
            "slider": (SLIDER_TYPE, {"tooltip": "The slider to save."}),
            "filename_prefix": ("STRING", {"default": "slider",
                                           "tooltip": "Name (may include subfolders) inside models/concept_sliders."}),
            "precision": (list(_PRECISIONS), {"default": "fp16",
                                              "tooltip": "Storage precision; fp16 halves the file at no visible cost."}),
        }}

    def save(self, slider: Slider, filename_prefix: str, precision: str) -> dict[str, Any]:
        import torch

        folder = os.path.realpath(host.slider_output_folder())
        path = numbered_path(folder, filename_prefix)
        save_slider(slider, path, dtype=getattr(torch, _PRECISIONS[precision]))
        return {"ui": {"text": [path]}, "result": (path,)}


def numbered_path(folder: str, prefix: str, suffix: str = ".safetensors") -> str:
    """`<prefix>_00001<suffix>`, the first free number: saving twice never replaces a file."""
    parts = prefix.split("/")
    if ("\x00" in prefix or not _SAFE_PREFIX.match(prefix) or any(part in ("..", ".") for part in parts)
            or any(part.split(".")[0].strip().lower() in _RESERVED_NAMES for part in parts)):
        raise SliderConfigError(
            f"file name prefix {prefix!r} is not allowed: use letters, digits, '-', '_', '.', spaces and '/' "
            "subfolders, without '..', an absolute path or a reserved device name (CON, NUL, COM1…)"
        )
    base = os.path.realpath(os.path.join(folder, prefix))
    if os.path.commonpath([base, folder]) != folder:
        raise SliderConfigError(f"file name prefix {prefix!r} escapes the sliders folder {folder}")
    counter = 1
    while os.path.exists(f"{base}_{counter:05d}{suffix}"):
        counter += 1
    return f"{base}_{counter:05d}{suffix}"
