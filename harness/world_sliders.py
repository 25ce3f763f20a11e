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

from .experiments import COMPOSED_AT
from .host import Host

# How every sweep is sampled: 20 Euler steps at CFG 4, the world's neutral prompt against "", seeds sharing noise
# across strengths (as the semantic tests sample).
SWEEP = dict(seed=0, steps=20, cfg=4.0, sampler_name="euler", scheduler="normal", start_percent=0.0)
PROMPT_INPUTS = ("model", "clip", "target", "positive", "negative", "preserve")

# The toy UNet is far smaller than SD's, so its image-pair learning-rate curve sits higher: this factor maps the
# reference's 2e-4, which breaks SD image sliders, onto the toy world's breaking point (benchmarks/README.md,
# "Image-pair sliders"), so the node's default × this is the toy world's equivalent of the default.
TOY_PAIR_LR_SCALE = 100.0


def node_defaults(host: Host, node_id: str = "ConceptSlidersTrainFromPrompts") -> dict[str, Any]:
    """A training node's widget defaults, required and optional, read from its INPUT_TYPES (the prompts and links
    left out), so a measurement follows the node when its defaults change."""
    inputs = host.nodes.NODE_CLASS_MAPPINGS[node_id].INPUT_TYPES()
    widgets = inputs["required"] | inputs.get("optional", {})
    return {name: spec[1]["default"] for name, spec in widgets.items()
            if name not in PROMPT_INPUTS and len(spec) > 1 and "default" in spec[1]}


@dataclass
class Sweep:
    """One trained slider's sweep: attribute → (strengths, seeds), the raw latents, the training time and the
    slider itself (for composing it with another)."""

    strengths: list[float]
    table: dict[str, torch.Tensor]
    samples: torch.Tensor
    train_seconds: float
    slider: Any

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

    def pair_settings(self) -> dict[str, Any]:
        """Train Slider From Image Pairs' node defaults."""
        return node_defaults(self.host, "ConceptSlidersTrainFromImagePairs")

    def toy_pair_settings(self) -> dict[str, Any]:
        """Train Slider From Image Pairs' node defaults with the learning rate at its toy-world equivalent (at the
        SD default the toy UNet learns nothing)."""
        settings = self.pair_settings()
        return settings | {"learning_rate": settings["learning_rate"] * TOY_PAIR_LR_SCALE}

    def train(self, spec: dict[str, str], settings: dict[str, Any]) -> tuple[Any, float]:
        """(slider, seconds) of Train Slider From Prompts on `spec` (target/positive/negative/preserve)."""
        started = time.perf_counter()
        slider = self.host.node("ConceptSlidersTrainFromPrompts").train(
            self.model, clip=self.clip, **spec, **settings)[0]
        return slider, time.perf_counter() - started

    def sweep(self, slider: Any, strengths: list[float], seeds: int,
              model: Any = None) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """(attribute → (strengths, seeds) table, raw latents) of a Slider Sweep of `slider` over `model` (default
        the base model)."""
        pixels = self.world.latent_size * 8
        latents, _ = self.host.node("ConceptSlidersSweep").sweep(
            self.model if model is None else model, slider, self.positive, self.negative, rows=seeds, width=pixels,
            height=pixels, strengths=", ".join(map(str, strengths)), rows_per_batch=seeds, **SWEEP)
        samples = latents["samples"]
        return measurement.sweep_table(samples, strengths, self.world.metrics.measure), samples

    def prompt_edit(self, attribute: str, seeds: int) -> dict[str, evaluation.SweepEffect]:
        """The base model's own edit of `attribute`: its check pair's low and high prompts and the neutral prompt,
        sampled on the same seeds as the strengths −1, 0, +1 of a sweep and judged by the same maths.

        A text slider is regressed onto exactly this prompt difference, so the edit's leaks are what copying the
        prompt gives: a slider that leaks less is more local than the model's own words. Moving an object makes
        the sampler draw it from other noise, so its other attributes re-roll per seed even under the prompt;
        this column shows how much of a slider's leak is that.
        """
        low, high = next(pair[1:] for pair in self.world.prompts.CHECK_PAIRS if pair[0] == attribute)
        encode = self.host.node("CLIPTextEncode").encode
        latent = {"samples": torch.zeros(seeds, 4, self.world.latent_size, self.world.latent_size)}
        sampler = self.host.node("KSampler")
        rows = []
        with torch.no_grad():
            for conditioning in (encode(self.clip, low)[0], self.positive, encode(self.clip, high)[0]):
                (out,) = sampler.sample(self.model, SWEEP["seed"], SWEEP["steps"], SWEEP["cfg"], SWEEP["sampler_name"],
                                        SWEEP["scheduler"], conditioning, self.negative, latent)
                rows.append(self.world.metrics.measure(out["samples"]))
        table = {name: torch.stack([row[name] for row in rows]) for name in rows[0]}
        return evaluation.sweep_effects([-1.0, 0.0, 1.0], table)

    def measure(self, spec: dict[str, str], settings: dict[str, Any], strengths: list[float], seeds: int) -> Sweep:
        """Train a slider on `spec` with `settings` and sweep it."""
        slider, seconds = self.train(spec, settings)
        table, samples = self.sweep(slider, strengths, seeds)
        return Sweep(strengths, table, samples, seconds, slider)

    def measure_pairs(self, attribute: str, count: int, seed: int, strengths: list[float], seeds: int,
                      overrides: dict[str, Any] | None = None) -> Sweep:
        """Train Slider From Image Pairs at its node defaults (`overrides` on top) on `count` of the world's pairs
        for `attribute` (pairs and training both from `seed`, so each seed is another pair set a user might pick)
        and sweep it."""
        before, after = self.world.pair_scenes(attribute, count, seed)
        settings = self.pair_settings() | (overrides or {}) | {"seed": seed}
        started = time.perf_counter()
        slider = self.host.node("ConceptSlidersTrainFromImagePairs").train(
            self.model, clip=self.clip, before_latent={"samples": self.world.scenes.render(before)},
            after_latent={"samples": self.world.scenes.render(after)}, **settings)[0]
        seconds = time.perf_counter() - started
        table, samples = self.sweep(slider, strengths, seeds)
        return Sweep(strengths, table, samples, seconds, slider)

    def composed(self, sweep: Sweep, other: Any, seeds: int) -> dict[str, evaluation.SweepEffect]:
        """The effects of `sweep`'s slider swept again with `other` chained on at COMPOSED_AT (Slider Strength, as
        a graph composes sliders)."""
        model = self.host.node("ConceptSlidersStrength").apply(self.model, other, COMPOSED_AT, 0.0, 1.0)[0]
        table, _ = self.sweep(sweep.slider, sweep.strengths, seeds, model)
        return evaluation.sweep_effects(sweep.strengths, table)
