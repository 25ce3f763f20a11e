"""Slider Report in the real host: what it returns, what it costs, what it writes into the slider, and that it
leaves the model as it found it. Its semantics (does the score follow the attribute?) are in
test_report_semantics.py."""
from __future__ import annotations

import re

import comfy.model_management
import comfy.utils
import pytest
import torch
from concept_sliders.slider_core import errors
from concept_sliders.slider_core.report.measure import ReportConfig, ReportPrompts, forwards_per_report
from training_checks import unthrottled_progress, weights_hash

from harness import experiments
from harness.sliders import random_slider

QUICK = dict(strengths="-2, 0, 2", seeds=2, seed=0, steps=3, cfg=4.0, resolution=64, write_range=True)


@pytest.fixture(scope="module")
def world(host):
    return experiments.ToyWorld.load(host, seeds=2)


@pytest.fixture(scope="module")
def size_slider(world):
    return world.train(experiments.SIZE, experiments.PLAIN, steps=60, resolution=64)


def report(host, world, slider, **overrides):
    settings = {**QUICK, **overrides}
    return host.node("ConceptSlidersReport").report(world.model, slider, clip=world.clip, **settings)


def test_report_gives_a_chart_a_verdict_with_its_cost_and_the_slider_with_its_range(host, world, size_slider):
    before = weights_hash(world.model)
    chart, verdict, calibrated = report(host, world, size_slider)
    assert chart.dim() == 4 and chart.shape[0] == 1 and chart.shape[-1] == 3
    assert chart.shape[1] > 300 and chart.shape[2] >= 3 * 128  # the images, the plot and the verdicts
    assert verdict.splitlines()[0].startswith("usable range"), verdict
    stated = int(re.search(r"cost: (\d+) forwards", verdict).group(1))
    prompts = ReportPrompts(generate=0, uncond=1, efficacy=((2, 3),))
    assert stated == forwards_per_report(ReportConfig(strengths=(-2.0, 0.0, 2.0), seeds=2, steps=3), prompts)
    low, high = (float(value) for value in re.match(r"usable range (\S+) \.\.\. (\S+)", verdict).groups())
    assert calibrated.metadata.strength_range == (low, high)
    assert calibrated.deltas is size_slider.deltas
    assert weights_hash(world.model) == before, "the report must leave the model's weights bit-identical"


def test_the_calibrated_range_is_saved_and_shown_when_loaded(host, world, size_slider, sliders_dir):
    _, _, calibrated = report(host, world, size_slider)
    host.node("ConceptSlidersSave").save(calibrated, "reported", "fp32")
    (saved,) = [path.name for path in sliders_dir.glob("reported*.safetensors")]
    loaded, info = host.node("ConceptSlidersLoad").load(saved)
    low, high = calibrated.metadata.strength_range
    assert loaded.metadata.strength_range == (low, high)
    assert f"strength {low:g}…{high:g}" in info


def test_write_range_off_returns_the_slider_unchanged(host, world, size_slider):
    _, _, out = report(host, world, size_slider, write_range=False)
    assert out is size_slider


def test_a_report_is_the_same_for_the_same_seeds(host, world, size_slider):
    first = report(host, world, size_slider, seeds=2)
    second = report(host, world, size_slider, seeds=2)
    assert first[1] == second[1] and torch.equal(first[0], second[0])


def test_cancel_stops_the_report_at_once_and_leaves_the_weights(host, world, size_slider):
    before = weights_hash(world.model)
    ticks: list[int] = []

    def hook(value, total, preview, **_):
        ticks.append(value)
        comfy.model_management.interrupt_current_processing(True)

    previous = comfy.utils.PROGRESS_BAR_HOOK
    comfy.utils.set_progress_bar_global_hook(hook)
    try:
        with pytest.raises(comfy.model_management.InterruptProcessingException), unthrottled_progress():
            report(host, world, size_slider)
    finally:
        comfy.utils.set_progress_bar_global_hook(previous)
        comfy.model_management.interrupt_current_processing(False)
    assert ticks == [1], "nothing more is computed after the cancel arrives"
    assert weights_hash(world.model) == before


