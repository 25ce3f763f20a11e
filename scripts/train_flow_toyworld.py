"""Train the toy flow world's transformer (FLUX.1-schnell layout) on the blob world's scenes, through the host.

Rectified flow as FLUX trains: x_t = (1 − σ)·x₀ + σ·n from the host's own `noise_scaling`, the velocity n − x₀
regressed through the host's `apply_model` (which returns x₀ = x_t − σ·v, so the loss is ‖(x₀ − x̂₀)/σ‖²), σ drawn
logit-normal (SD3's choice: most of the work is at mid noise). The blob world's text encoder is frozen and shared;
a tenth of the captions are dropped to "" so classifier-free guidance has an unconditional model. The training
scenes are the blob world's (size entangled with colour). Seeded and CPU-only; needs a host with the FLUX family
(ComfyUI 0.3 or newer):

    COMFYUI_PATH=.host/comfyui-0.33.0 .venv/bin/python scripts/train_flow_toyworld.py [--steps N] [--seed S]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.dit_models import seeded_init
from harness.host import Host

CAPTION_DROPOUT = 0.1
MIN_SIGMA = 0.02  # the velocity loss divides by σ; below this the target is pure data and the weight explodes


def train(steps: int, batch: int, seed: int, lr: float, ema: float, out: Path | None = None) -> dict[str, Any]:
    import safetensors.torch
    import torch
    from concept_sliders.nodes.host import shims, toyworld
    from concept_sliders.slider_core.toyworld import flow, worlds
    from concept_sliders.slider_core.toyworld.base_training import BaseModelTrainer

    world = worlds.get("blobs")
    scenes = world.scenes
    torch.manual_seed(seed)
    base = toyworld.flow_model(flow.DIT_CONFIG)
    seeded_init(base, seed)  # covers the RMSNorm scales and raw tables a DiT has beside its layers
    base.diffusion_model.requires_grad_(True)  # the host builds inference models frozen
    _, clip = toyworld.load_toyworld()
    with torch.no_grad():
        encoded = {caption: clip.encode_from_tokens(clip.tokenize(caption), return_pooled=True)
                   for caption in [*scenes.all_captions(), ""]}
    sampling = base.model_sampling
    trainer = BaseModelTrainer(base.diffusion_model.parameters(), steps, lr, ema)
    generator = torch.Generator().manual_seed(seed)
    with shims.training_switches(), shims.autograd_safe_residuals(True):
        for step in range(steps):
            batch_scenes = world.training_scenes(batch, generator)
            clean = base.process_latent_in(scenes.render(batch_scenes))
            captions = scenes.sample_captions(batch_scenes, generator)
            dropped = torch.rand(batch, generator=generator) < CAPTION_DROPOUT
            captions = ["" if drop else caption for caption, drop in zip(captions, dropped.tolist(), strict=True)]
            context = torch.cat([encoded[caption][0] for caption in captions])
            pooled = torch.cat([encoded[caption][1] for caption in captions])
            sigma = torch.sigmoid(torch.randn(batch, generator=generator)).clamp(MIN_SIGMA, 1.0)
            noise = torch.randn(clean.shape, generator=generator)
            noisy = sampling.noise_scaling(sigma, noise, clean)
            denoised = base.apply_model(noisy, sigma, c_crossattn=context, y=pooled)
            loss = ((denoised - clean) / sigma.view(-1, 1, 1, 1)).pow(2).mean()
            trainer.step(step, loss)
    trainer.finish()

    seconds = trainer.seconds()
    report = {"world": "toyflow", "seed": seed, "steps": steps, "batch": batch, "lr": lr, "ema": ema,
              "seconds": round(seconds, 1), "final_loss": round(trainer.running_loss, 5), "torch": torch.__version__}
    path = out or flow.WEIGHTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(flow.pack_state_dict(base.diffusion_model.state_dict()), str(path),
                                metadata={"dit_config": json.dumps(flow.DIT_CONFIG), "training": json.dumps(report)})
    return report | {"bytes": path.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--ema", type=float, default=0.998)
    parser.add_argument("--out", type=Path, help="write the weights here instead of the shipped file")
    args = parser.parse_args()
    print(f"ComfyUI: {Host().path}")
    print(json.dumps(train(args.steps, args.batch, args.seed, args.lr, args.ema, args.out)))


if __name__ == "__main__":
    main()
