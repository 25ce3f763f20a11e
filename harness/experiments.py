"""The toy-world slider experiments behind the semantic tests and benchmarks/semantics.py, run in the real host.

Import after the host is booted (harness.host.Host): the pack's modules are those the host loaded.

Every experiment trains sliders with Train Slider From Prompts and measures Slider Sweeps of them: strengths
−2…2 on SEEDS seeds that share their noise across strengths, "a blob" vs "" at CFG 4, 20 Euler steps, 128x128.
The judging maths (ρ, effect sizes, locality, leakage, composition) is slider_core/evaluation.py's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from concept_sliders.slider_core import evaluation
from concept_sliders.slider_core.toyworld import measurement
from concept_sliders.slider_core.toyworld.blobs import metrics

from .host import Host

STRENGTHS = [-2.0, -1.0, 0.0, 1.0, 2.0]
SEEDS = 16
TRAIN_STEPS = 200
SETTINGS = dict(guidance=4.0, rank=4, alpha=1.0, train_method="noxattn", include_conv=True, steps=TRAIN_STEPS,
                learning_rate=1e-3, seed=0, resolution=128, batch_size=1, bidirectional=True, precision="auto",
                gradient_checkpointing=False, trajectory="renoise")
COLOURS = ("red", "green", "blue")

# The words of a slider go through its preservation concepts' `{}` (slider_core/training/prompts.py), so every prompt is a
# caption the world was trained on: "a {} blob" gives plain "a large blob" ↔ "a small blob" (no preservation),
# the colour concepts "a large red blob" ↔ "a small red blob" and likewise for green and blue. The world's
# training data ties size to colour (large blobs mostly red, small mostly blue: scenes.entangle_size_and_colour),
# so only the second keeps redness out of the size slider.
PLAIN = "a {} blob"
SIZE = dict(target="a blob", positive="large", negative="small")
SIZE_COLOURS = "\n".join(f"a {{}} {colour} blob" for colour in COLOURS)
BRIGHTNESS = dict(target="a blob", positive="bright", negative="dim")
COMPOSED_AT = 1.0  # the strength the other slider is held at in a composition sweep

# Sliders already trained in this process, by world loader and training inputs. Training is deterministic on the
# CPU (same seed, same slider: tests/host/test_train_prompts.py), so the semantic and report tests, which train
# the same sliders, share them instead of paying for each twice in CI.
_TRAINED: dict[tuple[Any, ...], Any] = {}


@dataclass
class ToyWorld:
    """The toy-world model, its text encoder and the sweep prompts, with the host nodes that train and sweep."""

    host: Host
    model: Any
    clip: Any
    positive: Any
    negative: Any
    seeds: int = SEEDS
    loader: str = "ConceptSlidersToyWorldLoader"

    @classmethod
    def load(cls, host: Host, seeds: int = SEEDS, loader: str = "ConceptSlidersToyWorldLoader") -> ToyWorld:
        """The world a loader node gives: the UNet toy world, or the toy flow world (ConceptSlidersToyFlowWorldLoader)."""
        model, clip = host.node(loader).load()
        encode = host.node("CLIPTextEncode").encode
        return cls(host, model, clip, encode(clip, "a blob")[0], encode(clip, "")[0], seeds, loader)

    def train(self, prompts: dict[str, str], preserve: str = "", **overrides: Any) -> Any:
        """The slider Train Slider From Prompts gives for these inputs (trained once per process)."""
        settings = {**SETTINGS, **overrides}
        key = (self.loader, tuple(sorted(prompts.items())), preserve, tuple(sorted(settings.items())))
        if key not in _TRAINED:
            node = self.host.node("ConceptSlidersTrainFromPrompts")
            _TRAINED[key] = node.train(self.model, clip=self.clip, **prompts, preserve=preserve, **settings)[0]
        return _TRAINED[key]

    def with_slider(self, slider: Any, strength: float) -> Any:
        """The model with `slider` chained on at `strength` (Slider Strength, as a graph composes sliders)."""
        return self.host.node("ConceptSlidersStrength").apply(self.model, slider, strength, 0.0, 1.0)[0]

    def sweep(self, slider: Any, model: Any = None) -> dict[str, torch.Tensor]:
        """attribute → (strengths, seeds) measured on a Slider Sweep of `slider` over `model` (default the base)."""
        latents, _ = self.host.node("ConceptSlidersSweep").sweep(
            self.model if model is None else model, slider, self.positive, self.negative, seed=0, rows=self.seeds,
            steps=20, cfg=4.0, sampler_name="euler", scheduler="normal", width=128, height=128,
            strengths=", ".join(map(str, STRENGTHS)), start_percent=0.0, rows_per_batch=self.seeds)
        return measurement.sweep_table(latents["samples"], STRENGTHS, metrics.measure)

    def effects(self, slider: Any, model: Any = None) -> dict[str, Any]:
        """attribute → SweepEffect of a sweep of `slider`."""
        return evaluation.sweep_effects(STRENGTHS, self.sweep(slider, model))

    def composed_effects(self, slider: Any, other: Any) -> dict[str, Any]:
        """attribute → SweepEffect of a sweep of `slider` with `other` chained on at COMPOSED_AT."""
        return self.effects(slider, self.with_slider(other, COMPOSED_AT))