@pytest.mark.parametrize(("overrides", "culprit"), [
    (dict(strengths="-1, 1"), "lack 0"),
    (dict(preserve="a red blob"), "preserve line 1"),
    (dict(preserve="a | a"), "preserve line 1"),
    (dict(positive="a large blob"), "give both positive and negative"),
    (dict(seeds=1), "seeds is 1"),
    (dict(cfg=float("nan")), "cfg is nan"),
])
@pytest.mark.bad_input("bad report setting")
def test_bad_report_settings_name_the_input(host, world, size_slider, overrides, culprit):
    with pytest.raises(errors.SliderConfigError, match=culprit):
        report(host, world, size_slider, **overrides)


@pytest.mark.bad_input("report without prompts")
def test_a_slider_without_prompts_asks_for_them(host, world):
    anonymous = random_slider(world.model)
    anonymous.metadata = anonymous.metadata.replace(positive="", negative="", target="")
    with pytest.raises(errors.SliderConfigError, match="type the prompt"):
        report(host, world, anonymous)
    with pytest.raises(errors.SliderConfigError, match="positive and negative"):
        report(host, world, anonymous, prompt="a blob")


def test_shipped_report_workflow_trains_with_previews_and_saves_the_calibrated_slider(host, sliders_dir):
    """workflows/api/toyworld_slider_report.json as shipped, shortened (training steps, report seeds and steps) and
    without its preservation pair (30 steps do not learn to keep the colours, so there would be no range to write):
    every node runs, the chart is saved, and the slider saved is the report's, with its calibrated range."""
    import json

    from concept_sliders.slider_core.io.slider_files import load_slider

    from harness.host import PACK_ROOT

    prompt = json.loads((PACK_ROOT / "workflows" / "api" / "toyworld_slider_report.json").read_text())
    prompt["2"]["inputs"].update(steps=30, preview_every=15, resolution=64)
    prompt["3"]["inputs"].update(seeds=2, steps=3, strengths="-2, 0, 2", resolution=64, preserve="")
    outputs = host.run_graph({key: {"class_type": n["class_type"], "inputs": n["inputs"]} for key, n in prompt.items()})
    (chart,) = outputs["4"]["images"]
    assert chart["filename"].endswith(".png")
    assert outputs["6"]["images"], "the training node's last preview strip is shown"
    (saved,) = sliders_dir.glob("toyworld_size_reported*.safetensors")
    low, high = load_slider(saved).metadata.strength_range
    assert -2 <= low < 0 < high <= 2, "the report's calibrated range (within the probed -2...2) is saved"


def test_report_measures_an_sdxl_slider_from_its_own_conditioning(host):
    """SDXL's pooled vector and size embedding reach the model through the family's own extra_conds."""
    from harness.models import tiny_model

    model = tiny_model("sdxl")
    slider = random_slider(model)

    def sdxl_conditioning(seed: int) -> list:
        generator = torch.Generator().manual_seed(seed)
        return [[torch.randn(1, 8, 48, generator=generator), {"pooled_output": torch.randn(1, 1280, generator=generator)}]]

    before = weights_hash(model)
    chart, verdict, _ = host.node("ConceptSlidersReport").report(
        model, slider, "-1, 0, 1", seeds=2, seed=0, steps=2, cfg=4.0, resolution=64, write_range=True,
        prompt_conditioning=sdxl_conditioning(1), positive_conditioning=sdxl_conditioning(2),
        negative_conditioning=sdxl_conditioning(3))
    stated = int(re.search(r"cost: (\d+) forwards", verdict).group(1))
    config = ReportConfig(strengths=(-1.0, 0.0, 1.0), seeds=2, steps=2, cfg=4.0)
    assert stated == forwards_per_report(config, ReportPrompts(generate=0, uncond=1, efficacy=((2, 3),)))
    assert chart.shape[0] == 1 and torch.isfinite(chart).all()
    assert weights_hash(model) == before
