"""Check that the shipped toy-world model obeys its prompts, through the host's own text encoding and sampler.

For each prompt pair the attribute it names must separate clearly while the others stay put; "" and "a blob"
must spread over the whole world. Exits non-zero if a check fails.

    .venv/bin/python scripts/check_toyworld.py [--seeds 16] [--steps 20] [--cfg 4]
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from train_toyworld import boot_host

PAIRS = (  # (attribute the pair moves, low prompt, high prompt)
    ("size", "a small blob", "a large blob"),
    ("red", "a blue blob", "a red blob"),
    ("x", "a blob on the left", "a blob on the right"),
    ("brightness", "a dim blob", "a bright blob"),
)
SPREAD = ("", "a blob")
SEPARATION = 3.0  # required mean gap, in pooled per-seed standard deviations


def sample(model: Any, clip: Any, prompt: str, seeds: int, steps: int, cfg: float) -> Any:
    """KSampler's path (comfy.sample) for `seeds` 128x128 images of `prompt`, "" as the negative prompt."""
    import comfy.sample
    import torch

    def encode(text: str) -> list[Any]:
        cond, pooled = clip.encode_from_tokens(clip.tokenize(text), return_pooled=True)
        return [[cond, {"pooled_output": pooled}]]

    latent = torch.zeros(seeds, 4, 16, 16)
    noise = comfy.sample.prepare_noise(latent, 0)
    return comfy.sample.sample(model, noise, steps, cfg, "euler", "normal", encode(prompt), encode(""), latent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=4.0)
    args = parser.parse_args()
    print(f"ComfyUI: {boot_host()}")
    import torch
    from concept_sliders.nodes.toyworld import load_toyworld
    from concept_sliders.slider_core.toyworld import metrics

    with torch.inference_mode():  # as the host's executor runs nodes
        model, clip = load_toyworld()
        measured = {prompt: metrics.measure(sample(model, clip, prompt, args.seeds, args.steps, args.cfg))
                    for prompt in {p for pair in PAIRS for p in pair[1:]} | set(SPREAD)}
    names = list(next(iter(measured.values())))
    print(f"{'prompt':22s}" + "".join(f"{name:>16s}" for name in names))
    for prompt, values in measured.items():
        print(f"{prompt!r:22s}" + "".join(f"{v.mean():8.3f} ±{v.std():5.3f}" for v in values.values()))

    failures = []
    for attribute, low, high in PAIRS:
        for name in names:
            a, b = measured[low][name], measured[high][name]
            gap = (b.mean() - a.mean()) / (0.5 * (a.var() + b.var())).sqrt()
            print(f"{low!r} -> {high!r}: {name} moves {gap:+.1f} sd")
            if name == attribute and gap < SEPARATION:
                failures.append(f"{attribute} separates by only {gap:.1f} sd between {low!r} and {high!r}")
    for prompt in SPREAD:
        for name in ("size", "x", "brightness"):
            if measured[prompt][name].std() < 0.5 * measured["a blob"][name].std():
                failures.append(f"{prompt!r} collapses {name}")
    print("\n".join(failures) or "all checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
