"""Image-pair sliders: the objective on hand-made denoisers, then Train Slider From Image Pairs in the real host on
the toy world (pairs rendered to differ in one attribute), its errors, and what the trained slider does."""
from __future__ import annotations

import json

import pytest
import torch
from ci_share import ON_2024_SNAPSHOT
from concept_sliders.slider_core import errors, evaluation
from concept_sliders.slider_core.data.images import fit_images
from concept_sliders.slider_core.toyworld import measurement
from concept_sliders.slider_core.toyworld.blobs import metrics, pairs, scenes
from concept_sliders.slider_core.training.run import NonFiniteLossError
from training_checks import progress_values, steps_before_cancel, weights_hash

from harness.host import PACK_ROOT
from harness.models import denoise

# ---------------------------------------------------------------------------------------------------------------
# The node in the real host, on the toy world


@pytest.fixture(scope="module")
def toy(host):
    return host.node("ConceptSlidersToyWorldLoader").load()


@pytest.fixture(scope="module")
def size_pairs(host):
    return host.node("ConceptSlidersToyWorldPairs").pairs("size", 6, 0)


BASE_SETTINGS = dict(before_prompt="", after_prompt="", strengths="1", rank=4, alpha=1.0, train_method="noxattn",
                     include_conv=True, steps=8, learning_rate=1e-3, seed=0, resolution=0, batch_size=1,
                     precision="auto", gradient_checkpointing=False)


def train(host, toy, pairs=None, **overrides):
    model, clip = toy
    inputs = {} if pairs is None else {"before_latent": pairs[0], "after_latent": pairs[1]}
    return host.node("ConceptSlidersTrainFromImagePairs").train(model, clip=clip, **{**BASE_SETTINGS, **inputs, **overrides})


def test_toyworld_pairs_differ_in_exactly_one_attribute():
    for attribute, field, metric in (("size", "radius", "size"), ("brightness", "brightness", "brightness"),
                                     ("position", "x", "x")):
        before, after = pairs.pair_scenes(attribute, 6, 0)
        for name in ("radius", "x", "y", "colour", "brightness"):
            same = torch.equal(getattr(before, name), getattr(after, name))
            assert same == (name != field), (attribute, name)
        from_scenes = scenes.render
        assert (metrics.measure(from_scenes(after))[metric] > metrics.measure(from_scenes(before))[metric]).all()
        assert sorted(before.colour_index.tolist()) == [0, 0, 1, 1, 2, 2]  # colours balanced across the set


def test_training_returns_a_described_slider_and_leaves_weights_bit_identical(host, toy, size_pairs):
    before = weights_hash(toy[0])
    slider, curve, preview, _ = train(host, toy, size_pairs, steps=20, after_prompt="a large blob")
    assert weights_hash(toy[0]) == before
    assert curve.shape[0] == 1 and curve.shape[-1] == 3 and curve.std() > 0
    meta = slider.metadata
    assert meta.architecture == "sd1" and meta.positive == "a large blob" and meta.negative == ""
    assert meta.extra["source"] == "image_pairs" and meta.extra["pairs"] == "6" and meta.extra["scales"] == "1"
    assert meta.extra["resolution"] == "128x128" and len(slider.deltas) > 0
    assert not torch.equal(denoise(preview), denoise(toy[0]))


def test_progress_bar_advances_once_per_step(host, toy, size_pairs):
    calls = progress_values(lambda: train(host, toy, size_pairs, steps=7))
    assert [value for value, _ in calls] == list(range(1, 8)) and {total for _, total in calls} == {7}


@pytest.mark.bad_input("cancel mid-training")
def test_cancel_stops_within_one_step_and_leaves_weights_intact(host, toy, size_pairs):
    before = weights_hash(toy[0])
    assert steps_before_cancel(lambda: train(host, toy, size_pairs, steps=50), cancel_at=3) == [1, 2, 3]
    assert weights_hash(toy[0]) == before
    assert all(not p.requires_grad or p.is_leaf for p in toy[0].model.parameters())


@pytest.mark.bad_input("diverging training")
def test_divergence_is_reported_with_the_step_and_leaves_weights_intact(host, toy, size_pairs):
    before = weights_hash(toy[0])
    with pytest.raises(NonFiniteLossError, match=r"diverged at step \d+.*lower the learning rate"):
        train(host, toy, size_pairs, steps=40, learning_rate=1.0, alpha=128.0, strengths="10")
    assert weights_hash(toy[0]) == before


