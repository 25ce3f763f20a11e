"""Measure one text slider per attribute of a toy world, trained at Train Slider From Prompts' node defaults
(with --pairs N: one image-pair slider per pair attribute, Train Slider From Image Pairs on N pairs).

For every slider in the world's SLIDERS (slider_core/toyworld/worlds.py): train it in the real host with the
node's own INPUT_TYPES defaults (only the resolution is set, to the world's latent size; --set NAME=VALUE
overrides any widget for an ablation), sweep it with Slider Sweep (20 Euler steps, CFG 4, the world's
neutral prompt against "", seeds sharing their noise across strengths) and print:

- rho: Spearman ρ of the target attribute against strength, pooled over all (strength, seed) samples;
- change: the target's mean change from the lowest to the highest strength, in its seed spread at strength 0;
- leak into each other attribute: its displacement (mean over seeds of the mean |value(s) − value(0)| over the
  strengths s ≠ 0, in its own seed spread at 0) over the target's displacement; 0 is a perfectly local slider;
  and below it, how much of that leak is drift (the seeds' mean pulled one way, which preservation can remove)
  rather than each seed's sample re-rolled (evaluation.drift_ratios);
- mono: the fraction of seeds along which the target moves monotonically with strength;
- shown: the fraction of samples at the most extreme strengths (lowest and highest) that still show an object
  (World.visible), since a size slider can "shrink" by erasing;
- the training seconds.
With --prompt-edits the base model's own edit of each attribute by prompt is measured the same way (its low,
neutral and high prompts on the same seeds as a −1, 0, +1 sweep): what a slider copying its prompt difference
would leak. --train-seeds 0 prints only that.
The training and sweeping are harness/world_sliders.py's and the maths slider_core/evaluation.py's (pooled_rho,
deviation), as benchmarks/semantics.py's, so the two report the same figures.

With --train-seeds N every slider is trained from the training seeds 0…N−1 (the node's `seed`: initialisation,
noise and timesteps) and swept on the same sampling seeds; each figure is then given as its mean over the
training seeds and its worst seed (lowest ρ and change, highest leak), because one lucky seed proves nothing
about the default a user gets.

A measurement, not a test: nothing here passes or fails. About a minute and a half per slider on two CPU cores.

    .venv/bin/python scripts/world_report.py --world shapes [--attributes x y] [--strengths -2,-1,0,1,2]
        [--seeds 16] [--train-seeds 3] [--set guidance=2 --set steps=1000 ...] [--means] [--grids DIR] [--json FILE]
        [--prompt-edits] [--pairs 6]
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.host import Host


@dataclass
class SliderReport:
    attribute: str
    train_seed: int
    rho: float
    change: float  # target change lowest → highest strength, in seed spreads at 0
    leaks: dict[str, float]  # other attribute → its displacement / the target's
    drifts: dict[str, float]  # other attribute → the systematic part of that leak (evaluation.drift_ratios)
    monotone: float  # fraction of seeds whose target is monotone in the strength
    shown: float  # fraction of the samples at the lowest and highest strengths that still show an object
    train_seconds: float
    means: dict[str, list[float]]  # attribute → mean per strength
    target_range: list[tuple[float, float]]  # the target's (min, max) over seeds per strength


def apply_overrides(settings: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs onto the node defaults, each value parsed as its default's type (true/false for booleans)."""
    changed = dict(settings)
    for item in overrides:
        name, _, text = item.partition("=")
        if name not in settings:
            raise SystemExit(f"--set {item}: no widget {name!r}; the training node has {sorted(settings)}")
        default = settings[name]
        if isinstance(default, bool):
            if text.lower() not in ("true", "false"):
                raise SystemExit(f"--set {item}: {name} is a boolean, give true or false")
            changed[name] = text.lower() == "true"
        else:
            try:
                changed[name] = type(default)(text)
            except ValueError:
                raise SystemExit(f"--set {item}: {name} takes {type(default).__name__} values "
                                 f"(its default is {default!r})") from None
    return changed


