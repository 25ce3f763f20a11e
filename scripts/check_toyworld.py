"""Check that a shipped toy-world model obeys its prompts, through the host's own text encoding and sampler.

For each prompt pair the attribute it names must separate clearly while the others stay put (except those the
world entangles with it by design); "" and the world's neutral prompt ("a blob", "a shape") must spread over the
whole world (not much narrower than its training scenes). The pairs are the world's data
(slider_core/toyworld/worlds.py). Exits non-zero if a check fails.

    .venv/bin/python scripts/check_toyworld.py [--world blobs|shapes] [--seeds 16] [--steps 20] [--cfg 4]
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from harness.host import Host

SEPARATION = 3.0  # required mean gap, in pooled per-seed standard deviations
STAY_PUT = 1.5  # largest gap allowed in an attribute the pair does not name (nor entangles), same units
# A spread prompt collapses an attribute when its samples spread less than this fraction of the training scenes'
# spread. A small model sampled in 20 Euler steps under-disperses (both blob weight files give brightness about
# 0.4-0.5 even unconditionally) without collapsing; a prompt that has lost an attribute gives near 0.
COLLAPSE = 0.4


def sample(model: Any, clip: Any, prompt: str, seeds: int, steps: int, cfg: float, size: int = 16) -> Any:
    """KSampler's path (comfy.sample) for `seeds` latents size x size of `prompt`, "" as the negative prompt."""
    import comfy.sample
    import torch

    def encode(text: str) -> list[Any]:
        cond, pooled = clip.encode_from_tokens(clip.tokenize(text), return_pooled=True)
        return [[cond, {"pooled_output": pooled}]]

    latent = torch.zeros(seeds, 4, size, size)
    noise = comfy.sample.prepare_noise(latent, 0)
    return comfy.sample.sample(model, noise, steps, cfg, "euler", "normal", encode(prompt), encode(""), latent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", default="blobs", help="which world's weights and prompts: blobs or shapes")
    parser.add_argument("--weights", help="check this weight file instead of the world's shipped one")
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=4.0)
    args = parser.parse_args()
    print(f"ComfyUI: {Host().path}")
    import torch
    from concept_sliders.nodes.host.toyworld import load_toyworld
    from concept_sliders.slider_core.toyworld import worlds

    world = worlds.get(args.world)
    pairs, spread = world.prompts.CHECK_PAIRS, world.prompts.SPREAD_PROMPTS
    with torch.inference_mode():  # as the host's executor runs nodes
        model, clip = load_toyworld(args.weights or world.weights_file)
        prompts = [*spread, *(p for pair in pairs for p in pair[1:])]
        measured = {prompt: world.metrics.measure(sample(model, clip, prompt, args.seeds, args.steps, args.cfg,
                                                         world.latent_size))
                    for prompt in dict.fromkeys(prompts)}
    names = list(next(iter(measured.values())))
    width = max(len(repr(prompt)) for prompt in measured) + 1
    print(f"{'prompt':{width}s}" + "".join(f"{name:>16s}" for name in names))
    for prompt, values in measured.items():
        print(f"{prompt!r:{width}s}" + "".join(f"{v.mean():8.3f} ±{v.std():5.3f}" for v in values.values()))

    failures = []
    for attribute, low, high in pairs:
        dragged = world.prompts.ENTANGLED.get(attribute, ())
        for name in names:
            a, b = measured[low][name], measured[high][name]
            gap = (b.mean() - a.mean()) / (0.5 * (a.var() + b.var())).sqrt().clamp(min=1e-8)
            print(f"{low!r} -> {high!r}: {name} moves {gap:+.1f} sd" + (" (entangled)" if name in dragged else ""))
            if name == attribute and gap < SEPARATION:
                failures.append(f"{attribute} separates by only {gap:.1f} sd between {low!r} and {high!r}")
            if name != attribute and name not in dragged and abs(gap) > STAY_PUT:
                failures.append(f"{low!r} -> {high!r} also moves {name} by {gap:+.1f} sd")
    reference = world.measured_training_scenes()
    for prompt in spread:
        for name in world.prompts.SPREAD_ATTRIBUTES:
            ratio = measured[prompt][name].std() / reference[name].std()
            print(f"{prompt!r}: {name} spread {ratio:.2f} of the training scenes'")
            if ratio < COLLAPSE:
                failures.append(f"{prompt!r} collapses {name} (spread {ratio:.2f} of the training scenes')")
    print("\n".join(failures) or "all checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
