"""A tiny measurable world for testing sliders without real diffusion weights (pure torch, no ComfyUI import).

`scenes` renders one-blob scenes as SD1.x latents and captions them, `metrics` measures the attributes back from
generated latents, and `model` holds the tiny SD1.x-layout base model's configuration and weight-file helpers.
"""
