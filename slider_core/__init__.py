"""Host-agnostic maths, file formats and training loops for Concept Sliders (pure torch, no ComfyUI import)."""
