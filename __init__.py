"""Concept Sliders for ComfyUI: train, load, apply and save low-rank attribute sliders."""
from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
from .nodes.host.folders import register_slider_folder

register_slider_folder()

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
