"""Image-pair sliders: the objective on hand-made denoisers, then Train Slider From Image Pairs in the real host on
the toy world (pairs rendered to differ in one attribute), its errors, and what the trained slider does."""
from __future__ import annotations

import importlib
import json
from collections import Counter

import pytest
import torch
from host import PACK_NAME, PACK_ROOT, denoise
from torch import nn
from training_checks import progress_values, steps_before_cancel, weights_hash

errors = importlib.import_module(f"{PACK_NAME}.slider_core.errors")
train_pairs = importlib.import_module(f"{PACK_NAME}.slider_core.train_pairs")
train_module = importlib.import_module(f"{PACK_NAME}.slider_core.train")
lora = importlib.import_module(f"{PACK_NAME}.slider_core.lora")
evaluation = importlib.import_module(f"{PACK_NAME}.slider_core.evaluation")
metrics = importlib.import_module(f"{PACK_NAME}.slider_core.toyworld.metrics")
train_images = importlib.import_module(f"{PACK_NAME}.nodes.train_images")
toyworld_pairs = importlib.import_module(f"{PACK_NAME}.nodes.toyworld_pairs")
measure_module = importlib.import_module(f"{PACK_NAME}.nodes.toyworld_measure")

SIGMAS = torch.linspace(0.03, 14.6, 1000)  # an SD-like discrete σ table, ascending


# ---------------------------------------------------------------------------------------------------------------
# The objective and loop on hand-made denoisers (no host model involved)


class SharedNoiseOracle:
    """Predicts the noise of the latest 'before' rows, (x_A − x₀_A)/σ, for 'before' and 'after' rows alike (told
    apart by prompt id: 0 before, 1 after), whether both sides come in one call or in two. Its loss is zero
    exactly when the 'after' rows were noised with the same ε at the same σ and the loss's target is that ε.
    Records every call. The slider's adaptor hooks a probe layer whose output is discarded."""

    def __init__(self, before: torch.Tensor) -> None:
        self.root = nn.Module()
        self.root.probe = nn.Linear(1, 1)
        self.sigmas = SIGMAS
        self.device = torch.device("cpu")
        self.latent_channels = before.shape[1]
        self.before = before
        self.calls: list[tuple[torch.Tensor, torch.Tensor, list[int]]] = []
        self.noise = torch.zeros(0)

    def eps(self, x: torch.Tensor, sigma: torch.Tensor, prompts) -> torch.Tensor:
        self.calls.append((x.detach().clone(), sigma.clone(), list(prompts)))
        side = torch.tensor(list(prompts))
        if (side == 0).any():
            self.noise = (x[side == 0] - self.before) / sigma[side == 0].view(-1, 1, 1, 1)
        out = torch.empty_like(x)
        for value in (0, 1):
            if (side == value).any():
                out[side == value] = self.noise
        probe = self.root.probe(torch.ones(x.shape[0], 1)).sum() * 0.0  # runs the adaptor hook, adds nothing
        return out + probe


def oracle_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    return torch.randn(1, 4, 8, 8, generator=generator), torch.randn(1, 4, 8, 8, generator=generator) + 2.0


def run_oracle(config, monkeypatch=None):
    """(result, per-step [(x, σ, prompt ids, slider scales)] with both sides' rows concatenated, pair)."""
    before, after = oracle_pairs()
    oracle = SharedNoiseOracle(before)
    scales_seen: list[torch.Tensor] = []
    if monkeypatch is not None:
        original = lora.TrainableSlider.attached

        def recording(self, root, scales):
            scales_seen.append(scales.clone())
            return original(self, root, scales)

        monkeypatch.setattr(lora.TrainableSlider, "attached", recording)
    result = train_pairs.train_pair_slider(oracle, before, after, config, ["probe"], {"probe": "lora_unet_probe"})
    per_step = len(oracle.calls) // config.steps
    steps = []
    for step in range(config.steps):
        calls = oracle.calls[step * per_step:(step + 1) * per_step]
        scales = torch.cat(scales_seen[step * per_step:(step + 1) * per_step]) if scales_seen else None
        steps.append((torch.cat([c[0] for c in calls]), torch.cat([c[1] for c in calls]),
                      [p for c in calls for p in c[2]], scales))
    return result, steps, (before, after)