def report(attribute: str, train_seed: int, sweep: Any, present: torch.Tensor) -> SliderReport:
    """The numbers of one slider's sweep (harness.world_sliders.Sweep); `present` (strengths, seeds) says whether
    each sample shows an object."""
    from concept_sliders.slider_core import evaluation

    effects = sweep.effects()
    own = effects[attribute]
    leaks = evaluation.deviation_ratios(effects, attribute)
    strengths = sweep.strengths
    low, high = int(np.argmin(strengths)), int(np.argmax(strengths))
    target = sweep.table[attribute].double().numpy()
    steps = np.diff(target, axis=0) * np.sign(high - low)
    monotone = float(((steps >= 0).all(axis=0)).mean())
    means = {name: [float(v) for v in value.double().mean(dim=1)] for name, value in sweep.table.items()}
    extremes = [(float(row.min()), float(row.max())) for row in target]
    shown = float(present[[low, high]].float().mean())
    return SliderReport(attribute, train_seed, own.pooled_rho, own.signed_effect, leaks,
                        evaluation.drift_ratios(effects, attribute), monotone,
                        shown, sweep.train_seconds, means, extremes)


def print_reports(world: str, reports: list[SliderReport], strengths: list[float], show_means: bool) -> None:
    names = list(reports[0].means)
    print(f"\nworld {world}: sweeps {', '.join(f'{s:g}' for s in strengths)}; leak = other attribute's "
          f"displacement / the target's")
    header = (f"{'slider':<11} {'seed':>5} {'rho':>6} {'change':>7} {'mono':>5} {'shown':>5} {'train s':>8}  "
              + " ".join(f"{name:>10}" for name in names))
    print(header)
    print("-" * len(header))
    for item in reports:
        cells = " ".join(f"{'—' if name == item.attribute else f'{item.leaks[name]:.3f}':>10}" for name in names)
        print(f"{item.attribute:<11} {item.train_seed:>5} {item.rho:>+6.3f} {item.change:>+7.2f} {item.monotone:>5.2f} "
              f"{item.shown:>5.2f} "
              f"{item.train_seconds:>8.1f}  {cells}")
        drifts = " ".join(f"{'—' if name == item.attribute else f'{item.drifts[name]:.3f}':>10}" for name in names)
        print(f"{'  of it drift':<55}{drifts}")
    if len({item.train_seed for item in reports}) > 1:
        print_seed_summary(reports, names)
    if show_means:
        for item in reports:
            print(f"\n{item.attribute} slider: mean per strength")
            for name, means in item.means.items():
                print(f"  {name:<11} " + " ".join(f"{m:7.3f}" for m in means))
            print(f"  {'(min, max)':<11} " + " ".join(f"{low:.3f}-{high:.3f}" for low, high in item.target_range))


def print_seed_summary(reports: list[SliderReport], names: list[str]) -> None:
    """Each slider's figures over its training seeds: the mean, and the worst seed's in brackets."""
    print("\nover training seeds: mean [worst]")
    header = (f"{'slider':<11} {'seeds':>5} {'rho':>14} {'change':>14} {'shown':>12} "
              + " ".join(f"{name:>14}" for name in names))
    print(header)
    print("-" * len(header))
    for attribute in dict.fromkeys(item.attribute for item in reports):
        runs = [item for item in reports if item.attribute == attribute]
        rhos, changes, shown = [r.rho for r in runs], [r.change for r in runs], [r.shown for r in runs]
        cells = []
        for name in names:
            if name == attribute:
                cells.append(f"{'—':>14}")
                continue
            leaks = [r.leaks[name] for r in runs]
            cells.append(f"{np.mean(leaks):>6.3f} [{max(leaks):.3f}]")
        print(f"{attribute:<11} {len(runs):>5} {np.mean(rhos):>+6.3f} [{min(rhos):+.3f}] "
              f"{np.mean(changes):>+6.2f} [{min(changes):+.2f}] {np.mean(shown):>5.2f} [{min(shown):.2f}] "
              + " ".join(cells))


