"""Text-slider training cost: our default loop vs a reference-faithful configuration of the same loop.

Reference-faithful = what rohitgandikota/sliders does per iteration: a fresh rollout from noise for
K ~ U{1..49} of 50 DDIM steps with CFG and the slider on, then each frozen prediction as its own batch-2 CFG
forward with half thrown away, one direction only. Ours = the defaults of TextSliderConfig. Same UNet (SD1.5 size,
random weights, built by the host from its config), same prompts, same resolution, each configuration in its
own process. Prints UNet forward-equivalents and seconds per iteration, then peak training memory.

Peak memory (common.peak_training_bytes): on a GPU, torch.cuda.max_memory_allocated. On the CPU there is no allocator statistic,
and process RSS (what earlier versions printed) measures glibc's arenas, not tensors: it rose and fell with
iteration counts and with the machine's other jobs. So on the CPU both configurations run the same number of
iterations (--memory-iterations, the first of ours includes building its latent pool) under torch.profiler's
memory recording, and the peak of the allocator's running total of live tensor bytes above the start is reported:
the CPU equivalent of max_memory_allocated, independent of timing.
Usage: python benchmarks/train.py [--iterations N] [--memory-iterations N] [--resolution PX]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from typing import Any

import torch

REFRESH_PERIOD = 25  # TextSliderConfig.refresh_every
CONFIGS = {
    "ours": {},
    "reference": {"trajectory": "rollout", "trajectory_steps": 50, "trajectory_cfg": 3.0,
                  "frozen_batching": "reference", "bidirectional": False},
}


def run_one(name: str, iterations: int, resolution: int, measure: str) -> dict[str, Any]:
    from common import boot, device_name, peak_training_bytes

    from harness.models import sd15_model

    boot()
    from concept_sliders.nodes.host import denoiser as denoiser_m
    from concept_sliders.nodes.host import models as hostm
    from concept_sliders.slider_core.training import prompts as prompts_m
    from concept_sliders.slider_core.training import text_loop as train
    from concept_sliders.slider_core.training.configs import TextSliderConfig

    model = sd15_model()
    prompts = prompts_m.SliderPrompts("a person", "an old person", "a young person", ["male"])

    def conditioning(text: str) -> list:
        """Random but fixed per prompt: speed does not depend on what the text encoder says."""
        seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
        return [[torch.randn(1, 77, 768, generator=torch.Generator().manual_seed(seed)), {}]]

    latent = resolution // 8
    settings = {"steps": iterations, "latent_size": (latent, latent), "seed": 0, **CONFIGS[name]}
    config = TextSliderConfig(**settings)
    paths = hostm.slider_target_paths(model, "noxattn", True)
    stems = hostm.kohya_stems(model, paths)
    denoiser = denoiser_m.ComfyDenoiser(model, [conditioning(text) for text in prompts.texts()], (latent, latent))

    def run() -> Any:
        with torch.inference_mode(False), torch.enable_grad():
            return train.train_text_slider(denoiser, prompts, config, paths, stems)

    if measure == "memory":
        return {"peak_memory_mb": peak_training_bytes(run) / 2**20, "device": device_name()}
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    return {"seconds_per_iteration": seconds / iterations, "forward_equivalents": result.forward_equivalents,
            "device": device_name()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=6,
                        help="timed iterations of the reference configuration; ours runs a whole refresh period "
                             "(25) so its per-iteration figures include the amortised latent generation")
    parser.add_argument("--memory-iterations", type=int, default=2, help="iterations of each under the memory probe")
    parser.add_argument("--resolution", type=int, default=0, help="pixels; default 512 on GPU, 128 on CPU")
    parser.add_argument("--only", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--measure", choices=("time", "memory"), default="time", help=argparse.SUPPRESS)
    args = parser.parse_args()
    resolution = args.resolution or (512 if torch.cuda.is_available() else 128)
    if args.only:
        print(json.dumps(run_one(args.only, args.iterations, resolution, args.measure)))
        return

    def measured(name: str, iterations: int, measure: str) -> dict[str, Any]:
        command = [sys.executable, __file__, "--only", name, "--iterations", str(iterations),
                   "--resolution", str(resolution), "--measure", measure]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return json.loads(output.strip().splitlines()[-1])

    from common import report

    timed = {name: measured(name, args.iterations if name == "reference" else max(args.iterations, REFRESH_PERIOD),
                            "time") for name in CONFIGS}
    print(f"device: {timed['ours']['device']}; SD1.5-size UNet, {resolution}px")
    ours, reference = timed["ours"], timed["reference"]
    report("train: UNet forward-equivalents per iteration", ours["forward_equivalents"],
           reference["forward_equivalents"], "fwd")
    report("train: seconds per iteration", ours["seconds_per_iteration"], reference["seconds_per_iteration"], "s")
    memory = {name: measured(name, args.memory_iterations, "memory") for name in CONFIGS}
    report(f"train: peak training memory ({args.memory_iterations} iterations each)", memory["ours"]["peak_memory_mb"],
           memory["reference"]["peak_memory_mb"], "MiB")


if __name__ == "__main__":
    main()
