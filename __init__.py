"""Concept Sliders for ComfyUI: train, load, apply and save low-rank attribute sliders."""
from .nodes import host, sweep, toyworld_pairs, train_images
from .nodes.slider_nodes import LoadConceptSlider, SaveConceptSlider, SliderStrength
from .nodes.toyworld import ToyWorldDecode, ToyWorldLoader
from .nodes.toyworld_measure import ToyWorldMeasure
from .nodes.train_prompts import TrainSliderFromPrompts

host.register_slider_folder()

NODE_CLASS_MAPPINGS = {
    "ConceptSlidersLoad": LoadConceptSlider,
    "ConceptSlidersStrength": SliderStrength,
    "ConceptSlidersSave": SaveConceptSlider,
    "ConceptSlidersTrainFromPrompts": TrainSliderFromPrompts,
    "ConceptSlidersToyWorldLoader": ToyWorldLoader,
    "ConceptSlidersToyWorldDecode": ToyWorldDecode,
    "ConceptSlidersToyWorldMeasure": ToyWorldMeasure,
    **sweep.NODE_CLASS_MAPPINGS,
    **train_images.NODE_CLASS_MAPPINGS,
    **toyworld_pairs.NODE_CLASS_MAPPINGS,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "ConceptSlidersLoad": "Load Concept Slider",
    "ConceptSlidersStrength": "Slider Strength",
    "ConceptSlidersSave": "Save Concept Slider",
    "ConceptSlidersTrainFromPrompts": "Train Slider From Prompts",
    "ConceptSlidersToyWorldLoader": "Toy World Loader (testing)",
    "ConceptSlidersToyWorldDecode": "Toy World Decode (testing)",
    "ConceptSlidersToyWorldMeasure": "Toy World Measure (testing)",
    **sweep.NODE_DISPLAY_NAME_MAPPINGS,
    **train_images.NODE_DISPLAY_NAME_MAPPINGS,
    **toyworld_pairs.NODE_DISPLAY_NAME_MAPPINGS,
}
__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
