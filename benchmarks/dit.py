"""Text-slider training on a FLUX-shaped transformer: our defaults vs a reference-faithful configuration of the
same loop, and the base model stored in fp8 vs bf16.

Reference-faithful = the reference's FLUX notebook per iteration: a fresh partial rollout with the slider on,
each frozen prediction in its own batch-2 forward (half discarded), one direction only, rank 16, lora_up a
frozen orthonormal frame, the target rescaled to the positive prediction's norm. Ours = TextSliderConfig's
defaults (rank 4). Each configuration runs in its own process. Needs ComfyUI 0.3x (COMFYUI_PATH): the FLUX
classes are the host's. On a GPU the model is FLUX.1-dev-sized (random weights, 512 px); on the CPU a narrow
FLUX-shaped one (hidden 256, 2 double + 4 single blocks) at 128 px.
Usage: COMFYUI_PATH=... python benchmarks/dit.py [--iterations N]
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

CONFIGS = {
    "ours": {},
    "reference": {"trajectory": "rollout", "trajectory_steps": 28, "frozen_batching": "reference",
                  "bidirectional": False, "rank": 16, "frozen_up": True, "goal_normalisation": "positive_norm"},
}
CPU_SIZE = dict(hidden_size=256, num_heads=4, depth=2, depth_single_blocks=4, axes_dim=[16, 24, 24],
                context_in_dim=256, vec_in_dim=64)
GPU_SIZE = dict(hidden_size=3072, num_heads=24, depth=19, depth_single_blocks=38, axes_dim=[16, 56, 56],
                context_in_dim=4096, vec_in_dim=768)


def run_one(name: str, iterations: int, dtype: str, measure: str) -> dict[str, Any]:
    from common import boot, device_name, peak_training_bytes

    boot()
    from concept_sliders.nodes.host import models
    from concept_sliders.nodes.host.denoiser import ComfyDenoiser
    from concept_sliders.nodes.host.training import training_mode
    from concept_sliders.slider_core.training.configs import TextSliderConfig
    from concept_sliders.slider_core.training.prompts import SliderPrompts
    from concept_sliders.slider_core.training.text_loop import train_text_slider

    from harness.dit_models import tiny_dit

    on_gpu = torch.cuda.is_available()
    size = GPU_SIZE if on_gpu else CPU_SIZE
    weight_dtype = {"fp8": torch.float8_e4m3fn, "bf16": torch.bfloat16, "fp32": None}[dtype]
    model = tiny_dit("flux1-dev", weight_dtype=weight_dtype, **size)
    prompts = SliderPrompts("a person", "an old person", "a young person", ["male"])

    def conditioning(text: str) -> list:
        """Random but fixed per prompt: cost does not depend on what the text encoder says."""
        generator = torch.Generator().manual_seed(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16))
        return [[torch.randn(1, 64, size["context_in_dim"], generator=generator),
                 {"pooled_output": torch.randn(1, size["vec_in_dim"], generator=generator), "guidance": 3.5}]]

    latent = (512 if on_gpu else 128) // 8
    settings = {"steps": iterations, "latent_size": (latent, latent), "seed": 0, "trajectory_cfg": 1.0,
                **CONFIGS[name]}
    config = TextSliderConfig(**settings)
    paths, rows = models.slider_targets(model, "xattn" if name == "reference" else "noxattn", False)
    stems = models.kohya_stems(model, paths)
    weight_bytes = sum(p.numel() * p.element_size() for p in model.model.diffusion_model.parameters())

    def run() -> Any:
        with training_mode(model, "bf16" if on_gpu else "auto", 1, config.latent_size, config.rank):
            denoiser = ComfyDenoiser(model, [conditioning(text) for text in prompts.texts()], config.latent_size)
            return train_text_slider(denoiser, prompts, config, paths, stems, rows=rows,
                                     recompute_units=models.recompute_units(model))

    if measure == "memory":
        return {"peak_mb": peak_training_bytes(run) / 2**20, "weights_mb": weight_bytes / 2**20,
                "device": device_name()}
    started = time.perf_counter()
    result = run()
    return {"seconds_per_iteration": (time.perf_counter() - started) / iterations,
            "forward_equivalents": result.forward_equivalents, "device": device_name()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--only", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="fp32", help=argparse.SUPPRESS)
    parser.add_argument("--measure", default="time", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        print(json.dumps(run_one(args.only, args.iterations, args.dtype, args.measure)))
        return
    from common import report

    def measured(name: str, iterations: int, dtype: str, measure: str) -> dict[str, Any]:
        command = [sys.executable, __file__, "--only", name, "--iterations", str(iterations), "--dtype", dtype,
                   "--measure", measure]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return json.loads(output.strip().splitlines()[-1])

    timed = {name: measured(name, max(args.iterations, 25) if name == "ours" else args.iterations, "fp32", "time")
             for name in CONFIGS}
    print(f"device: {timed['ours']['device']}; FLUX-shaped transformer")
    report("dit: forward-equivalents per iteration", timed["ours"]["forward_equivalents"],
           timed["reference"]["forward_equivalents"], "fwd")
    report("dit: seconds per iteration", timed["ours"]["seconds_per_iteration"],
           timed["reference"]["seconds_per_iteration"], "s")
    memory = {name: measured(name, 2, "fp32", "memory") for name in CONFIGS}
    report("dit: peak training memory above the weights (2 iterations)", memory["ours"]["peak_mb"],
           memory["reference"]["peak_mb"], "MiB")
    fp8, bf16 = measured("ours", 2, "fp8", "memory"), measured("ours", 2, "bf16", "memory")
    report("dit: base weights, fp8 vs bf16", fp8["weights_mb"], bf16["weights_mb"], "MiB")
    report("dit: peak training memory above the weights, fp8 vs bf16 base", fp8["peak_mb"], bf16["peak_mb"], "MiB")


if __name__ == "__main__":
    main()
