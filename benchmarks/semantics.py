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
each against its bar, beside the largest change the world's data allows (data_ranges) and the base model's own
prompt edit's leak into the same attribute ("prompt leak": LoadedWorld.prompt_edit, the low, neutral and high
prompts on the same seeds, which is what the slider is trained to copy); then the world's
preservation check (its PRESERVATION_CHECK slider trained without
preservation: the leak into the entangled attributes must at least halve with it); composition (every text slider
swept with the next one at +1 must keep 80-120 % of its change); and the image-pair sliders (Train Slider From
Image Pairs at its defaults, the learning rate at its toy equivalent, on 6 of the world's pairs per attribute, a
new pair set per training seed) against their bars (ρ ≥ 0.9, change ≥ 3, leak ≤ 0.2).
Usage: python benchmarks/semantics.py [--seeds N] [--only figures|bars] [--worlds blobs shapes] [--train-seeds 3]
Figures about 10 minutes on two CPU cores; bars about a minute and a half per text slider and training seed and
two and a half per pair slider (about 20 and 30 minutes for the two worlds at one training seed, 3× that at three).
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
PAIRS = 6  # image pairs per slider
PAIR_BARS = (0.9, 3.0, 0.2)  # image-pair sliders: rho, change, leak
COMPOSITION_BAR = (0.8, 1.2)  # a slider's change with another applied, over alone


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

    rollout = world.effects(world.train(experiments.SIZE, experiments.SIZE_COLOURS, trajectory="rollout"))["size"]
    report("trajectory: default size effect vs the reference's rollout (fresh 50-step CFG rollouts)",
           size["size"].effect, rollout.effect, "spreads")


def print_bars(host: Any, name: str, seeds: int, train_seeds: int) -> None:
    """Issue 17's bars on one world: text sliders, preservation, composition, image-pair sliders."""
    from harness.world_sliders import LoadedWorld

    loaded = LoadedWorld.load(host, name)
    print(f"\nbars, world {name}: node defaults, {train_seeds} training seeds, sweep -2..2 on {seeds} seeds; "
          f"mean [worst]", flush=True)
    sweeps = print_text_bars(loaded, seeds, train_seeds)
    print_preservation_bar(loaded, sweeps, seeds, train_seeds)
    print_composition_bars(loaded, sweeps, seeds)
    print_pair_bars(loaded, seeds, train_seeds)


def print_header(rho_bar: float, change_bar: float, leak_bar: float, extra: str = "") -> None:
    print(f"bars rho >= {rho_bar}, change >= {change_bar}, leak <= {leak_bar}")
    print(f"{'slider':<11} {'rho':>15} {'change':>15} {'worst leak':>15} {'into':>11}{extra}  meets")


def print_row(attribute: str, runs: list[dict[str, Any]], bars: tuple[float, float, float],
              extra: dict[str, str]) -> None:
    """One slider's mean [worst seed] figures against `bars` (rho, change, leak), then the `extra` columns given
    for the attribute its worst leak goes into."""
    from concept_sliders.slider_core import evaluation

    rho_bar, change_bar, leak_bar = bars
    rhos = [run[attribute].pooled_rho for run in runs]
    changes = [run[attribute].signed_effect for run in runs]
    leaks = [evaluation.deviation_ratios(run, attribute) for run in runs]
    mean_leaks = {other: float(np.mean([leak[other] for leak in leaks])) for other in leaks[0]}
    into = max(mean_leaks, key=mean_leaks.get)
    worst = max(max(leak.values()) for leak in leaks)
    meets = np.mean(rhos) >= rho_bar and np.mean(changes) >= change_bar and mean_leaks[into] <= leak_bar
    print(f"{attribute:<11} {np.mean(rhos):>6.3f} [{min(rhos):.3f}] {np.mean(changes):>6.2f} [{min(changes):.2f}] "
          f"{mean_leaks[into]:>6.3f} [{worst:.3f}] {into:>11}{extra[into]}  {'yes' if meets else 'no'}", flush=True)