@pytest.mark.parametrize("batching", train_pairs.SIDE_BATCHING)
def test_same_noise_pairing_a_perfect_prediction_has_zero_loss(batching):
    """Tolerance 1e-10: (x₀ + σε − x₀)/σ recovers ε up to float32 rounding (~1e-7 relative), squared."""
    config = train_pairs.PairConfig(steps=12, learning_rate=1e-3, side_batching=batching)
    result, steps, (before, after) = run_oracle(config)
    assert max(result.losses) < 1e-10
    for x, sigma, _, _ in steps:
        assert torch.equal(sigma[:1], sigma[1:])  # both sides of the pair at one noise level
        noise_before = (x[:1] - before) / sigma[0]
        noise_after = (x[1:] - after) / sigma[1]
        assert torch.allclose(noise_before, noise_after, atol=1e-5)
        assert sigma[0] in SIGMAS  # drawn from the model's own table


@pytest.mark.parametrize("batching", train_pairs.SIDE_BATCHING)
def test_before_is_evaluated_at_minus_s_and_after_at_plus_s(monkeypatch, batching):
    config = train_pairs.PairConfig(steps=6, learning_rate=1e-3, scales=(1.5,), batch_size=2, side_batching=batching)
    result, steps, (before, after) = run_oracle(config, monkeypatch)
    assert len(steps) == 6 and len(result.losses) == 6
    for x, sigma, prompts, scales in steps:
        assert scales.tolist() == [-1.5, -1.5, 1.5, 1.5]
        assert prompts == [0, 0, 1, 1]  # before rows carry the before prompt (c_A), after rows c_B
        spread = sigma[:2].view(-1, 1, 1, 1)
        assert torch.allclose((x[:2] - before) / spread, (x[2:] - after) / spread, atol=1e-5)  # x_A rows first


def test_multi_level_scales_are_drawn_per_step_from_the_list(monkeypatch):
    config = train_pairs.PairConfig(steps=60, learning_rate=1e-3, scales=(1.0, 2.0))
    _, steps, _ = run_oracle(config, monkeypatch)
    levels = Counter(float(scales[1]) for _, _, _, scales in steps)
    assert set(levels) == {1.0, 2.0} and min(levels.values()) >= 15  # both drawn, roughly evenly
    assert all(float(scales[0]) == -float(scales[1]) for _, _, _, scales in steps)


class ConvDenoiser:
    """A 'UNet' that predicts x₀ with a 1x1 convolution of (x scaled, a constant channel), ε = (x − x̂₀)/σ as
    ComfyDenoiser derives it. Frozen at zero (it believes every image is 0), so only the slider can tell a
    before image (−1) from an after image (+1), through the constant channel."""

    def __init__(self) -> None:
        self.root = nn.Module()
        self.root.conv = nn.Conv2d(5, 4, 1)
        nn.init.zeros_(self.root.conv.weight)
        nn.init.zeros_(self.root.conv.bias)
        self.sigmas = torch.linspace(0.5, 2.0, 50)
        self.device = torch.device("cpu")
        self.latent_channels = 4

    def eps(self, x: torch.Tensor, sigma: torch.Tensor, prompts) -> torch.Tensor:
        spread = sigma.view(-1, 1, 1, 1)
        features = torch.cat([x / torch.sqrt(spread**2 + 1), torch.ones_like(x[:, :1])], dim=1)
        return (x - self.root.conv(features)) / spread


