"""A toy world's text sliders as a user gets them: trained by Train Slider From Prompts at its node defaults and
swept by Slider Sweep, in the real host.

scripts/world_report.py (ablations: any widget overridden) and benchmarks/semantics.py (issue 17's bars over
both worlds and several training seeds) measure the same way through this module, so a figure in one is a figure
in the other. Import after the host is booted (harness.host.Host). The judging maths is slider_core/evaluation.py's.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from concept_sliders.nodes.host.toyworld import load_toyworld
from concept_sliders.slider_core import evaluation
from concept_sliders.slider_core.toyworld import measurement, worlds

from .host import Host

# How every sweep is sampled: 20 Euler steps at CFG 4, the world's neutral prompt against "", seeds sharing noise
# across strengths (as the semantic tests sample).
SWEEP = dict(seed=0, steps=20, cfg=4.0, sampler_name="euler", scheduler="normal", start_percent=0.0)
PROMPT_INPUTS = ("model", "clip", "target", "positive", "negative", "preserve")


def node_defaults(host: Host) -> dict[str, Any]:
    """Train Slider From Prompts' widget defaults, required and optional, read from its INPUT_TYPES (the prompts
    and links left out), so a measurement follows the node when its defaults change."""
    inputs = host.nodes.NODE_CLASS_MAPPINGS["ConceptSlidersTrainFromPrompts"].INPUT_TYPES()
    widgets = inputs["required"] | inputs.get("optional", {})
    return {name: spec[1]["default"] for name, spec in widgets.items()
            if name not in PROMPT_INPUTS and len(spec) > 1 and "default" in spec[1]}


@dataclass
class Sweep:
    """One trained slider's sweep: attribute → (strengths, seeds), the raw latents, and the training time."""

    strengths: list[float]
    table: dict[str, torch.Tensor]
    samples: torch.Tensor
    train_seconds: float

    def effects(self) -> dict[str, evaluation.SweepEffect]:
        return evaluation.sweep_effects(self.strengths, self.table)


@dataclass
class LoadedWorld:
    """A world's base model and text encoder loaded in the host, with its sweep conditioning encoded."""

    host: Host
    world: worlds.World
    model: Any
    clip: Any
    positive: Any
    negative: Any

    @classmethod
    def load(cls, host: Host, name: str) -> LoadedWorld:
        world = worlds.get(name)
        model, clip = load_toyworld(world.weights_file)
        encode = host.node("CLIPTextEncode").encode
        return cls(host, world, model, clip, encode(clip, world.prompts.TARGET)[0], encode(clip, "")[0])

    def settings(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The node defaults at the world's resolution, with `overrides` on top."""
        return node_defaults(self.host) | {"resolution": self.world.latent_size * 8} | (overrides or {})

    def train(self, spec: dict[str, str], settings: dict[str, Any]) -> tuple[Any, float]:
        """(slider, seconds) of Train Slider From Prompts on `spec` (target/positive/negative/preserve)."""
        started = time.perf_counter()
        slider = self.host.node("ConceptSlidersTrainFromPrompts").train(
            self.model, clip=self.clip, **spec, **settings)[0]
        return slider, time.perf_counter() - started

    def sweep(self, slider: Any, strengths: list[float], seeds: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """(attribute → (strengths, seeds) table, raw latents) of a Slider Sweep of `slider`."""
        pixels = self.world.latent_size * 8
        latents, _ = self.host.node("ConceptSlidersSweep").sweep(
            self.model, slider, self.positive, self.negative, rows=seeds, width=pixels, height=pixels,
            strengths=", ".join(map(str, strengths)), **SWEEP)
        samples = latents["samples"]
        return measurement.sweep_table(samples, strengths, self.world.metrics.measure), samples

    def measure(self, spec: dict[str, str], settings: dict[str, Any], strengths: list[float], seeds: int) -> Sweep:
        """Train a slider on `spec` with `settings` and sweep it."""
        slider, seconds = self.train(spec, settings)
        table, samples = self.sweep(slider, strengths, seeds)
        return Sweep(strengths, table, samples, seconds)
