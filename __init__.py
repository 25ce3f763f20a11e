"""Concept Sliders for ComfyUI: train, load, apply and save low-rank attribute sliders."""
from .nodes import host
from .nodes.slider_nodes import LoadConceptSlider, SaveConceptSlider, SliderStrength

host.register_slider_folder()

NODE_CLASS_MAPPINGS = {
    "ConceptSlidersLoad": LoadConceptSlider,
    "ConceptSlidersStrength": SliderStrength,
    "ConceptSlidersSave": SaveConceptSlider,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "ConceptSlidersLoad": "Load Concept Slider",
    "ConceptSlidersStrength": "Slider Strength",
    "ConceptSlidersSave": "Save Concept Slider",
}
__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