def test_same_seed_same_slider_on_cpu(host, toy, size_pairs):
    first, _, _, _ = train(host, toy, size_pairs, steps=4)
    second, _, _, _ = train(host, toy, size_pairs, steps=4)
    third, _, _, _ = train(host, toy, size_pairs, steps=4, seed=1)
    assert all(torch.equal(first.deltas[k].up, second.deltas[k].up) for k in first.deltas)
    assert not all(torch.equal(first.deltas[k].up, third.deltas[k].up) for k in first.deltas)


def test_a_noise_range_trains_a_different_slider_and_is_recorded_in_the_file(host, toy, size_pairs):
    """Same seed, same pairs and noise: only the noise levels differ, so the slider must too, and whoever loads the
    file can read how it was trained."""
    whole, _, _, _ = train(host, toy, size_pairs, steps=4)
    noisy_end, _, _, _ = train(host, toy, size_pairs, steps=4, noise_min=0.75)
    assert whole.metadata.extra["noise_range"] == "0-1" and noisy_end.metadata.extra["noise_range"] == "0.75-1"
    assert not all(torch.equal(whole.deltas[k].up, noisy_end.deltas[k].up) for k in whole.deltas)


class RecordingVAE:
    """A stand-in VAE with the host VAE's encode(pixels) contract: pixels (B, H, W, 3) in [0, 1] → raw LATENT
    (B, 4, H/8, W/8), here the toy world's channel layout (RGB + a coverage channel) averaged over 8x8 cells."""

    def __init__(self) -> None:
        self.seen: list[torch.Tensor] = []

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        self.seen.append(pixels.clone())
        rgb = torch.nn.functional.avg_pool2d(pixels.movedim(-1, 1), 8)
        values = torch.cat([rgb, rgb.amax(dim=1, keepdim=True)], dim=1)
        return values * (scenes.MODEL_SCALE / scenes.LATENT_SCALE)


def test_images_are_fitted_to_the_resolution_and_encoded_by_the_vae(host, toy):
    vae = RecordingVAE()
    before, after = torch.rand(3, 200, 300, 3), torch.rand(3, 200, 300, 3)
    slider, _, _, _ = train(host, toy, vae=vae, before=before, after=after, resolution=128, steps=3)
    (pixels,) = vae.seen
    assert pixels.shape == (6, 64, 128, 3)  # both sides in one call, centre-cropped 1:2, longest side 128
    assert torch.allclose(pixels[:3], fit_images(before, (64, 128)))
    assert slider.metadata.extra["resolution"] == "128x64" and slider.metadata.extra["pairs"] == "3"


def rgb(count: int, height: int = 128, width: int = 128, channels: int = 3) -> torch.Tensor:
    return torch.rand(count, height, width, channels)


def latent(count: int, channels: int = 4, size: int = 16) -> dict[str, torch.Tensor]:
    return {"samples": torch.zeros(count, channels, size, size)}


@pytest.mark.parametrize(("inputs", "message"), [
    ({"before_latent": latent(6), "after_latent": latent(5)}, "6 'before' and 5 'after' latents"),
    ({"vae": RecordingVAE(), "before": rgb(3), "after": rgb(2)}, "3 'before' and 2 'after' images"),
    ({"vae": RecordingVAE(), "before": rgb(2), "after": rgb(2, 128, 192)},
     "'before' images are 128x128 but 'after' images are 192x128"),
    ({"before_latent": latent(2), "after_latent": latent(2, size=24)}, "must have the same size"),
    ({"vae": RecordingVAE(), "before": rgb(2)}, "'after' is not connected but 'before' is"),
    ({"after_latent": latent(2)}, "'before_latent' is not connected but 'after_latent' is"),
    ({"vae": RecordingVAE(), "before": rgb(2, channels=4), "after": rgb(2, channels=4)}, "4 channels.*RGB"),
    ({"before": rgb(2), "after": rgb(2)}, "'vae' is not connected"),
    ({}, "no pairs: connect"),
    ({"vae": RecordingVAE(), "before": rgb(2), "after": rgb(2), "before_latent": latent(2), "after_latent": latent(2)},
     "both images and latents"),
    ({"before_latent": latent(2, channels=16), "after_latent": latent(2, channels=16)}, "16 channels but the model takes 4"),
    ({"before_latent": latent(2), "after_latent": latent(2), "strengths": "0"}, "not in \\(0, 10\\]"),
    ({"before_latent": latent(2), "after_latent": latent(2), "strengths": "1, big"}, "entry 'big' is not a number"),
    ({"before_latent": latent(2), "after_latent": latent(2), "train_method": "everything"}, "unknown train method"),
    ({"before_latent": latent(2), "after_latent": latent(2), "noise_min": 0.8, "noise_max": 0.5},
     "Train Slider From Image Pairs: noise_min 0.8 is not below noise_max 0.5"),
])
@pytest.mark.bad_input("mismatched image pair")
def test_bad_inputs_are_clear_errors_naming_the_input(host, toy, inputs, message):
    before = weights_hash(toy[0])
    with pytest.raises(errors.SliderConfigError, match=message):
        train(host, toy, **inputs)
    assert weights_hash(toy[0]) == before


