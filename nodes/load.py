"""Load Concept Slider."""
from __future__ import annotations

import os
from typing import Any

from ..slider_core.errors import SliderFormatError
from ..slider_core.io.slider_files import load_slider
from ..slider_core.model.slider import Slider
from .host import folders
from .types import CATEGORY, SLIDER_TYPE


class LoadConceptSlider:
    NODE_ID = "ConceptSlidersLoad"
    DISPLAY_NAME = "Load Concept Slider"
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
        return {"required": {"slider_name": (folders.slider_file_choices(), {
            "tooltip": "File in models/concept_sliders, or in models/loras under the 'loras/' prefix."})}}

    def load(self, slider_name: str) -> tuple[Slider, str]:
        path = folders.resolve_slider_file(slider_name)
        if path is None:
            raise SliderFormatError(
                f"slider file {slider_name!r} not found in models/{folders.SLIDER_FOLDER} or models/{folders.LORA_FOLDER}"
            )
        slider = load_slider(path, name=os.path.splitext(os.path.basename(slider_name))[0])
        return slider, slider.describe()
