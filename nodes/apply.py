"""Slider Strength: a slider applied to a MODEL, for the whole of sampling or a window of it."""
from __future__ import annotations

from typing import Any

from ..slider_core.errors import SliderConfigError
from ..slider_core.model.slider import Slider
from ..slider_core.strengths import STRENGTH_LIMIT
from .host import patching
from .input_checks import check_numbers
from .types import CATEGORY, SLIDER_TYPE


class SliderStrength:
    NODE_ID = "ConceptSlidersStrength"
    DISPLAY_NAME = "Slider Strength"
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
            "strength": ("FLOAT", {"default": 1.0, "min": -STRENGTH_LIMIT, "max": STRENGTH_LIMIT, "step": 0.05,
                                   "tooltip": "How far to move the attribute; 0 leaves the model exactly as it was."}),
            "start_percent": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 1.0, "step": 0.01,
                                        "tooltip": "Fraction of sampling after which the slider switches on."}),
            "end_percent": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01,
                                      "tooltip": "Fraction of sampling after which the slider switches off."}),
        }}

    def apply(self, model: Any, slider: Slider, strength: float, start_percent: float,
              end_percent: float) -> tuple[Any]:
        check_numbers(SliderStrength, strength=strength, start_percent=start_percent, end_percent=end_percent)
        if start_percent >= end_percent:
            raise SliderConfigError(
                f"Slider Strength: start_percent ({start_percent}) must be below end_percent ({end_percent})"
            )
        if strength == 0.0:
            return (model.clone(),)
        slider, keys = patching.match_slider_to_model(slider, model)
        if start_percent == 0.0 and end_percent == 1.0:
            return (patching.with_slider_patches(model, slider, strength, keys),)
        return (patching.with_scheduled_slider(model, slider, strength, keys, start_percent, end_percent),)