def print_prompt_edits(loaded: Any, attributes: list[str], seeds: int) -> None:
    """The base model's low, neutral and high prompts per attribute (LoadedWorld.prompt_edit) as a −1, 0, +1 sweep:
    the leaks a slider that copied its prompt difference exactly would show."""
    from concept_sliders.slider_core import evaluation

    print(f"\nprompt edits (low, neutral, high prompt on {seeds} seeds as strengths -1, 0, 1)")
    for attribute in attributes:
        effects = loaded.prompt_edit(attribute, seeds)
        leaks = evaluation.deviation_ratios(effects, attribute)
        drifts = evaluation.drift_ratios(effects, attribute)
        print(f"{attribute:<11} rho {effects[attribute].pooled_rho:+.3f} change {effects[attribute].signed_effect:+.2f}  "
              + " ".join(f"{name} {value:.3f} (drift {drifts[name]:.3f})" for name, value in leaks.items()),
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", default="blobs", help="blobs or shapes")
    parser.add_argument("--attributes", nargs="*", help="which of the world's sliders (default: all)")
    parser.add_argument("--strengths", default="-2,-1,0,1,2", help="comma-separated, must include 0")
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--train-seeds", type=int, default=1, help="train each slider from seeds 0..N-1")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override one of the node's widget defaults (repeatable)")
    parser.add_argument("--means", action="store_true", help="also print every attribute's mean per strength")
    parser.add_argument("--grids", type=Path, help="save each sweep's decoded grid as DIR/<world>_<attribute>.png")
    parser.add_argument("--json", type=Path, help="write the reports as JSON")
    parser.add_argument("--pairs", type=int, default=0, metavar="N",
                        help="measure image-pair sliders instead: Train Slider From Image Pairs on N of the world's "
                             "pairs per pair attribute (a new pair set per training seed), its learning rate at the "
                             "toy equivalent; --set then overrides that node's widgets")
    parser.add_argument("--prompt-edits", action="store_true",
                        help="also print the base model's own prompt edit of each attribute, measured the same way")
    args = parser.parse_args()
    strengths = [float(value) for value in args.strengths.split(",")]
    if 0.0 not in strengths:
        parser.error("--strengths must include 0 (spreads and displacements are measured from it)")

    host = Host()
    print(f"ComfyUI host: {host.path}", flush=True)
    from harness.world_sliders import LoadedWorld

    loaded = LoadedWorld.load(host, args.world)
    world = loaded.world
    settings = apply_overrides(loaded.toy_pair_settings() if args.pairs else loaded.settings(), args.set)
    print(f"training settings: {settings}", flush=True)
    reports = []
    for attribute in args.attributes or list(world.pair_attributes if args.pairs else world.prompts.SLIDERS):
        for train_seed in range(args.train_seeds):
            if args.pairs:
                sweep = loaded.measure_pairs(attribute, args.pairs, train_seed, strengths, args.seeds, settings)
                title = f"{world.name}: {attribute} from {args.pairs} image pairs"
            else:
                spec = world.prompts.SLIDERS[attribute]
                sweep = loaded.measure(spec, settings | {"seed": train_seed}, strengths, args.seeds)
                title = f"{world.name}: {spec['negative']} <-> {spec['positive']}"
            reports.append(report(attribute, train_seed, sweep, world.visible(sweep.table["size"])))
            print(f"{attribute} (training seed {train_seed}): rho {reports[-1].rho:+.3f}, "
                  f"change {reports[-1].change:+.2f} sd, shown {reports[-1].shown:.2f}, "
                  f"trained in {sweep.train_seconds:.0f} s", flush=True)
            if args.grids:
                save_grid(host, world.scenes.latent_to_image(sweep.samples), strengths,
                          args.grids / f"{world.name}_{attribute}_seed{train_seed}.png", title)
    if reports:
        print_reports(world.name, reports, strengths, args.means)
    if args.prompt_edits:
        print_prompt_edits(loaded, args.attributes or list(world.prompts.SLIDERS), args.seeds)
    if args.json:
        args.json.write_text(json.dumps({"world": world.name, "strengths": strengths, "settings": settings,
                                         "reports": [asdict(item) for item in reports]}, indent=2))


def save_grid(host: Host, images: torch.Tensor, strengths: list[float], path: Path, title: str) -> None:
    from PIL import Image

    grid = host.node("ConceptSlidersSweepGrid").grid(images, ", ".join(map(str, strengths)), title)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((grid[0].clamp(0, 1).numpy() * 255).round().astype(np.uint8)).save(path)


if __name__ == "__main__":
    main()
