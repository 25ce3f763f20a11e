"""Text-slider training cost: our default loop vs a reference-faithful configuration of the same loop.

Reference-faithful = what rohitgandikota/sliders does per iteration: a fresh rollout from noise for
K ~ U{1..49} of 50 DDIM steps with CFG and the slider on, then each frozen prediction as its own batch-2 CFG
forward with half thrown away, one direction only. Ours = the defaults of TrainConfig. Same UNet (SD1.5 size,
random weights, built by the host from its config), same prompts, same resolution, each configuration in its
own process so peak memory is comparable. Prints UNet forward-equivalents, seconds and peak memory per iteration.
Usage: python benchmarks/train.py [--iterations N] [--resolution PX]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time

import torch

REFRESH_PERIOD = 25  # TrainConfig.refresh_every
CONFIGS = {
    "ours": {},
    "reference": {"trajectory": "rollout", "trajectory_steps": 50, "trajectory_cfg": 3.0,
                  "frozen_batching": "reference", "bidirectional": False},
}


def run_one(name: str, iterations: int, resolution: int) -> dict[str, float]:
    from common import boot, device_name, sd15_model

    host = boot()
    import importlib

    hostm = importlib.import_module("concept_sliders.nodes.host")
    denoiser_m = importlib.import_module("concept_sliders.nodes.host_denoiser")
    train = importlib.import_module("concept_sliders.slider_core.train")
    prompts_m = importlib.import_module("concept_sliders.slider_core.prompts")
    del host
    model = sd15_model()
    prompts = prompts_m.SliderPrompts("a person", "an old person", "a young person", ["male"])

    def encode(text: str) -> tuple[torch.Tensor, None]:
        """Random but fixed per prompt: speed does not depend on what the text encoder says."""
        seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
        return torch.randn(1, 77, 768, generator=torch.Generator().manual_seed(seed)), None

    latent = resolution // 8
    settings = {"steps": iterations, "latent_size": (latent, latent), "seed": 0, **CONFIGS[name]}
    config = train.TrainConfig(**settings)
    paths = hostm.slider_target_paths(model, "noxattn", True)
    stems = hostm.kohya_stems(model, paths)
    cuda = torch.cuda.is_available()
    with torch.inference_mode(False), torch.enable_grad():
        denoiser = denoiser_m.ComfyDenoiser(model, encode, prompts.texts(), (resolution, resolution))
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = train.train_text_slider(denoiser, prompts, config, paths, stems)
        seconds = time.perf_counter() - started
    peak = (torch.cuda.max_memory_allocated() if cuda else
            (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline_rss) * 1024)
    return {"seconds_per_iteration": seconds / iterations, "forward_equivalents": result.forward_equivalents,
            "peak_memory_mb": peak / 2**20, "device": device_name()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=6,
                        help="iterations of the reference configuration; ours runs a whole refresh period (25) "
                             "so its per-iteration figures include the amortised latent generation")
    parser.add_argument("--resolution", type=int, default=0, help="pixels; default 512 on GPU, 128 on CPU")
    parser.add_argument("--only", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    resolution = args.resolution or (512 if torch.cuda.is_available() else 128)
    if args.only:
        print(json.dumps(run_one(args.only, args.iterations, resolution)))
        return
    results = {}
    for name in CONFIGS:
        iterations = args.iterations if name == "reference" else max(args.iterations, REFRESH_PERIOD)
        command = [sys.executable, __file__, "--only", name, "--iterations", str(iterations),
                   "--resolution", str(resolution)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[name] = json.loads(output.strip().splitlines()[-1])
    from common import report

    print(f"device: {results['ours']['device']}; SD1.5-size UNet, {resolution}px")
    ours, reference = results["ours"], results["reference"]
    report("train: UNet forward-equivalents per iteration", ours["forward_equivalents"],
           reference["forward_equivalents"], "fwd")
    report("train: seconds per iteration", ours["seconds_per_iteration"], reference["seconds_per_iteration"], "s")
    report("train: peak training memory", ours["peak_memory_mb"], reference["peak_memory_mb"], "MiB")


if __name__ == "__main__":
    main()
