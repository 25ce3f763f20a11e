"""What a Slider Report costs: the node at its defaults on the toy world (128 px) against the baseline a user has
without it, a Slider Sweep of the same strengths and seeds judged by eye, in one process.

Figures: model forwards per run (a forward pre-hook on the diffusion model counts samples; both run without
autograd) and seconds. The report's forwards are also checked against the count it states before it runs
(slider_core/report/measure.py: forwards_per_report), which is what its verdict text prints.
Usage: python benchmarks/report.py [--seeds N]
"""
from __future__ import annotations

import argparse
import re
import time

from previews import count_forwards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=0, help="seeds per strength; 0 = the node's default")
    args = parser.parse_args()

    from common import boot, device_name, report

    host = boot()
    from concept_sliders.nodes.report import SliderReport

    from harness import experiments

    required = SliderReport.INPUT_TYPES()["required"]
    settings = {name: spec[1]["default"] for name, spec in required.items() if name not in ("model", "slider")}
    settings.update(resolution=128, cfg=4.0, seeds=args.seeds or settings["seeds"])
    world = experiments.ToyWorld.load(host)
    slider = world.train(experiments.SIZE, experiments.SIZE_COLOURS)
    print(f"device: {device_name()}; toy world, size slider; report at its defaults: strengths {settings['strengths']}, "
          f"{settings['seeds']} seeds, {settings['steps']} steps, 128 px, CFG 4", flush=True)
    diffusion_model = world.model.model.diffusion_model

    started = time.perf_counter()
    texts: list[str] = []
    forwards = count_forwards(diffusion_model, lambda: texts.append(
        SliderReport().report(world.model, slider, clip=world.clip, **settings)[1]))
    seconds = time.perf_counter() - started
    stated = int(re.search(r"cost: (\d+) forwards", texts[0]).group(1))

    sweep = host.node("ConceptSlidersSweep")
    started = time.perf_counter()
    baseline = count_forwards(diffusion_model, lambda: sweep.sweep(
        world.model, slider, world.positive, world.negative, seed=0, rows=settings["seeds"],
        steps=settings["steps"], cfg=4.0, sampler_name="euler", scheduler="normal", width=128, height=128,
        strengths=settings["strengths"], start_percent=0.0))
    baseline_seconds = time.perf_counter() - started
    print(f"report: stated {stated} forwards, counted {forwards:.0f}", flush=True)
    report("report: forwards per run, Slider Report vs a Slider Sweep of the same strengths and seeds", forwards,
           baseline, "forwards")
    report("report: seconds per run, Slider Report vs a Slider Sweep of the same strengths and seeds", seconds,
           baseline_seconds, "s")


if __name__ == "__main__":
    main()
