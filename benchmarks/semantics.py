"""The semantic figures of tests/test_semantics.py, measured in the toy world and printed one per line.

Same sliders, sweeps and maths as the tests (harness/experiments.py, slider_core/evaluation.py): sliders
trained by Train Slider From Prompts (200 steps), swept −2…2 on --seeds seeds sharing noise across strengths.
- efficacy: size change from −2 to +2 against the size spread across seeds at strength 0 (ratio = effect), and
  the median per-seed Spearman ρ against a perfectly monotone 1.
- locality: each other attribute's effect against the size effect (ratio = locality ratio).
- preservation: the size slider's colour leak (largest colour-share locality ratio) preserving the three colours
  against the same slider without preservation ("a large blob" ↔ "a small blob").
- composition: each slider's change of its attribute with the other slider chained on at +1, against alone.
- the stricter yardstick of issue 17 beside them: pooled ρ over every (strength, seed) sample, and locality and
  leak as the mean absolute deviation from strength 0 in spreads (evaluation.SweepEffect.pooled_rho, .deviation).

Then issue 17's bars as a table, per world (slider_core/toyworld/worlds.py: blobs and shapes): every text slider
of the world at Train Slider From Prompts' node defaults, trained from --train-seeds seeds and swept −2…2
(harness/world_sliders.py, as scripts/world_report.py measures), mean and worst seed of the pooled ρ, the change
−2→+2 in seed spreads, and the largest leak (deviation from strength 0 into any other attribute, over the target's),
each against its bar, beside the largest change the world's data allows (data_ranges); then the world's
preservation check (its PRESERVATION_CHECK slider trained without
preservation: the leak into the entangled attributes must at least halve with it).
Usage: python benchmarks/semantics.py [--seeds N] [--only figures|bars] [--worlds blobs shapes] [--train-seeds 3]
Figures about 10 minutes on two CPU cores; bars about a minute and a half per slider and training seed (25
minutes per world at 3 training seeds).
"""
from __future__ import annotations

import argparse
from typing import Any

import numpy as np

STRENGTHS = [-2.0, -1.0, 0.0, 1.0, 2.0]
# issue 17's "done when" for text sliders at node defaults, mean over training seeds
RHO_BAR = 0.95
CHANGE_BAR = 6.0
LEAK_BAR = 0.10
PRESERVATION_BAR = 0.5  # leak with preservation over the leak without


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--only", choices=("figures", "bars"), help="print only the figures or only the bars")
    parser.add_argument("--worlds", nargs="+", default=["blobs", "shapes"], help="the worlds the bars are taken on")
    parser.add_argument("--train-seeds", type=int, default=3, help="bars: train every slider from seeds 0..N-1")
    args = parser.parse_args()
    from common import boot, device_name

    host = boot()  # loads the pack, which harness.experiments imports
    print(f"device: {device_name()}", flush=True)
    if args.only != "bars":
        print_figures(host, args.seeds)
    if args.only != "figures":
        for world in args.worlds:
            print_bars(host, world, args.seeds, args.train_seeds)


def print_figures(host: Any, seeds: int) -> None:
    from common import report

    from harness import experiments

    evaluation = experiments.evaluation
    world = experiments.ToyWorld.load(host, seeds)
    print(f"toy world, sliders {experiments.TRAIN_STEPS} steps, sweep -2..2 on {seeds} seeds", flush=True)

    size_slider = world.train(experiments.SIZE, experiments.SIZE_COLOURS)
    size = world.effects(size_slider)
    report("efficacy: size change vs spread at strength 0", size["size"].change, size["size"].spread, "width")
    report("efficacy: size median per-seed rho vs monotone", size["size"].rho, 1.0, "")
    report("efficacy: size pooled rho over all (strength, seed) samples vs monotone", size["size"].pooled_rho, 1.0, "")
    for name in evaluation.locality_ratios(size, "size"):
        report(f"locality: {name} effect vs size effect", size[name].effect, size["size"].effect, "spreads")
        report(f"locality (strict): {name} mean |deviation from 0| vs size's", size[name].deviation,
               size["size"].deviation, "spreads")

    unpreserved = world.effects(world.train(experiments.SIZE, experiments.PLAIN))
    report("preservation: size slider colour leak, colours preserved vs none",
           evaluation.leak(size, "size", experiments.COLOURS), evaluation.leak(unpreserved, "size", experiments.COLOURS),
           "x size effect")
    report("preservation (strict): colour deviation leak, colours preserved vs none",
           evaluation.deviation_leak(size, "size", experiments.COLOURS),
           evaluation.deviation_leak(unpreserved, "size", experiments.COLOURS), "x size deviation")

    brightness_slider = world.train(experiments.BRIGHTNESS, experiments.PLAIN)
    brightness = world.effects(brightness_slider)["brightness"]
    size_with = world.composed_effects(size_slider, brightness_slider)["size"]
    brightness_with = world.composed_effects(brightness_slider, size_slider)["brightness"]
    report("composition: size change with brightness at +1 vs alone", size_with.change, size["size"].change, "width")
    report("composition: brightness change with size at +1 vs alone", brightness_with.change, brightness.change,
           "intensity")


