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
Usage: python benchmarks/semantics.py [--seeds N]   (about 10 minutes on two CPU cores)
"""
from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=16)
    args = parser.parse_args()
    from common import boot, device_name, report

    host = boot()  # loads the pack, which harness.experiments imports
    from harness import experiments

    evaluation = experiments.evaluation
    world = experiments.ToyWorld.load(host, args.seeds)
    print(f"device: {device_name()}; toy world, sliders {experiments.TRAIN_STEPS} steps, sweep -2..2 on {args.seeds} "
          "seeds", flush=True)

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


if __name__ == "__main__":
    main()
