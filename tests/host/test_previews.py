"""Live previews while both training nodes train, in the real host on the toy world: strips go through the host's
progress-preview channel (the ProgressBar hook KSampler's live previews use) at the due steps, the last one is the
node's `preview` output, and a slider trained with previews on is the very slider trained with them off."""
from __future__ import annotations

import comfy.utils
import numpy as np
import pytest
import torch
from concept_sliders.slider_core.charts.grid import strip_height
from concept_sliders.slider_core.charts.preview_strip import previews_off, tile_scale
from PIL import Image
from safetensors.torch import load_file
from training_checks import unthrottled_progress

PROMPT_SETTINGS = dict(target="a blob", positive="a large blob", negative="a small blob", preserve="red\nblue",
                       guidance=4.0, rank=4, alpha=1.0, train_method="noxattn", include_conv=True, steps=5,
                       learning_rate=1e-3, seed=0, resolution=128, batch_size=1, bidirectional=True,
                       precision="auto", gradient_checkpointing=False, trajectory="renoise")
PAIR_SETTINGS = dict(before_prompt="", after_prompt="a blob", strengths="1", rank=4, alpha=1.0,
                     train_method="noxattn", include_conv=True, steps=5, learning_rate=1e-3, seed=0, resolution=0,
                     batch_size=1, precision="auto", gradient_checkpointing=False)
TOY_LATENT = 16  # the toy world's latents at 128 px


@pytest.fixture(scope="module")
def toy(host):
    return host.node("ConceptSlidersToyWorldLoader").load()


@pytest.fixture(scope="module")
def size_pairs(host):
    return host.node("ConceptSlidersToyWorldPairs").pairs("size", 4, 0)


@pytest.fixture(params=["prompts", "pairs"])
def train(request, host, toy, size_pairs):
    """train(**overrides) → the node's outputs, for each training node."""
    model, clip = toy
    if request.param == "prompts":
        node, settings = host.node("ConceptSlidersTrainFromPrompts"), PROMPT_SETTINGS
        inputs = {}
    else:
        node, settings = host.node("ConceptSlidersTrainFromImagePairs"), PAIR_SETTINGS
        inputs = {"before_latent": size_pairs[0], "after_latent": size_pairs[1]}
    return lambda **overrides: node.train(model, clip=clip, **{**settings, **inputs, **overrides})


def strip_shape(latent_side: int) -> tuple[int, int, int, int]:
    """A strip of three tiles of the host's Latent2RGB picture (one pixel per latent pixel), brought up to size."""
    tile = latent_side * tile_scale(latent_side, latent_side)
    return (1, 2 * strip_height(tile) + tile, 3 * tile, 3)


def hooked(run) -> tuple[object, list[tuple[int, int, object]]]:
    """The node's outputs and every (value, total, preview) the host's progress hook received while it ran."""
    calls: list[tuple[int, int, object]] = []
    previous = comfy.utils.PROGRESS_BAR_HOOK
    comfy.utils.set_progress_bar_global_hook(
        lambda value, total, preview=None, node_id=None: calls.append((value, total, preview)))
    try:
        with unthrottled_progress():
            outputs = run()
    finally:
        comfy.utils.set_progress_bar_global_hook(previous)
    return outputs, calls


def test_the_progress_hook_receives_jpeg_strips_at_the_due_steps_with_the_progress(train):
    outputs, calls = hooked(lambda: train(steps=5, preview_every=2, preview_steps=2))
    assert [value for value, _, _ in calls] == [1, 2, 3, 4, 5]  # still one update per step
    previews = {value: preview for value, _, preview in calls if preview is not None}
    assert sorted(previews) == [2, 4, 5]
    expected = strip_shape(TOY_LATENT)
    for kind, image, max_size in previews.values():
        assert kind == "JPEG" and isinstance(image, Image.Image) and max_size > 0
        assert (image.height, image.width) == expected[1:3]
    last = np.asarray(previews[5][1], dtype=np.float32) / 255.0  # the output, as the 8-bit picture it is sent as
    assert np.abs(last - outputs[3][0].numpy()).max() <= 0.5 / 255.0 + 1e-6


def test_the_preview_output_is_the_last_strip_or_a_note_when_previews_are_off(train):
    shown = train(steps=3, preview_every=100, preview_steps=2)[3]
    assert tuple(shown.shape) == strip_shape(TOY_LATENT) and shown.dtype == torch.float32
    assert 0.0 <= shown.min() and shown.max() <= 1.0
    off = train(steps=3, preview_every=0)[3]
    assert torch.equal(off, previews_off())


def test_a_slider_trained_with_previews_saves_the_same_file_as_one_trained_without(host, train, sliders_dir):
    saved = []
    for every in (0, 2):
        slider = train(steps=6, preview_every=every, preview_steps=3, preview_strength=3.0)[0]
        saved.append(load_file(host.node("ConceptSlidersSave").save(slider, f"previews_{every}", "fp32")["result"][0]))
    assert saved[0].keys() == saved[1].keys()
    assert all(torch.equal(saved[0][key], saved[1][key]) for key in saved[0])


def test_the_strip_shows_the_slider_moving_the_image(train):
    """The toy world after a real run: the −m and +m tiles differ from the 0 tile (same noise, so only the slider
    can make them differ)."""
    strip = train(steps=10, learning_rate=5e-3, preview_every=10, preview_steps=4)[3][0]
    tile = strip.shape[1] // 3
    top = strip_height(tile)
    tiles = [strip[top:top + tile, index * tile:(index + 1) * tile] for index in range(3)]
    assert (tiles[0] - tiles[1]).abs().mean() > 1e-3 and (tiles[2] - tiles[1]).abs().mean() > 1e-3


@pytest.mark.bad_input("bad preview setting")
def test_bad_preview_settings_name_the_input(train):
    from concept_sliders.slider_core import errors

    with pytest.raises(errors.SliderConfigError, match="preview_steps"):
        train(preview_steps=0)


def test_both_nodes_append_the_preview_output_after_the_existing_ones(host):
    for name in ("ConceptSlidersTrainFromPrompts", "ConceptSlidersTrainFromImagePairs"):
        node = host.nodes.NODE_CLASS_MAPPINGS[name]
        assert node.RETURN_NAMES == ("slider", "loss_curve", "model", "preview")
        assert node.RETURN_TYPES[3] == "IMAGE" and len(node.OUTPUT_TOOLTIPS) == 4
        optional = list(node.INPUT_TYPES()["optional"])
        assert optional[-3:] == ["preview_every", "preview_strength", "preview_steps"]
