"""Train Slider From Prompts: the paper's ε-guided text slider, on the MODEL and CLIP already in the graph."""
from __future__ import annotations

from typing import Any

import torch

from ..slider_core.prompts import SliderPrompts
from ..slider_core.slider import Slider, SliderMetadata
from ..slider_core.train import TrainConfig, train_text_slider
from ..slider_core.trajectories import TRAJECTORIES
from . import host, train_common
from .host_denoiser import ComfyDenoiser, clip_encoder
from .slider_nodes import SLIDER_TYPE


class TrainSliderFromPrompts:
    DESCRIPTION = (
        "Trains a concept slider from text: the slider learns to push the model's prediction for the target "
        "towards 'positive' (strength > 0) and 'negative' (strength < 0), guided by η·(ε(positive) − ε(negative)), "
        "while preservation concepts keep other attributes out of the direction. Runs on the loaded MODEL and "
        "CLIP, reports progress, can be cancelled, and leaves the model's weights untouched."
    )
    CATEGORY = "concept_sliders/train"
    FUNCTION = "train"
    RETURN_TYPES = (SLIDER_TYPE, "IMAGE", "MODEL")
    RETURN_NAMES = ("slider", "loss_curve", "model")
    OUTPUT_TOOLTIPS = (
        "The trained slider (save it with Save Concept Slider, apply it with Slider Strength).",
        "Training loss per step with a moving average.",
        "The input model with the slider applied at +1, for an immediate preview.",
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        def text(default: str, tip: str, multiline: bool = False) -> tuple[str, dict[str, Any]]:
            # dynamicPrompts off: the 2024 web page otherwise rewrites "{...}" when queueing, and "{}" marks
            # where the prompt goes in a preservation concept ("{} on the left").
            return ("STRING", {"default": default, "multiline": multiline, "dynamicPrompts": False, "tooltip": tip})

        return {
            "required": {
                "model": ("MODEL", {"tooltip": "The base model the slider is trained for (SD1.x, SD2.x or SDXL)."}),
                "clip": ("CLIP", {"tooltip": "The model's text encoder, used to encode the prompts."}),
                "target": text("a person", "What the slider acts on (c_t), e.g. 'a person'."),
                "positive": text("an old person", "The attribute at positive strength (c+)."),
                "negative": text("a young person", "The attribute at negative strength (c-)."),
                "preserve": text("", "Preservation concepts, one per line (e.g. 'male', 'female'): the slider's "
                                     "direction is averaged over them so it does not change them.", multiline=True),
                "guidance": ("FLOAT", {"default": 4.0, "min": 0.0, "max": 50.0, "step": 0.1,
                                       "tooltip": "η: how far the target is pushed along positive − negative."}),
                **train_common.adaptor_inputs(),
                "steps": ("INT", {"default": 500, "min": 1, "max": 100000, "tooltip": "Optimisation steps."}),
                "learning_rate": ("FLOAT", {"default": 2e-4, "min": 1e-7, "max": 1.0, "step": 1e-5,
                                            "tooltip": "AdamW learning rate."}),
                "seed": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF,
                                 "tooltip": "Seeds noise, timesteps and initialisation: same seed, same slider (CPU)."}),
                "resolution": ("INT", {"default": 0, "min": 0, "max": 4096, "step": 64,
                                       "tooltip": "Training resolution in pixels; 0 = the model's own (512 SD1.x, "
                                                  "1024 SDXL)."}),
                "batch_size": ("INT", {"default": 1, "min": 1, "max": 64, "tooltip": "Latents per step."}),
                "bidirectional": ("BOOLEAN", {"default": True,
                                              "tooltip": "Train the −1 side too (target − η·direction), on "
                                                         "alternate steps; makes negative strengths reliable."}),
                **train_common.compute_inputs(),
                "trajectory": (list(TRAJECTORIES), {"default": "renoise",
                                                    "tooltip": "Where noisy latents come from: renoise (fastest, "
                                                               "default), pool, or rollout (the reference's)."}),
            },
            "optional": {
                "anchor": text("", "Optional: the prompt whose prediction the target is built on (the reference's "
                                   "'neutral'); empty = the target itself."),
            },
        }

    def train(self, model: Any, clip: Any, target: str, positive: str, negative: str, preserve: str, guidance: float,
              rank: int, alpha: float, train_method: str, include_conv: bool, steps: int, learning_rate: float,
              seed: int, resolution: int, batch_size: int, bidirectional: bool, precision: str,
              gradient_checkpointing: bool, trajectory: str, anchor: str = "") -> tuple[Slider, torch.Tensor, Any]:
        prompts = SliderPrompts(target=target, positive=positive, negative=negative,
                                preserve=preserve.splitlines(), anchor=anchor.strip() or None)
        pixels = host.training_resolution(model, resolution)
        config = TrainConfig(steps=steps, learning_rate=learning_rate, rank=rank, alpha=alpha, eta=guidance,
                             batch_size=batch_size, seed=seed % 2**63, latent_size=(pixels // 8, pixels // 8),
                             bidirectional=bidirectional, trajectory=trajectory,
                             gradient_checkpointing=gradient_checkpointing)
        paths = host.slider_target_paths(model, train_method, include_conv)
        stems = host.kohya_stems(model, paths)
        progress = host.TrainingProgress(steps, "slider")
        with host.training_mode(model, precision, config):
            denoiser = ComfyDenoiser(model, clip_encoder(clip), prompts.texts(), (pixels, pixels))
            result = train_text_slider(denoiser, prompts, config, paths, stems, on_step=progress.step,
                                       checkpoint_units=host.checkpoint_units(model))
            metadata = SliderMetadata(
                architecture=host.model_architecture(model), title=train_common.slider_title(positive, negative),
                train_method=train_method, target=target, positive=positive, negative=negative,
                preserve=prompts.preserve, guidance=guidance, recommended_start=0.2,
                extra={"steps": str(steps), "learning_rate": f"{learning_rate:g}", "trajectory": trajectory,
                       "bidirectional": str(bidirectional), "resolution": str(pixels)},
            )
            slider = result.slider.export(metadata, name=metadata.title)
            del denoiser, result
        return train_common.finish(model, slider, progress.losses)