def test_trained_slider_denoises_after_at_plus_and_before_at_minus():
    """Behavioural sign check: after training, the 'after' image (+1) is denoised well at strength +1 and badly
    at −1, the 'before' image (−1) the other way round (same noise for all, mean over 32 draws)."""
    denoiser = ConvDenoiser()
    before, after = torch.full((2, 4, 8, 8), -1.0), torch.full((2, 4, 8, 8), 1.0)
    config = train_pairs.PairConfig(steps=100, learning_rate=3e-2)
    result = train_pairs.train_pair_slider(denoiser, before, after, config, ["conv"], {"conv": "lora_unet_conv"})
    noise = torch.randn(32, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    sigma = torch.full((32,), 1.0)

    def error(clean: torch.Tensor, scale: float) -> float:
        with torch.no_grad(), result.slider.attached(denoiser.root, torch.full((32,), scale)):
            return float(((denoiser.eps(clean[:1] + noise, sigma, [0] * 32) - noise) ** 2).mean())

    assert error(after, 1.0) < 0.1 * error(after, -1.0)
    assert error(before, -1.0) < 0.1 * error(before, 1.0)


def test_joint_and_separate_side_batching_train_the_same_slider():
    """One forward over both sides and two accumulated passes (the default) compute the same gradient; the
    tolerance allows float32 summation-order differences that Adam's normalisation can amplify on ~0 gradients."""
    before, after = torch.randn(3, 4, 8, 8, generator=torch.Generator().manual_seed(0)), torch.zeros(3, 4, 8, 8)
    sliders = []
    for batching in ("joint", "separate"):
        config = train_pairs.PairConfig(steps=5, learning_rate=1e-3, batch_size=2, side_batching=batching)
        result = train_pairs.train_pair_slider(ConvDenoiser(), before, after, config, ["conv"], {"conv": "lora_unet_conv"})
        sliders.append(result)
    joint, separate = sliders
    assert joint.losses == pytest.approx(separate.losses, rel=1e-5)
    for a, b in zip(joint.slider.parameters(), separate.slider.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert joint.stats == separate.stats  # the same number of UNet evaluations


def test_pair_sampler_visits_every_pair_equally():
    sampler = train_pairs.PairSampler(3, torch.Generator().manual_seed(0))
    drawn = [index for _ in range(6) for index in sampler.take(2)]
    assert Counter(drawn) == {0: 4, 1: 4, 2: 4}


@pytest.mark.parametrize(("settings", "message"), [
    ({"scales": (0.0,)}, "not in \\(0, 10\\]"),
    ({"scales": (-1.0,)}, "positive strengths only"),
    ({"scales": ()}, "scales is empty"),
    ({"steps": 0}, "steps must be at least 1"),
    ({"learning_rate": 0.0}, "learning rate must be positive"),
    ({"batch_size": 0}, "batch size must be at least 1"),
])
@pytest.mark.bad_input("bad training setting")
def test_pair_config_is_validated(settings, message):
    with pytest.raises(errors.SliderConfigError, match=message):
        train_pairs.PairConfig(**settings)


def test_pair_config_from_dict_refuses_unknown_keys():
    assert train_pairs.PairConfig.from_dict({"steps": 3}).steps == 3
    with pytest.raises(errors.SliderConfigError, match="unknown training settings \\['bidirectional'\\]"):
        train_pairs.PairConfig.from_dict({"bidirectional": True})


@pytest.mark.bad_input("bad training setting")
def test_scales_text_is_parsed_and_bad_entries_named():
    assert train_pairs.parse_scales("1") == (1.0,)
    assert train_pairs.parse_scales(" 1, 2 3") == (1.0, 2.0, 3.0)
    with pytest.raises(errors.SliderConfigError, match="entry 'two' is not a number"):
        train_pairs.parse_scales("1, two")
    with pytest.raises(errors.SliderConfigError, match="holds no numbers"):
        train_pairs.parse_scales(" , ")


@pytest.mark.parametrize(("shape", "resolution", "frame"), [
    ((200, 300), 128, (64, 128)),  # landscape 3:2 → 1:2 is the closest multiple-of-64 box at 128
    ((300, 200), 128, (128, 64)),
    ((512, 512), 512, (512, 512)),
    ((600, 800), 512, (384, 512)),  # 4:3 exactly
    ((100, 1000), 256, (64, 256)),  # never below 64
])
def test_pair_frame_keeps_the_longest_side_and_the_closest_aspect(shape, resolution, frame):
    assert train_pairs.pair_frame(*shape, resolution) == frame


def test_fit_images_crops_the_centre_instead_of_squashing():
    """A 200x300 image whose rows 25-174 are white and the rest black: the 1:2 frame is exactly that band, so a
    crop gives pure white; squashing the whole image would keep black stripes. Tolerance 1e-5: antialiased
    bilinear weights sum to 1 only up to float32 rounding."""
    image = torch.zeros(1, 200, 300, 3)
    image[:, 25:175] = 1.0
    fitted = train_pairs.fit_images(image, (64, 128))
    assert fitted.shape == (1, 64, 128, 3) and torch.allclose(fitted, torch.ones_like(fitted), atol=1e-5)
    tall = torch.zeros(1, 300, 200, 3)
    tall[:, :, 25:175] = 1.0
    assert torch.allclose(train_pairs.fit_images(tall, (128, 64)), torch.ones(1, 128, 64, 3), atol=1e-5)


@pytest.mark.parametrize(("before", "after", "message"), [
    ((6, 4, 16, 16), (5, 4, 16, 16), "6 'before' and 5 'after' latents"),
    ((2, 4, 16, 16), (2, 4, 16, 24), "must have the same size"),
    ((2, 16, 16, 16), (2, 16, 16, 16), "16 channels but the model takes 4"),
    ((2, 4, 12, 16), (2, 4, 12, 16), "multiples of 8"),
    ((0, 4, 16, 16), (0, 4, 16, 16), "no pairs"),
])
@pytest.mark.bad_input("mismatched image pair")
def test_pair_latents_are_checked(before, after, message):
    with pytest.raises(errors.SliderConfigError, match=message):
        train_pairs.check_pairs(torch.zeros(before), torch.zeros(after), 4)


# ---------------------------------------------------------------------------------------------------------------
# The node in the real host, on the toy world


@pytest.fixture(scope="module")
def toy(host):
    return host.node("ConceptSlidersToyWorldLoader").load()


@pytest.fixture(scope="module")
def size_pairs(host):
    return host.node("ConceptSlidersToyWorldPairs").pairs("size", 6, 0)


BASE_SETTINGS = dict(before_prompt="", after_prompt="", scales="1", rank=4, alpha=1.0, train_method="noxattn",
                     include_conv=True, steps=8, learning_rate=1e-3, seed=0, resolution=0, batch_size=1,
                     precision="auto", gradient_checkpointing=False)


def train(host, toy, pairs=None, **overrides):
    model, clip = toy
    inputs = {} if pairs is None else {"before_latent": pairs[0], "after_latent": pairs[1]}
    return host.node("ConceptSlidersTrainFromImagePairs").train(model, clip, **{**BASE_SETTINGS, **inputs, **overrides})


def test_toyworld_pairs_differ_in_exactly_one_attribute():
    for attribute, field, metric in (("size", "radius", "size"), ("brightness", "brightness", "brightness"),
                                     ("position", "x", "x")):
        before, after = toyworld_pairs.pair_scenes(attribute, 6, 0)
        for name in ("radius", "x", "y", "colour", "brightness"):
            same = torch.equal(getattr(before, name), getattr(after, name))
            assert same == (name != field), (attribute, name)
        from_scenes = toyworld_pairs.scenes.render
        assert (metrics.measure(from_scenes(after))[metric] > metrics.measure(from_scenes(before))[metric]).all()
        assert sorted(before.colour_index.tolist()) == [0, 0, 1, 1, 2, 2]  # colours balanced across the set


def test_training_returns_a_described_slider_and_leaves_weights_bit_identical(host, toy, size_pairs):
    before = weights_hash(toy[0])
    slider, curve, preview = train(host, toy, size_pairs, steps=20, after_prompt="a large blob")
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
    with pytest.raises(train_module.NonFiniteLossError, match=r"diverged at step \d+.*lower the learning rate"):
        train(host, toy, size_pairs, steps=40, learning_rate=1.0, alpha=128.0, scales="10")
    assert weights_hash(toy[0]) == before


def test_same_seed_same_slider_on_cpu(host, toy, size_pairs):
    first, _, _ = train(host, toy, size_pairs, steps=4)
    second, _, _ = train(host, toy, size_pairs, steps=4)
    third, _, _ = train(host, toy, size_pairs, steps=4, seed=1)
    assert all(torch.equal(first.deltas[k].up, second.deltas[k].up) for k in first.deltas)
    assert not all(torch.equal(first.deltas[k].up, third.deltas[k].up) for k in first.deltas)


class RecordingVAE:
    """A stand-in VAE with the host VAE's encode(pixels) contract: pixels (B, H, W, 3) in [0, 1] → raw LATENT
    (B, 4, H/8, W/8), here the toy world's channel layout (RGB + a coverage channel) averaged over 8x8 cells."""

    def __init__(self) -> None:
        self.seen: list[torch.Tensor] = []

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        self.seen.append(pixels.clone())
        rgb = torch.nn.functional.avg_pool2d(pixels.movedim(-1, 1), 8)
        values = torch.cat([rgb, rgb.amax(dim=1, keepdim=True)], dim=1)
        return values * (toyworld_pairs.scenes.MODEL_SCALE / toyworld_pairs.scenes.LATENT_SCALE)


def test_images_are_fitted_to_the_resolution_and_encoded_by_the_vae(host, toy):
    vae = RecordingVAE()
    before, after = torch.rand(3, 200, 300, 3), torch.rand(3, 200, 300, 3)
    slider, _, _ = train(host, toy, vae=vae, before=before, after=after, resolution=128, steps=3)
    (pixels,) = vae.seen
    assert pixels.shape == (6, 64, 128, 3)  # both sides in one call, centre-cropped 1:2, longest side 128
    assert torch.allclose(pixels[:3], train_pairs.fit_images(before, (64, 128)))
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
    ({"before_latent": latent(2), "after_latent": latent(2), "scales": "0"}, "positive strengths only"),
    ({"before_latent": latent(2), "after_latent": latent(2), "scales": "1, big"}, "entry 'big' is not a number"),
    ({"before_latent": latent(2), "after_latent": latent(2), "train_method": "everything"}, "unknown train method"),
])
@pytest.mark.bad_input("mismatched image pair")
def test_bad_inputs_are_clear_errors_naming_the_input(host, toy, inputs, message):
    before = weights_hash(toy[0])
    with pytest.raises(errors.SliderConfigError, match=message):
        train(host, toy, **inputs)
    assert weights_hash(toy[0]) == before


