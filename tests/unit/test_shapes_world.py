"""The shapes world renders what it says, measures it back, captions it truthfully and carries its entanglement."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from slider_core.errors import SliderConfigError
from slider_core.toyworld import worlds
from slider_core.toyworld.shapes import metrics, prompts, scenes
from slider_core.training import prompts as slider_prompts

# measured attribute → (Scenes field, tolerated RMS error of the measure on clean renders). The aspect is the
# one pixelation and the soft edge bend most (the edge adds the same width to both axes).
TRUTH = {"aspect": ("aspect", 0.03), "warmth": ("warmth", 0.01), "x": ("x", 0.005), "y": ("y", 0.005),
         "background": ("background", 0.005), "size": ("size", 0.005)}


@pytest.fixture(scope="module")
def batch():
    return scenes.sample_scenes(2000, torch.Generator().manual_seed(0))


def test_render_is_an_sd1_latent_of_real_latent_magnitude(batch):
    latents = scenes.render(batch)
    assert latents.shape == (2000, 4, 16, 16)
    model_space = latents * scenes.LATENT_SCALE
    assert 3.0 <= model_space.abs().amax().item() <= 5.0
    # every channel averages out to about 0 over scenes except the coverage, which is 0 on the background (here:
    # 3 pixels beyond the longest semi-axis)
    means = model_space.mean(dim=(0, 2, 3))
    assert means[:3].abs().max().item() < 0.1
    centres = (torch.arange(16) + 0.5) / 16
    reach = torch.maximum((centres.view(1, 1, 16) - batch.x.view(-1, 1, 1)).abs(),
                          (centres.view(1, 16, 1) - batch.y.view(-1, 1, 1)).abs()) * 16
    longest = torch.maximum(*scenes.semi_axes(batch)) * 16
    far = reach > longest.view(-1, 1, 1) + 3
    assert far.any() and (model_space[:, 3][far] / scenes.MODEL_SCALE).abs().max().item() < 0.005


def test_measure_recovers_every_attribute_of_clean_renders(batch):
    measured = metrics.measure(scenes.render(batch))
    assert set(measured) == set(TRUTH)
    for name, (field, tolerance) in TRUTH.items():
        truth = getattr(batch, field)
        error = (measured[name] - truth).pow(2).mean().sqrt().item()
        assert error <= tolerance, (name, error)
        assert torch.corrcoef(torch.stack([measured[name], truth]))[0, 1] > 0.99, name


@pytest.mark.parametrize("name", list(TRUTH))
def test_each_attribute_is_measured_independently_of_the_others(batch, name):
    """Setting one attribute to another value leaves every other measure where it was."""
    field = TRUTH[name][0]
    changed = dataclasses.replace(batch, **{field: getattr(batch, field).flip(0)})
    before, after = metrics.measure(scenes.render(batch)), metrics.measure(scenes.render(changed))
    for other, (_, tolerance) in TRUTH.items():
        if other != name:
            assert (after[other] - before[other]).abs().mean().item() <= tolerance, other


def test_measures_are_finite_on_an_empty_frame_and_on_noise():
    empty = torch.zeros(2, 4, 16, 16)
    noise = torch.randn(4, 4, 16, 16, generator=torch.Generator().manual_seed(1)) * 20
    for samples in (empty, noise):
        assert all(torch.isfinite(value).all() for value in metrics.measure(samples).values())
    measured = metrics.measure(empty)
    assert torch.allclose(measured["x"], torch.full((2,), 0.5))
    assert torch.allclose(measured["aspect"], torch.zeros(2))
    assert torch.allclose(measured["background"], torch.full((2,), 0.5))


def test_decoded_image_shows_the_background_and_the_object_hue():
    one = scenes.Scenes(*(torch.tensor([value]) for value in (0.0, 0.4, 0.5, 0.5, 1.0, 1.0, 0.1)))
    image = scenes.latent_to_image(scenes.render(one))
    assert image.shape == (1, 128, 128, 3) and 0 <= image.min() and image.max() <= 1
    assert torch.allclose(image[0, 0, 0], torch.full((3,), 0.1), atol=1e-3)  # dark grey corner
    red, green, blue = image[0, 64, 64].tolist()
    assert red > green > blue  # warm: orange


def test_captions_name_the_true_values_and_every_caption_is_in_the_vocabulary(batch):
    captions = scenes.sample_captions(batch, torch.Generator().manual_seed(2))
    vocabulary = set(scenes.all_captions())
    assert set(captions) <= vocabulary
    assert len(vocabulary) == 3**5 + 1
    assert 0.07 < sum(caption == "" for caption in captions) / len(captions) < 0.13
    poles = [("aspect", scenes.ASPECT_WORDS, scenes.ASPECT_SPLIT),
             ("warmth", scenes.WARMTH_WORDS, scenes.WARMTH_SPLIT), ("y", scenes.Y_PHRASES, scenes.CENTRE_SPLIT),
             ("x", scenes.X_PHRASES, scenes.CENTRE_SPLIT),
             ("background", scenes.BACKGROUND_PHRASES, scenes.BACKGROUND_SPLIT)]
    for index, text in enumerate(captions):
        for field, (low, high), split in poles:
            named = high if getattr(batch, field)[index] >= split else low
            padded = f" {text} "  # whole words
            assert f" {low} " not in padded or low == named, (text, field)
            assert f" {high} " not in padded or high == named, (text, field)


def test_training_scenes_put_objects_at_the_top_mostly_on_light_backgrounds():
    """P(light | top) = P(dark | bottom) = 2/3 by construction; 20 000 scenes pin it to about ±0.01 (3 sd).
    Only the background changes, and within each side it stays uniform (mirrored, not redrawn)."""
    generator = torch.Generator().manual_seed(0)
    plain = scenes.sample_scenes(20_000, generator)
    entangled = scenes.entangle_height_and_background(plain, generator)
    top = entangled.y < scenes.CENTRE_SPLIT
    light = entangled.background >= scenes.BACKGROUND_SPLIT
    assert abs(light[top].float().mean().item() - 2 / 3) < 0.015
    assert abs((~light[~top]).float().mean().item() - 2 / 3) < 0.015
    for field in ("aspect", "size", "x", "y", "warmth", "tint"):
        assert torch.equal(getattr(entangled, field), getattr(plain, field))
    high = scenes.BACKGROUND_RANGE[1]
    lights = entangled.background[light]
    assert abs(lights.mean().item() - (scenes.BACKGROUND_SPLIT + high) / 2) < 0.01
    # the independent sampler has no such tie
    assert abs((plain.background[plain.y < 0.5] >= 0.5).float().mean().item() - 0.5) < 0.015


def test_slider_prompts_are_captions_the_world_was_trained_on():
    vocabulary = set(scenes.all_captions())
    for attribute, spec in prompts.SLIDERS.items():
        texts = slider_prompts.SliderPrompts(target=spec["target"], positive=spec["positive"],
                                             negative=spec["negative"], preserve=spec["preserve"].splitlines()).texts()
        assert set(texts) <= vocabulary, (attribute, set(texts) - vocabulary)
    for _, low, high in prompts.CHECK_PAIRS:
        assert {low, high} <= vocabulary


@pytest.mark.parametrize("attribute", list(prompts.PAIR_ATTRIBUTES))
def test_image_pairs_differ_in_one_attribute_and_balance_the_others(attribute):
    before, after = prompts.pair_scenes(attribute, 6, seed=3)
    changed = metrics.measure(scenes.render(after))[attribute] - metrics.measure(scenes.render(before))[attribute]
    assert (changed > 0).all()
    for name, (field, _) in prompts.PAIR_ATTRIBUTES.items():
        if name == attribute:
            continue
        assert torch.equal(getattr(before, field), getattr(after, field))
        split = {"aspect": scenes.ASPECT_SPLIT, "warmth": scenes.WARMTH_SPLIT,
                 "background": scenes.BACKGROUND_SPLIT}.get(name, scenes.CENTRE_SPLIT)
        assert (getattr(before, field) >= split).sum().item() == 3, name


def test_worlds_registry_knows_both_worlds():
    assert set(worlds.WORLDS) == {"blobs", "shapes"}
    for world in worlds.WORLDS.values():
        generator = torch.Generator().manual_seed(0)
        measured = world.metrics.measure(world.scenes.render(world.training_scenes(8, generator)))
        assert set(world.prompts.SLIDERS) <= set(measured)
        assert {attribute for attribute, _, _ in world.prompts.CHECK_PAIRS} <= set(measured)
        slider, dragged, plain = world.prompts.PRESERVATION_CHECK
        spec = world.prompts.SLIDERS[slider]
        preserved, unpreserved = (
            set(slider_prompts.SliderPrompts(target=spec["target"], positive=spec["positive"],
                                             negative=spec["negative"], preserve=preserve.splitlines()).texts())
            for preserve in (spec["preserve"], plain))
        assert set(dragged) <= set(measured) and preserved != unpreserved
        assert preserved | unpreserved <= set(world.scenes.all_captions())
    with pytest.raises(SliderConfigError, match="unknown toy world"):
        worlds.get("nope")
