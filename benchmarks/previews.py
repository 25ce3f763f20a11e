"""What live previews cost: both training nodes at their defaults on the toy world, previews at the default
(preview_every, preview_steps, preview_strength) against previews off, in one process.

Two figures per node: seconds per run, and UNet forward-equivalents per run (a forward hook on the diffusion model
counts samples; a sample with autograd recording costs three, forward and backward), which does not swing with the
machine's other jobs. The text node runs at 128 px, the toy world's own resolution (its `resolution` default, 0,
means the model family's 512 px); the pair node on six size pairs from Toy World Pairs. Runs alternate off/on.

With `--steps N` (a multiple of the default preview_every) both nodes run N steps: the same number of previews
per step as at the defaults (one every preview_every steps, the last of them at the last step), in less time.
Usage: python benchmarks/previews.py [--steps N] [--repeats R]
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def count_forwards(diffusion_model: torch.nn.Module, run: Callable[[], Any]) -> float:
    """UNet forward-equivalents of `run`: samples evaluated, three for each evaluated with autograd recording."""
    counted = [0.0]

    def hook(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        counted[0] += inputs[0].shape[0] * (3.0 if torch.is_grad_enabled() else 1.0)

    handle = diffusion_model.register_forward_pre_hook(hook)
    try:
        run()
    finally:
        handle.remove()
    return counted[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=0, help="steps per run for both nodes; 0 = each node's default")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per configuration (the median is shown)")
    args = parser.parse_args()

    from common import boot, device_name, report

    host = boot()
    from concept_sliders.nodes.host.toyworld import load_toyworld
    from concept_sliders.nodes.train_pairs import TrainSliderFromImagePairs
    from concept_sliders.nodes.train_prompts import TrainSliderFromPrompts
    from concept_sliders.slider_core.training.previews import PreviewConfig

    defaults = PreviewConfig()
    model, clip = load_toyworld()
    pairs = host.node("ConceptSlidersToyWorldPairs").pairs("size", 6, 0)

    def node_defaults(node: type) -> dict[str, Any]:
        required = node.INPUT_TYPES()["required"]
        return {name: spec[1]["default"] for name, spec in required.items() if name != "model"}

    runs = {
        "Train Slider From Prompts": (TrainSliderFromPrompts,
                                      {**node_defaults(TrainSliderFromPrompts), "resolution": 128}),
        "Train Slider From Image Pairs": (TrainSliderFromImagePairs,
                                          {**node_defaults(TrainSliderFromImagePairs),
                                           "before_latent": pairs[0], "after_latent": pairs[1]}),
    }
    print(f"device: {device_name()}; toy world; previews every {defaults.every} steps, {defaults.steps} sampling "
          f"steps, strengths ±{defaults.strength:g}", flush=True)
    for label, (node, settings) in runs.items():
        steps = args.steps or settings["steps"]
        settings = {**settings, "steps": steps}

        def train(every: int, settings: dict[str, Any] = settings, node: type = node) -> Callable[[], Any]:
            return lambda: node().train(model, clip=clip, **settings, preview_every=every)

        seconds: dict[int, list[float]] = {0: [], defaults.every: []}
        forwards: dict[int, float] = {}
        for _ in range(args.repeats):
            for every in seconds:
                started = time.perf_counter()
                forwards[every] = count_forwards(model.model.diffusion_model, train(every))
                seconds[every].append(time.perf_counter() - started)
        on, off = defaults.every, 0
        report(f"previews: {label}, {steps} steps, seconds per run, previews on vs off",
               statistics.median(seconds[on]), statistics.median(seconds[off]), "s")
        report(f"previews: {label}, {steps} steps, UNet forward-equivalents per run, previews on vs off",
               forwards[on], forwards[off], "forwards")


if __name__ == "__main__":
    main()
