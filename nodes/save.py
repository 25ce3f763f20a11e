"""Save Concept Slider."""
from __future__ import annotations

from typing import Any

from ..slider_core.io.names import numbered_path
from ..slider_core.io.slider_files import save_slider
from ..slider_core.model.slider import Slider
from ..slider_core.precision import STORAGE_PRECISIONS, storage_dtype
from .host import folders
from .types import CATEGORY, SLIDER_TYPE


class SaveConceptSlider:
    NODE_ID = "ConceptSlidersSave"
    DISPLAY_NAME = "Save Concept Slider"
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
            "precision": (list(STORAGE_PRECISIONS), {"default": "fp16",
                                                     "tooltip": "Storage precision; fp16 halves the file at no visible "
                                                                "cost."}),
        }}

    def save(self, slider: Slider, filename_prefix: str, precision: str) -> dict[str, Any]:
        dtype = storage_dtype(precision, self.DISPLAY_NAME)
        path = numbered_path(folders.slider_output_folder(), filename_prefix)
        save_slider(slider, path, dtype=dtype)
        return {"ui": {"text": [path]}, "result": (path,)}
