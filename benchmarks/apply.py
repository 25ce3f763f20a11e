"""Changing a slider's strength and re-sampling, ours vs ComfyUI's own LoraLoaderModelOnly on the same file.

SD1.5-size UNet from its config with random weights, a rank-4 noxattn+conv slider (the reference's default
network), one sampling step per strength change at 256×256 px (CPU) or 512×512 (GPU). Also the per-step
overhead of a scheduled slider (start/end percent, low-rank branches) against the same slider as a weight patch.
Usage: python benchmarks/apply.py [--changes N]
"""
from __future__ import annotations

import argparse
import shutil

import torch
from common import Timer, boot, device_name, report

from harness.models import sd15_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=4, help="strength changes timed per variant")
    parser.add_argument("--steps", type=int, default=6, help="sampling steps for the per-step overhead figure")
    args = parser.parse_args()
    host = boot()
    import comfy.model_management
    import comfy.sample
    from concept_sliders.slider_core.io import slider_files as formats

    from harness.sliders import random_slider

    on_gpu = torch.cuda.is_available()
    size = 64 if on_gpu else 32
    print(f"device: {device_name()}; SD1.5-size UNet, latents {size}x{size}", flush=True)
    model = sd15_model()
    slider = random_slider(model, rank=4, magnitude=0.05, name="bench")
    path = formats.save_slider(slider, host.sliders_dir / "bench.safetensors")
    shutil.copy(path, host.loras_dir / "bench.safetensors")
    loaded, _ = host.node("ConceptSlidersLoad").load("bench.safetensors")
    context = torch.randn(1, 77, 768, generator=torch.Generator().manual_seed(0))
    positive = [[context, {}]]
    latent = torch.zeros(1, 4, size, size)
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(1))

    def sample(patcher, steps: int = 1) -> torch.Tensor:
        return comfy.sample.sample(patcher, noise, steps, 1.0, "euler", "normal", positive, positive, latent,
                                   disable_pbar=True, seed=1)

    native_loader = host.node("LoraLoaderModelOnly")
    strength_node = host.node("ConceptSlidersStrength")
    variants = {
        "native": lambda s: native_loader.load_lora_model_only(model, "bench.safetensors", s)[0],
        "ours": lambda s: strength_node.apply(model, loaded, s, 0.0, 1.0)[0],
    }
    sample(model)  # warm-up: first load of the UNet
    times = {name: 0.0 for name in variants}
    strengths = [0.5 + 0.25 * i for i in range(args.changes)]
    for strength in strengths:
        for name, make in variants.items():
            with Timer() as timer:
                sample(make(strength))
            times[name] += timer.seconds
    report("apply: change strength + sample 1 step (s per change)", times["ours"] / len(strengths),
           times["native"] / len(strengths), "s")

    patched = strength_node.apply(model, loaded, 1.0, 0.0, 1.0)[0]
    scheduled = strength_node.apply(model, loaded, 1.0, 0.0, 0.9999)[0]
    per_step = {}
    for name, patcher in (("patched", patched), ("scheduled", scheduled)):
        sample(patcher, 1)  # loads (and for "patched", patches) outside the timing
        with Timer() as timer:
            sample(patcher, args.steps)
        per_step[name] = timer.seconds / args.steps
    report("apply: scheduled slider, sampling time per step (s)", per_step["scheduled"], per_step["patched"], "s")
    comfy.model_management.unload_all_models()


if __name__ == "__main__":
    main()