def test_a_single_pair_trains_with_a_warning(host, toy, size_pairs, caplog):
    one = ({"samples": size_pairs[0]["samples"][:1]}, {"samples": size_pairs[1]["samples"][:1]})
    slider, _, _, _ = train(host, toy, one, steps=2)
    assert slider.metadata.extra["pairs"] == "1"
    assert "single image pair" in caplog.text


def test_shipped_workflow_runs_in_the_host(host, sliders_dir):
    """The API workflow as shipped, shortened (training steps, sweep rows) to keep the default run fast."""
    prompt = json.loads((PACK_ROOT / "workflows" / "api" / "toyworld_image_pairs.json").read_text())
    nodes = {node["class_type"]: node for node in prompt.values()}
    nodes["ConceptSlidersTrainFromImagePairs"]["inputs"]["steps"] = 10
    nodes["ConceptSlidersSweep"]["inputs"]["rows"] = 2
    nodes["ConceptSlidersSweep"]["inputs"]["steps"] = 4
    outputs = host.run_graph({key: {"class_type": n["class_type"], "inputs": n["inputs"]} for key, n in prompt.items()})
    saved = [entry for output in outputs.values() for entry in output.get("images", [])]
    assert saved, outputs
    assert list(sliders_dir.glob("toyworld_size_pairs*.safetensors"))


# ---------------------------------------------------------------------------------------------------------------
# What the trained slider does (slow: ~1 minute, 400 training steps and an 80-image sweep)

STRENGTHS = [-2.0, -1.0, 0.0, 1.0, 2.0]
LOCALITY_RATIO = 0.35


@pytest.mark.slow
@ON_2024_SNAPSHOT
def test_size_pairs_give_a_size_slider_that_leaves_other_attributes(host, toy, size_pairs):
    """6 pairs that differ only in blob size → a slider whose sweep (−2…2, 16 seeds sharing noise across
    strengths, 'a blob', CFG 4, 20 Euler steps) grows the blob monotonically on every seed (median ρ ≥ 0.9) and
    moves every other attribute, in units of its own spread, at most 0.35× as far (tests/test_semantics.py).

    1e-3 is the toy world's rate (its UNet is far smaller than SD's; see PairConfig). 400 steps: with 6 pairs the
    locality of shorter runs depends on the seed (200 steps: worst other/size 0.36, 0.77, 0.57 for seeds 0-2;
    400 steps: 0.24, 0.13, 0.17, measured on the first toy weights; on the current, entangled ones seed 0 gives
    0.26)."""
    slider, _, _, _ = train(host, toy, size_pairs, steps=400, learning_rate=1e-3)
    encode = host.node("CLIPTextEncode").encode
    latents, _ = host.node("ConceptSlidersSweep").sweep(
        toy[0], slider, encode(toy[1], "a blob")[0], encode(toy[1], "")[0], seed=0, rows=16, steps=20, cfg=4.0,
        sampler_name="euler", scheduler="normal", width=128, height=128, strengths=", ".join(map(str, STRENGTHS)),
        start_percent=0.0)
    table = measurement.sweep_table(latents["samples"], STRENGTHS, metrics.measure)
    effects = {name: evaluation.sweep_effect(STRENGTHS, values) for name, values in table.items()}
    size = effects["size"]
    ratios = {name: effect.effect / size.effect for name, effect in effects.items() if name != "size"}
    print(f"\nimage-pair size slider: rho {size.rho:.2f}, effect {size.effect:.2f}, others/size "
          + ", ".join(f"{name} {ratio:.2f}" for name, ratio in ratios.items()))
    assert size.rho >= 0.9 and size.change > 0
    assert all(ratio <= LOCALITY_RATIO for ratio in ratios.values()), ratios

