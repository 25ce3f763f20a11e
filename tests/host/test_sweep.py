"""Slider Sweep and Slider Sweep Grid in the real host: shared noise per row, the strength-0 anchor, the grid."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from concept_sliders.nodes.host import toyworld
from concept_sliders.slider_core import errors
from concept_sliders.slider_core.charts.grid import strip_height
from PIL import Image
from training_checks import unthrottled_progress

from harness.models import tiny_model
from harness.sliders import random_slider

STEPS = 3
SIZE = 64


def conditioning(model, seed: int) -> list:
    """CONDITIONING as TinyModelNode in test_nodes.py builds it: a random context, no extras (SD1)."""
    width = model.model.model_config.unet_config["context_dim"]
    return [[torch.randn(1, 8, width, generator=torch.Generator().manual_seed(seed)), {}]]


@pytest.fixture(scope="module")
def setup(host):
    model = tiny_model("sd1")
    return model, random_slider(model), conditioning(model, 3), conditioning(model, 4)


def run_sweep(host, setup, strengths="-3, 0, 3", rows=1, seed=7, sampler="euler", start_percent=0.0,
              rows_per_batch=1):
    model, slider, positive, negative = setup
    latents, text = host.node("ConceptSlidersSweep").sweep(
        model, slider, positive, negative, seed, rows, STEPS, 4.0, sampler, "normal", SIZE, SIZE, strengths,
        start_percent, rows_per_batch)
    return latents["samples"], text


def ksampler(host, model, positive, negative, seed, sampler="euler"):
    (latent,) = host.node("EmptyLatentImage").generate(SIZE, SIZE, 1)
    (out,) = host.node("KSampler").sample(model, seed, STEPS, 4.0, sampler, "normal", positive, negative, latent,
                                          denoise=1.0)
    return out["samples"]


def test_sweep_is_row_major_and_strength_zero_is_exactly_ksampler(host, setup):
    """Bit-exact (tolerance 0): strength 0 is the unpatched model, the same noise and the same host sampler;
    sampling after the patched columns also proves the host restored the weights exactly."""
    samples, text = run_sweep(host, setup, "-3 0, 3", rows=2, seed=7)
    assert samples.shape == (2 * 3, 4, SIZE // 8, SIZE // 8)
    assert text == "-3, 0, 3"
    model, _, positive, negative = setup
    for row in range(2):
        plain = ksampler(host, model, positive, negative, seed=7 + row)
        assert torch.equal(samples[row * 3 + 1], plain[0]), f"row {row}: strength 0 differs from KSampler"
    assert not torch.equal(samples[0], samples[3]), "rows must use different seeds"
    for a, b in ((0, 1), (1, 2), (0, 2)):
        assert not torch.allclose(samples[a], samples[b], atol=1e-3), f"strength columns {a} and {b} coincide"


def test_batched_rows_are_the_one_by_one_images(host, setup):
    """Three seeds in batches of two (one full, one short): the same grid, in the same order, as one seed at a
    time, up to float rounding (a deterministic sampler)."""
    single, _ = run_sweep(host, setup, "-3, 0, 3", rows=3)
    batched, _ = run_sweep(host, setup, "-3, 0, 3", rows=3, rows_per_batch=2)
    assert batched.shape == single.shape
    assert torch.allclose(batched, single, atol=1e-4, rtol=1e-4), (batched - single).abs().max()


def test_rows_per_batch_below_one_is_refused_by_name(host, setup):
    with pytest.raises(Exception, match="rows_per_batch is 0"):
        run_sweep(host, setup, rows_per_batch=0)


def test_each_row_shares_its_noise_across_strengths(host, setup):
    """A tiny strength lands next to the strength-0 image, under 1% of the distance between two seeds' images:
    only possible when both started from the same noise. Ancestral sampling also checks the extra noise it
    draws per step is shared (and still KSampler's)."""
    samples, _ = run_sweep(host, setup, "0 0.0001", rows=2, sampler="euler_ancestral")
    seed_distance = (samples[0] - samples[2]).abs().max()
    for row in range(2):
        zero, tiny = samples[row * 2], samples[row * 2 + 1]
        assert 0 < (zero - tiny).abs().max() < 0.01 * seed_distance
    model, _, positive, negative = setup
    assert torch.equal(samples[2], ksampler(host, model, positive, negative, 8, "euler_ancestral")[0])


def test_start_percent_keeps_early_steps_of_the_plain_model(host, setup):
    late, _ = run_sweep(host, setup, "0 3", start_percent=0.5)
    full, _ = run_sweep(host, setup, "0 3", start_percent=0.0)
    assert torch.equal(late[0], full[0])
    assert not torch.allclose(late[1], full[1], atol=1e-3)
    assert (late[1] - late[0]).abs().mean() < (full[1] - full[0]).abs().mean()


@pytest.mark.bad_input("cancel mid-sweep")
def test_progress_counts_samples_and_cancel_stops_the_sweep(host, setup):
    import comfy.model_management
    import comfy.utils

    seen: list[tuple[int, int]] = []

    def hook(value, total, preview, **_):
        seen.append((value, total))
        if len(seen) == 2:
            comfy.model_management.interrupt_current_processing(True)

    previous = comfy.utils.PROGRESS_BAR_HOOK
    comfy.utils.set_progress_bar_global_hook(hook)
    try:
        with pytest.raises(comfy.model_management.InterruptProcessingException), unthrottled_progress():
            run_sweep(host, setup, "-1 0 1", rows=2)
    finally:
        comfy.utils.set_progress_bar_global_hook(previous)
        comfy.model_management.interrupt_current_processing(False)
    assert seen == [(1, 6), (2, 6)], "one tick per sample over rows x columns, nothing sampled after cancel"


@pytest.mark.parametrize(("text", "culprit"), [("-1, 0, big", "'big'"), ("1,,2 x3", "'x3'"), ("0 12", "'12'"),
                                                ("nan", "'nan'"), (" , ", "no numbers")])
@pytest.mark.bad_input("bad strength list")
def test_bad_strengths_name_the_entry(host, setup, text, culprit):
    with pytest.raises(errors.SliderConfigError, match=culprit):
        run_sweep(host, setup, text)


def cell_images(rows: int, columns: int, size: int = 64) -> torch.Tensor:
    shades = torch.linspace(0.1, 0.6, rows * columns)
    return shades.view(-1, 1, 1, 1).expand(rows * columns, size, size, 3).clone()


def test_grid_places_cells_row_major_and_labels_each_column(host):
    images = cell_images(2, 3)
    (grid,) = host.node("ConceptSlidersSweepGrid").grid(images, "-2, 0, 2")
    strip = strip_height(64)
    assert grid.shape == (1, 2 * 64 + strip, 3 * 64, 3)
    for index in range(6):
        row, column = divmod(index, 3)
        assert torch.equal(grid[0, row * 64:(row + 1) * 64, column * 64:(column + 1) * 64], images[index])
    labels = grid[0, 2 * 64:]
    for column in range(3):
        assert (labels[:, column * 64:(column + 1) * 64] < 0.5).any(), f"column {column} has no label"
    assert not torch.equal(labels[:, :64], labels[:, 64:128]), "labels '-2' and '0' render alike"


def test_grid_title_adds_a_strip_on_top(host):
    images = cell_images(1, 2)
    (plain,) = host.node("ConceptSlidersSweepGrid").grid(images, "0 1")
    (titled,) = host.node("ConceptSlidersSweepGrid").grid(images, "0 1", title="age slider")
    strip = strip_height(64)
    assert titled.shape[1] == plain.shape[1] + strip
    assert (titled[0, :strip] < 0.5).any()
    assert torch.equal(titled[0, strip:], plain[0])


@pytest.mark.bad_input("bad strength list")
def test_grid_refuses_a_batch_that_does_not_fill_the_columns(host):
    with pytest.raises(errors.SliderConfigError, match=r"5 images cannot fill 3 columns"):
        host.node("ConceptSlidersSweepGrid").grid(cell_images(1, 5), "-1 0 1")


def test_toy_world_sweep_graph_saves_a_labelled_grid(host, sliders_dir):
    toy_model, _ = toyworld.load_toyworld()
    host.node("ConceptSlidersSave").save(random_slider(toy_model, name="blob"), "blob", "fp32")
    prompt = {
        "1": {"class_type": "ConceptSlidersToyWorldLoader", "inputs": {}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 1], "text": "a blob"}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 1], "text": ""}},
        "4": {"class_type": "ConceptSlidersLoad", "inputs": {"slider_name": "blob_00001.safetensors"}},
        "5": {"class_type": "ConceptSlidersSweep", "inputs": {
            "model": ["1", 0], "slider": ["4", 0], "positive": ["2", 0], "negative": ["3", 0], "seed": 5, "rows": 1,
            "steps": 4, "cfg": 3.0, "sampler_name": "euler", "scheduler": "normal", "width": 128, "height": 128,
            "strengths": "-2, 0, 2", "start_percent": 0.0}},
        "6": {"class_type": "ConceptSlidersToyWorldDecode", "inputs": {"samples": ["5", 0]}},
        "7": {"class_type": "ConceptSlidersSweepGrid", "inputs": {"images": ["6", 0], "strengths": ["5", 1],
                                                                   "title": "random blob slider"}},
        "8": {"class_type": "SaveImage", "inputs": {"images": ["7", 0], "filename_prefix": "sweep_test"}},
    }
    outputs = host.run_graph(prompt)
    saved = outputs["8"]["images"][0]
    path = host.scratch / "output" / saved["subfolder"] / saved["filename"]
    assert path.is_file()
    strip = strip_height(128)
    with Image.open(path) as image:
        assert image.size == (3 * 128, strip + 128 + strip)  # title, one row of 128 px cells, labels
        pixels = np.asarray(image.convert("RGB"))
    assert (pixels[-strip:] < 128).any() and (pixels[:strip] < 128).any()