def test_a_single_pair_trains_with_a_warning(host, toy, size_pairs, caplog):
    one = ({"samples": size_pairs[0]["samples"][:1]}, {"samples": size_pairs[1]["samples"][:1]})
    slider, _, _ = train(host, toy, one, steps=2)
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
def test_size_pairs_give_a_size_slider_that_leaves_other_attributes(host, toy, size_pairs):
    """6 pairs that differ only in blob size → a slider whose sweep (−2…2, 16 seeds sharing noise across
    strengths, 'a blob', CFG 4, 20 Euler steps) grows the blob monotonically on every seed (median ρ ≥ 0.9) and
    moves every other attribute, in units of its own spread, at most 0.35× as far (tests/test_semantics.py).

    1e-3 is the toy world's rate (its UNet is far smaller than SD's; see PairConfig). 400 steps: with 6 pairs the
    locality of shorter runs depends on the seed (200 steps: worst other/size 0.36, 0.77, 0.57 for seeds 0-2;
    400 steps: 0.24, 0.13, 0.17, measured on the first toy weights; on the current, entangled ones seed 0 gives
    0.26)."""
    slider, _, _ = train(host, toy, size_pairs, steps=400, learning_rate=1e-3)
    encode = host.node("CLIPTextEncode").encode
    latents, _ = host.node("ConceptSlidersSweep").sweep(
        toy[0], slider, encode(toy[1], "a blob")[0], encode(toy[1], "")[0], seed=0, rows=16, steps=20, cfg=4.0,
        sampler_name="euler", scheduler="normal", width=128, height=128, strengths=", ".join(map(str, STRENGTHS)),
        start_percent=0.0)
    table = measure_module.sweep_table(latents["samples"], STRENGTHS)
    effects = {name: evaluation.sweep_effect(STRENGTHS, values) for name, values in table.items()}
    size = effects["size"]
    ratios = {name: effect.effect / size.effect for name, effect in effects.items() if name != "size"}
    print(f"\nimage-pair size slider: rho {size.rho:.2f}, effect {size.effect:.2f}, others/size "
          + ", ".join(f"{name} {ratio:.2f}" for name, ratio in ratios.items()))
    assert size.rho >= 0.9 and size.change > 0
    assert all(ratio <= LOCALITY_RATIO for ratio in ratios.values()), ratios

