"""The Slider Report judges sliders as a ruler would: in the toy worlds, its efficacy score (the base model's own
diffusion-classifier score, no external classifier) follows the attribute the world measures exactly.

Every report runs at the node's defaults (strengths −3…3, 4 seeds, 20 steps) at 128 px, CFG 4, on sliders trained as
tests/host/test_semantics.py trains them (200 steps, node settings of harness/experiments.py). Thresholds, and why:
- agreement: Spearman ρ between the report's efficacy score and the measured attribute, pooled over its
  (strength, seed) images, ≥ 0.9 (the issue's bar), for the size and the brightness slider.
- locality: the report's leak for the entangled pair ('a red blob | a blue blob') is lower for the size slider
  trained preserving the colours than for the one trained without.
- range: every strength in the calibrated range is one where the measured attribute's mean still moves the slider's
  way from its neighbour towards 0 (so the range never promises what the images do not do), and it spans ±1 at
  least (so it is not empty by excess caution).
- verdicts: a slider trained 1 step has "no measurable effect"; one trained at η 40 is "over-driven".
Measured (2024 host, CPU): agreement size 0.964, brightness 0.968; leak preserved 0.49, unpreserved 0.97;
ranges size −1…+3 (the blob vanishes below −1), brightness −2…+3; η 40: range −1…+1, over-driven both ways.
"""
from __future__ import annotations

import pytest
import torch
from ci_share import ON_2024_SNAPSHOT
from concept_sliders.nodes import report as report_node
from concept_sliders.slider_core.report.verdicts import judge
from concept_sliders.slider_core.toyworld.blobs import metrics

from harness import experiments

pytestmark = pytest.mark.slow

evaluation = experiments.evaluation
PAIR = "a red blob | a blue blob"
AGREEMENT = 0.9


def measured_report(world, slider, preserve: str = ""):
    """(measurement, verdict, attributes measured on the report's own images) of the node's default report."""
    node = report_node.SliderReport
    defaults = {name: spec[1]["default"] for name, spec in node.INPUT_TYPES()["required"].items()
                if name not in ("model", "slider")}
    conditionings, prompts = report_node.report_prompts(slider, world.clip, "", "", "", preserve, None, None, None)
    config = report_node.ReportConfig(strengths=tuple(report_node.parse_strengths(defaults["strengths"])),
                                      seeds=defaults["seeds"], seed=0, steps=defaults["steps"], cfg=4.0)
    measurement, _ = report_node.measure(world.model, slider, conditionings, prompts, config, 128)
    latents = world.model.model.process_latent_out(measurement.latents.flatten(0, 1))
    shape = measurement.efficacy.shape
    attributes = {name: values.view(shape).double() for name, values in metrics.measure(latents).items()}
    return measurement, judge(measurement), attributes


@pytest.fixture(scope="module")
def world(host):
    return experiments.ToyWorld.load(host)


@pytest.fixture(scope="module")
def size_report(world):
    return measured_report(world, world.train(experiments.SIZE, experiments.SIZE_COLOURS), PAIR)


@pytest.fixture(scope="module")
def brightness_report(world):
    return measured_report(world, world.train(experiments.BRIGHTNESS, experiments.PLAIN))


def agreement(report, attribute: str) -> float:
    measurement, _, attributes = report
    return evaluation.spearman(measurement.efficacy.double().flatten(), attributes[attribute].flatten())


@ON_2024_SNAPSHOT
def test_the_reports_score_follows_the_size_the_world_measures(size_report):
    rho = agreement(size_report, "size")
    print(f"\nreport vs measured size: rho {rho:.3f}")
    assert rho >= AGREEMENT


@ON_2024_SNAPSHOT
def test_the_reports_score_follows_the_brightness_the_world_measures(brightness_report):
    rho = agreement(brightness_report, "brightness")
    print(f"\nreport vs measured brightness: rho {rho:.3f}")
    assert rho >= AGREEMENT


@ON_2024_SNAPSHOT
def test_the_reports_locality_ranks_the_preserved_slider_below_the_unpreserved(world, size_report):
    unpreserved = measured_report(world, world.train(experiments.SIZE, experiments.PLAIN), PAIR)
    preserved_leak = max(size_report[1].leaks[PAIR])
    unpreserved_leak = max(unpreserved[1].leaks[PAIR])
    print(f"\nreport leak into '{PAIR}': {preserved_leak:.2f} preserving colours, {unpreserved_leak:.2f} without")
    assert preserved_leak < unpreserved_leak


@ON_2024_SNAPSHOT
@pytest.mark.parametrize(("which", "attribute"), [("size", "size"), ("brightness", "brightness")])
def test_the_calibrated_range_stays_where_the_attribute_still_moves(request, which, attribute):
    measurement, verdict, attributes = request.getfixturevalue(f"{which}_report")
    low, high = verdict.strength_range
    strengths = measurement.strengths
    means = attributes[attribute].mean(dim=1)
    print(f"\n{which}: range {low:+g}…{high:+g}; measured {attribute} per strength "
          + ", ".join(f"{s:+g}: {m:.3f}" for s, m in zip(strengths, means.tolist(), strict=True)))
    assert low <= -1 and high >= 1
    for index, strength in enumerate(strengths):
        if strength != 0 and low <= strength <= high:
            inner = index + 1 if strength < 0 else index - 1
            assert (means[index] - means[inner]) * (1 if strength > 0 else -1) > 0, (strength, means.tolist())


@ON_2024_SNAPSHOT
def test_a_slider_trained_one_step_has_no_measurable_effect(world):
    _, verdict, _ = measured_report(world, world.train(experiments.SIZE, experiments.SIZE_COLOURS, steps=1))
    print("\n" + verdict.messages[0])
    assert verdict.messages[0].startswith("no measurable effect") and verdict.strength_range is None


@ON_2024_SNAPSHOT
def test_an_over_driven_slider_is_called_over_driven(world):
    _, verdict, _ = measured_report(world, world.train(experiments.SIZE, experiments.SIZE_COLOURS, guidance=40.0))
    print("\n" + "\n".join(verdict.messages))
    assert any(line.startswith("over-driven") for line in verdict.messages)


def test_the_report_follows_the_size_in_the_toy_flow_world(host):
    import comfy.supported_models

    if not hasattr(comfy.supported_models, "FluxSchnell"):
        pytest.skip("this ComfyUI has no FLUX family (the 2024 snapshot); the toy flow world needs ComfyUI 0.3+")
    flow = experiments.ToyWorld.load(host, loader="ConceptSlidersToyFlowWorldLoader")
    report = measured_report(flow, flow.train(experiments.SIZE, experiments.SIZE_COLOURS))
    rho = agreement(report, "size")
    print(f"\nflow world: report vs measured size: rho {rho:.3f}; " + report[1].messages[0])
    assert rho >= AGREEMENT
    assert torch.isfinite(report[0].efficacy).all()