def print_bars(host: Any, name: str, seeds: int, train_seeds: int) -> None:
    """One row per text slider of the world: mean [worst seed] of each figure, and whether the mean meets its bar."""
    from concept_sliders.slider_core import evaluation

    from harness.world_sliders import LoadedWorld

    loaded = LoadedWorld.load(host, name)
    settings = loaded.settings()
    print(f"\nbars, world {name}: node defaults, {train_seeds} training seeds, sweep -2..2 on {seeds} seeds; "
          f"mean [worst]; bars rho >= {RHO_BAR}, change >= {CHANGE_BAR}, leak <= {LEAK_BAR}", flush=True)
    print(f"{'slider':<11} {'rho':>15} {'change':>15} {'in-data max':>12} {'worst leak':>15} {'into':>11}  meets")
    data = data_ranges(loaded.world)
    measured = {}
    for attribute, spec in loaded.world.prompts.SLIDERS.items():
        runs = measured[attribute] = [loaded.measure(spec, settings | {"seed": seed}, STRENGTHS, seeds).effects()
                                      for seed in range(train_seeds)]
        rhos = [run[attribute].pooled_rho for run in runs]
        changes = [run[attribute].signed_effect for run in runs]
        leaks = [evaluation.deviation_ratios(run, attribute) for run in runs]
        mean_leaks = {other: float(np.mean([leak[other] for leak in leaks])) for other in leaks[0]}
        into = max(mean_leaks, key=mean_leaks.get)
        worst = [max(leak.values()) for leak in leaks]
        meets = np.mean(rhos) >= RHO_BAR and np.mean(changes) >= CHANGE_BAR and mean_leaks[into] <= LEAK_BAR
        in_data = np.mean([data[attribute] / max(run[attribute].spread, 1e-8) for run in runs])
        print(f"{attribute:<11} {np.mean(rhos):>6.3f} [{min(rhos):.3f}] {np.mean(changes):>6.2f} [{min(changes):.2f}] "
              f"{in_data:>12.2f} {mean_leaks[into]:>6.3f} [{max(worst):.3f}] {into:>11}  {'yes' if meets else 'no'}",
              flush=True)

    slider, dragged, plain = loaded.world.prompts.PRESERVATION_CHECK
    unpreserved = dict(loaded.world.prompts.SLIDERS[slider], preserve=plain)
    with_preservation = [evaluation.deviation_leak(run, slider, dragged) for run in measured[slider]]
    without = [evaluation.deviation_leak(loaded.measure(unpreserved, settings | {"seed": seed}, STRENGTHS,
                                                        seeds).effects(), slider, dragged)
               for seed in range(train_seeds)]
    ratio = np.mean(with_preservation) / max(np.mean(without), 1e-8)
    print(f"preservation ({slider} slider, leak into {', '.join(dragged)}): {np.mean(with_preservation):.3f} "
          f"preserved, {np.mean(without):.3f} without, ratio {ratio:.2f} (bar <= {PRESERVATION_BAR}: "
          f"{'yes' if ratio <= PRESERVATION_BAR else 'no'})", flush=True)


def data_ranges(world: Any) -> dict[str, float]:
    """Each attribute's span over the base model's training scenes (1st to 99th percentile of 4096).

    Over the target's seed spread at strength 0 this is the largest change a slider can make without leaving the
    data (the "in-data max" column): where it is under the change bar, meeting the bar means extrapolating past
    anything the base model was shown, which is where objects vanish or break up.
    """
    measured = world.measured_training_scenes()
    return {name: float(values.quantile(0.99) - values.quantile(0.01)) for name, values in measured.items()}


if __name__ == "__main__":
    main()
