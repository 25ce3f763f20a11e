"""Train the toy world's base model (tiny SD1.x UNet + CLIP text encoder) through the host's own classes.

Standard epsilon-prediction diffusion on rendered scenes, noised with the host's SD1.x sigma schedule, the text
encoder trained jointly; a tenth of the captions are dropped to "" so classifier-free guidance has an
unconditional model. Size and colour are deliberately entangled in the training scenes (large blobs mostly red,
small mostly blue: scenes.entangle_size_and_colour), so preservation concepts have something to remove;
the shapes world ties height to the background instead (slider_core/toyworld/shapes). Seeded and CPU-only;
writes the world's weight file (slider_core/toyworld/worlds.py). About seven minutes on two cores:

    .venv/bin/python scripts/train_toyworld.py [--world blobs|shapes] [--steps N] [--seed S]

Finds ComfyUI at $COMFYUI_PATH, else .host/comfyui (what scripts/setup.sh installs).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.host import Host

OFFSET_NOISE = 0.2  # per-image channel offsets in the noise teach the model to pin each channel's mean exactly


def build(seed: int, unet_config: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(BaseModel, SDClipModel, SD1Tokenizer), freshly initialised from `seed`, float32, trainable."""
    import comfy.model_base
    import comfy.sd1_clip
    import comfy.supported_models
    import torch
    from concept_sliders.slider_core.toyworld import model as toy

    config = comfy.supported_models.SD15(dict(unet_config))
    config.set_inference_dtype(torch.float32, None)
    unet = comfy.model_base.BaseModel(config, device=torch.device("cpu"))
    toy.seeded_init(unet, seed)

    toy.TEXT_CONFIG_FILE.parent.mkdir(parents=True, exist_ok=True)
    toy.TEXT_CONFIG_FILE.write_text(json.dumps(toy.TEXT_CONFIG, indent=2) + "\n")
    with torch.no_grad():  # the 2024 host fills text_projection in place at construction
        wrapper = comfy.sd1_clip.SD1ClipModel(
            device="cpu", dtype=torch.float32, clip_model=comfy.sd1_clip.SDClipModel,
            textmodel_json_config=str(toy.TEXT_CONFIG_FILE),
        )
        text = getattr(wrapper, wrapper.clip)
        toy.seeded_init(text, seed + 1)
        text.transformer.text_projection.weight.copy_(torch.eye(toy.TEXT_CONFIG["hidden_size"]))
    text.requires_grad_(True)  # the host freezes text encoders
    text.transformer.text_projection.requires_grad_(False)  # pooled output stays the plain EOS state
    return unet, text, comfy.sd1_clip.SD1Tokenizer()


def train(world_name: str, steps: int, batch: int, seed: int, lr: float, ema: float,
          out: Path | None = None) -> dict[str, Any]:
    """Train the world's base model and write its weight file (the shipped one unless `out` names another)."""
    import safetensors.torch
    import torch
    from concept_sliders.slider_core.toyworld import model as toy
    from concept_sliders.slider_core.toyworld import worlds
    from concept_sliders.slider_core.toyworld.base_training import BaseModelTrainer

    world = worlds.get(world_name)
    scenes = world.scenes
    torch.manual_seed(seed)
    unet, text, tokenizer = build(seed, world.unet_config)
    tokens = {caption: [token for token, _ in tokenizer.tokenize_with_weights(caption)["l"][0]]
              for caption in scenes.all_captions()}
    sampling = unet.model_sampling
    mean_weight = (1 + sampling.sigmas**2).mean()
    parameters = [p for p in (*unet.parameters(), *text.parameters()) if p.requires_grad]
    trainer = BaseModelTrainer(parameters, steps, lr, ema)
    hooks = toy.clone_layer_norm_inputs(unet) + toy.clone_layer_norm_inputs(text)
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        batch_scenes = world.training_scenes(batch, generator)
        clean = unet.process_latent_in(scenes.render(batch_scenes))
        context = text([tokens[caption] for caption in scenes.sample_captions(batch_scenes, generator)])[0]
        sigma = sampling.sigmas[torch.randint(len(sampling.sigmas), (batch,), generator=generator)]
        noise = torch.randn(clean.shape, generator=generator)
        noise += OFFSET_NOISE * torch.randn(batch, clean.shape[1], 1, 1, generator=generator)
        noisy = clean + noise * sigma.view(-1, 1, 1, 1)
        predicted = unet.diffusion_model(
            sampling.calculate_input(sigma, noisy), sampling.timestep(sigma).float(), context=context
        )
        weight = (1 + sigma**2) / mean_weight
        loss = (weight * (predicted - noise).pow(2).mean(dim=(1, 2, 3))).mean()
        trainer.step(step, loss)
    for hook in hooks:
        hook.remove()
    trainer.finish()

    seconds = trainer.seconds()
    used = sorted({token for ids in tokens.values() for token in ids})
    tensors = toy.pack_state_dict(unet.diffusion_model.state_dict(), text.state_dict(), used)
    report = {"world": world.name, "seed": seed, "steps": steps, "batch": batch, "lr": lr, "ema": ema,
              "seconds": round(seconds, 1), "final_loss": round(trainer.running_loss, 5), "torch": torch.__version__}
    metadata = {"unet_config": json.dumps(world.unet_config), "training": json.dumps(report)}
    path = out or world.weights_file
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(tensors, str(path), metadata=metadata)
    return report | {"bytes": path.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", default="blobs", help="which world to train: blobs or shapes")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--ema", type=float, default=0.998)
    parser.add_argument("--out", type=Path, help="write the weights here instead of the shipped file")
    args = parser.parse_args()
    print(f"ComfyUI: {Host().path}")
    print(json.dumps(train(args.world, args.steps, args.batch, args.seed, args.lr, args.ema, args.out)))


if __name__ == "__main__":
    main()
