"""ComfyUI node classes over slider_core: thin adapters (validate, convert, call the core, report).

Everything that imports ComfyUI lives in `host/`. Registration is built from NODES, one list of classes, each
carrying its NODE_ID and DISPLAY_NAME.
"""
from __future__ import annotations

from .apply import SliderStrength
from .load import LoadConceptSlider
from .report import SliderReport
from .save import SaveConceptSlider
from .sweep import SliderSweep, SliderSweepGrid
from .toyworld import ToyFlowWorldLoader, ToyWorldDecode, ToyWorldLoader, ToyWorldMeasure, ToyWorldPairs
from .train_pairs import TrainSliderFromImagePairs
from .train_prompts import TrainSliderFromPrompts

NODES = (
    LoadConceptSlider,
    SliderStrength,
    SaveConceptSlider,
    TrainSliderFromPrompts,
    TrainSliderFromImagePairs,
    SliderSweep,
    SliderSweepGrid,
    SliderReport,
    ToyWorldLoader,
    ToyFlowWorldLoader,
    ToyWorldDecode,
    ToyWorldMeasure,
    ToyWorldPairs,
)
NODE_CLASS_MAPPINGS = {node.NODE_ID: node for node in NODES}
NODE_DISPLAY_NAME_MAPPINGS = {node.NODE_ID: node.DISPLAY_NAME for node in NODES}