def print_text_bars(loaded: Any, seeds: int, train_seeds: int) -> dict[str, list[Any]]:
    """One row per text slider at Train Slider From Prompts' defaults, beside the largest change the data allows and
    the base model's own prompt edit's leak into the same attribute; returns each slider's sweeps per seed."""
    from concept_sliders.slider_core import evaluation

    settings = loaded.settings()
    data = data_ranges(loaded.world)
    print("text sliders, ", end="")
    print_header(RHO_BAR, CHANGE_BAR, LEAK_BAR, f" {'in-data max':>12} {'prompt leak':>12}")
    sweeps = {}
    for attribute, spec in loaded.world.prompts.SLIDERS.items():
        prompt_leaks = evaluation.deviation_ratios(loaded.prompt_edit(attribute, seeds), attribute)
        runs = sweeps[attribute] = [loaded.measure(spec, settings | {"seed": seed}, STRENGTHS, seeds)
                                    for seed in range(train_seeds)]
        effects = [run.effects() for run in runs]
        in_data = np.mean([data[attribute] / max(run[attribute].spread, 1e-8) for run in effects])
        print_row(attribute, effects, (RHO_BAR, CHANGE_BAR, LEAK_BAR),
                  {other: f" {in_data:>12.2f} {leak:>12.3f}" for other, leak in prompt_leaks.items()})
    return sweeps


def print_preservation_bar(loaded: Any, sweeps: dict[str, list[Any]], seeds: int, train_seeds: int) -> None:
    """The world's PRESERVATION_CHECK slider trained without preservation: the leak into the entangled attributes
    must at least halve with it."""
    from concept_sliders.slider_core import evaluation

    settings = loaded.settings()
    slider, dragged, plain = loaded.world.prompts.PRESERVATION_CHECK
    unpreserved = dict(loaded.world.prompts.SLIDERS[slider], preserve=plain)
    with_preservation = [evaluation.deviation_leak(run.effects(), slider, dragged) for run in sweeps[slider]]
    without = [evaluation.deviation_leak(loaded.measure(unpreserved, settings | {"seed": seed}, STRENGTHS,
                                                        seeds).effects(), slider, dragged)
               for seed in range(train_seeds)]
    ratio = np.mean(with_preservation) / max(np.mean(without), 1e-8)
    print(f"preservation ({slider} slider, leak into {', '.join(dragged)}): {np.mean(with_preservation):.3f} "
          f"preserved, {np.mean(without):.3f} without, ratio {ratio:.2f} (bar <= {PRESERVATION_BAR}: "
          f"{'yes' if ratio <= PRESERVATION_BAR else 'no'})", flush=True)


def print_composition_bars(loaded: Any, sweeps: dict[str, list[Any]], seeds: int) -> None:
    """Every text slider swept again with the next one of the world (in SLIDERS order, the last with the first)
    chained on at +1, per training seed: its change with the other over its change alone must stay in the bar."""
    from concept_sliders.slider_core import evaluation

    names = list(sweeps)
    low, high = COMPOSITION_BAR
    print(f"composition (each slider with the next at +1; change kept, bar {low:.0%}-{high:.0%}): mean [worst]")
    for index, attribute in enumerate(names):
        other = names[(index + 1) % len(names)]
        ratios = [evaluation.composition_ratio(loaded.composed(run, partner.slider, seeds)[attribute],
                                               run.effects()[attribute])
                  for run, partner in zip(sweeps[attribute], sweeps[other], strict=True)]
        worst = max(ratios, key=lambda ratio: abs(ratio - 1))
        meets = low <= np.mean(ratios) <= high
        print(f"{attribute:<11} with {other:<11} {np.mean(ratios):>6.2f} [{worst:.2f}]  {'yes' if meets else 'no'}",
              flush=True)


def print_pair_bars(loaded: Any, seeds: int, train_seeds: int) -> None:
    """One row per image-pair attribute of the world: Train Slider From Image Pairs at its defaults on PAIRS pairs,
    pairs and training from each training seed, the learning rate at its toy-world equivalent (the node's default
    is set for SD-size models, under which the toy UNet learns nothing: benchmarks/README.md)."""
    rate = {"learning_rate": loaded.toy_pair_settings()["learning_rate"]}
    print(f"image-pair sliders ({PAIRS} pairs, learning rate {rate['learning_rate']:g}, the default's toy "
          f"equivalent), ", end="")
    print_header(*PAIR_BARS, f" {'train s':>8}")
    for attribute in loaded.world.pair_attributes:
        runs = [loaded.measure_pairs(attribute, PAIRS, seed, STRENGTHS, seeds, rate) for seed in range(train_seeds)]
        seconds = np.mean([run.train_seconds for run in runs])
        effects = [run.effects() for run in runs]
        print_row(attribute, effects, PAIR_BARS, dict.fromkeys(effects[0], f" {seconds:>8.0f}"))


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
