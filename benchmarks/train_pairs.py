"""Image-pair slider training: our default learning rate against the reference's 2e-4, and the two sides of a pair
as two accumulated passes (our default) against one joint forward.

Quality is measured in the toy world, all in this process: 6 pairs that differ only in blob size (Toy World
Pairs), trained with Train Slider From Image Pairs for the default 1000 steps, swept −2…2 on 16 seeds ('a blob',
CFG 4, 20 Euler steps) and measured (size effect = mean size change from −2 to +2 in units of its spread across
seeds; locality = the largest other attribute's effect / size effect). The toy UNet is far smaller than SD's, so
its learning-rate curve sits higher: both rates are also run ×100 ("toy-equivalent"), the factor that maps the
reference's 2e-4, which breaks SD image sliders, onto the toy world's breaking point (benchmarks/README.md).
Speed and memory: the core loop on the toy model, and with --sd15-iterations on an SD1.5-size UNet (random
weights, 256 px; each mode in its own process; peak memory as live tensor bytes, see common.peak_training_bytes).
Usage: python benchmarks/train_pairs.py [--steps N] [--rows N] [--speed-iterations N] [--sd15-iterations N]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

import torch

REFERENCE_LR = 2e-4
STRENGTHS = [-2.0, -1.0, 0.0, 1.0, 2.0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--speed-iterations", type=int, default=60)
    parser.add_argument("--sd15-iterations", type=int, default=0,
                        help="also time separate vs joint on an SD1.5-size UNet (random weights, 256 px); 0 = skip")
    parser.add_argument("--speed-only", action="store_true", help="skip the learning-rate (quality) lines")
    parser.add_argument("--only-sd15", choices=("separate", "joint"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    from common import boot, device_name, report

    if args.only_sd15:
        print(json.dumps(sd15_run(args.only_sd15, args.sd15_iterations)))
        return

    host = boot()
    from concept_sliders.nodes.host.toyworld import load_toyworld
    from concept_sliders.slider_core.evaluation import sweep_effect
    from concept_sliders.slider_core.toyworld import measurement
    from concept_sliders.slider_core.toyworld.blobs import metrics
    from concept_sliders.slider_core.training.configs import PairSliderConfig

    from harness.world_sliders import TOY_PAIR_LR_SCALE as TOY_EQUIVALENT

    default_lr = PairSliderConfig.learning_rate
    model, clip = load_toyworld()
    pairs = host.node("ConceptSlidersToyWorldPairs").pairs("size", 6, 0)
    encode = host.node("CLIPTextEncode").encode
    conditioning = (encode(clip, "a blob")[0], encode(clip, "")[0])

    def quality(lr: float) -> dict[str, float]:
        slider, _, _, _ = host.node("ConceptSlidersTrainFromImagePairs").train(
            model, "", "", "1", 4, 1.0, "noxattn", True, args.steps, lr, 0, 0, 1, "auto", False,
            clip=clip, before_latent=pairs[0], after_latent=pairs[1])
        latents, _ = host.node("ConceptSlidersSweep").sweep(
            model, slider, *conditioning, seed=0, rows=args.rows, steps=20, cfg=4.0, sampler_name="euler",
            scheduler="normal", width=128, height=128, strengths=", ".join(map(str, STRENGTHS)), start_percent=0.0)
        table = measurement.sweep_table(latents["samples"], STRENGTHS, metrics.measure)
        effects = {name: sweep_effect(STRENGTHS, values) for name, values in table.items()}
        size = effects["size"].effect
        others = [name for name in table if name != "size"]
        return {"effect": size, "locality": max(effects[name].effect for name in others) / size,
                "rho": effects["size"].rho}

    print(f"device: {device_name()}; toy world, 6 size pairs, {args.steps} steps, sweep -2..2 on {args.rows} seeds")
    if not args.speed_only:
        ours, reference = quality(default_lr), quality(REFERENCE_LR)
        report(f"train_pairs: toy size effect, lr {default_lr:g} vs {REFERENCE_LR:g}", ours["effect"],
               reference["effect"], "spreads")
        ours, reference = quality(default_lr * TOY_EQUIVALENT), quality(REFERENCE_LR * TOY_EQUIVALENT)
        label = f"toy-equivalent lr {default_lr * TOY_EQUIVALENT:g} vs {REFERENCE_LR * TOY_EQUIVALENT:g}"
        report(f"train_pairs: toy size effect, {label}", ours["effect"], reference["effect"], "spreads")
        report(f"train_pairs: toy locality (worst other effect / size effect), {label}", ours["locality"],
               reference["locality"], "x")
        report(f"train_pairs: toy size monotonicity (median Spearman rho), {label}", ours["rho"], reference["rho"], "")

    separate = seconds_per_iteration(model, clip, pairs, "separate", args.speed_iterations)[0]
    joint = seconds_per_iteration(model, clip, pairs, "joint", args.speed_iterations)[0]
    report("train_pairs: toy seconds per iteration, two accumulated passes vs joint forward", separate, joint, "s")
    if args.sd15_iterations:
        runs = {}
        for batching in ("separate", "joint"):
            command = [sys.executable, __file__, "--only-sd15", batching, "--sd15-iterations", str(args.sd15_iterations)]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            runs[batching] = json.loads(output.strip().splitlines()[-1])
        label = "SD1.5-size UNet (256 px), two accumulated passes vs joint forward"
        report(f"train_pairs: {label}, seconds per iteration", runs["separate"]["seconds"], runs["joint"]["seconds"], "s")
        report(f"train_pairs: {label}, peak training memory", runs["separate"]["peak_mb"], runs["joint"]["peak_mb"], "MiB")


def sd15_run(batching: str, iterations: int) -> dict[str, float]:
    from common import boot

    from harness.models import sd15_model

    boot()
    generator = torch.Generator().manual_seed(0)
    latents = [{"samples": torch.randn(1, 4, 32, 32, generator=generator) / 0.18215} for _ in range(2)]
    seconds, peak = seconds_per_iteration(sd15_model(), None, latents, batching, iterations)
    return {"seconds": seconds, "peak_mb": peak / 2**20}


def seconds_per_iteration(model: Any, clip: Any, pairs: Any, batching: str, iterations: int) -> tuple[float, float]:
    """(wall time per step of the core loop alone, after a 2-step warm-up whose peak training memory is the second
    figure). Without a CLIP the prompts are random contexts of the model's width: speed
    does not depend on what they say."""
    from common import peak_training_bytes
    from concept_sliders.nodes.host import denoiser as denoiser_module
    from concept_sliders.nodes.host import models as host
    from concept_sliders.nodes.host.conditioning import text_conditioning
    from concept_sliders.slider_core.training.configs import PairSliderConfig
    from concept_sliders.slider_core.training.pair_loop import train_pair_slider

    paths = host.slider_target_paths(model, "noxattn", True)
    stems = host.kohya_stems(model, paths)
    with torch.inference_mode(False), torch.enable_grad():
        before = host.latents_to_model_space(model, pairs[0]["samples"].clone())
        after = host.latents_to_model_space(model, pairs[1]["samples"].clone())
        prompt = text_conditioning(clip, "") if clip is not None else random_context(model)
        denoiser = denoiser_module.ComfyDenoiser(model, [prompt, prompt], tuple(before.shape[-2:]))
        peak = peak_training_bytes(lambda: train_pair_slider(
            denoiser, before, after, PairSliderConfig(steps=2, side_batching=batching), paths, stems))
        started = time.perf_counter()
        train_pair_slider(denoiser, before, after, PairSliderConfig(steps=iterations, side_batching=batching),
                          paths, stems)
        return (time.perf_counter() - started) / iterations, peak


def random_context(model: Any) -> list:
    width = model.model.model_config.unet_config["context_dim"]
    return [[torch.randn(1, 77, width, generator=torch.Generator().manual_seed(0)), {}]]


if __name__ == "__main__":
    main()
