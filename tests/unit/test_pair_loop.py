"""The image-pair loop, its settings and its data checks on hand-made denoisers: no host model involved."""
from __future__ import annotations

from collections import Counter

import pytest
import torch
from torch import nn

from slider_core import errors
from slider_core.adaptors.trainable import TrainableSlider
from slider_core.data.images import fit_images, pair_frame
from slider_core.data.pair_latents import check_pairs
from slider_core.training.configs import SIDE_BATCHING, PairSliderConfig
from slider_core.training.noise import NoiseSchedule
from slider_core.training.pair_loop import PairSampler, train_pair_slider

SIGMAS = torch.linspace(0.03, 14.6, 1000)  # an SD-like discrete σ table, ascending


class SharedNoiseOracle:
    """Predicts the noise of the latest 'before' rows, (x_A − x₀_A)/σ, for 'before' and 'after' rows alike (told
    apart by prompt id: 0 before, 1 after), whether both sides come in one call or in two. Its loss is zero
    exactly when the 'after' rows were noised with the same ε at the same σ and the loss's target is that ε.
    Records every call. The slider's adaptor hooks a probe layer whose output is discarded."""

    def __init__(self, before: torch.Tensor) -> None:
        self.root = nn.Module()
        self.root.probe = nn.Linear(1, 1)
        self.schedule = NoiseSchedule(SIGMAS)
        self.device = torch.device("cpu")
        self.latent_multiple = 8
        self.before = before
        self.calls: list[tuple[torch.Tensor, torch.Tensor, list[int]]] = []
        self.noise = torch.zeros(0)

    def latent_shape(self, height: int, width: int) -> tuple[int, ...]:
        return (self.before.shape[1], height, width)

    def predict(self, x: torch.Tensor, sigma: torch.Tensor, prompts) -> torch.Tensor:
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
        original = TrainableSlider.attached

        def recording(self, root, scales):
            scales_seen.append(scales.clone())
            return original(self, root, scales)

        monkeypatch.setattr(TrainableSlider, "attached", recording)
    result = train_pair_slider(oracle, before, after, config, ["probe"], {"probe": "lora_unet_probe"})
    per_step = len(oracle.calls) // config.steps
    steps = []
    for step in range(config.steps):
        calls = oracle.calls[step * per_step:(step + 1) * per_step]
        scales = torch.cat(scales_seen[step * per_step:(step + 1) * per_step]) if scales_seen else None
        steps.append((torch.cat([c[0] for c in calls]), torch.cat([c[1] for c in calls]),
                      [p for c in calls for p in c[2]], scales))
    return result, steps, (before, after)


@pytest.mark.parametrize("batching", SIDE_BATCHING)
def test_same_noise_pairing_a_perfect_prediction_has_zero_loss(batching):
    """Tolerance 1e-10: (x₀ + σε − x₀)/σ recovers ε up to float32 rounding (~1e-7 relative), squared."""
    config = PairSliderConfig(steps=12, learning_rate=1e-3, side_batching=batching)
    result, steps, (before, after) = run_oracle(config)
    assert max(result.losses) < 1e-10
    for x, sigma, _, _ in steps:
        assert torch.equal(sigma[:1], sigma[1:])  # both sides of the pair at one noise level
        noise_before = (x[:1] - before) / sigma[0]
        noise_after = (x[1:] - after) / sigma[1]
        assert torch.allclose(noise_before, noise_after, atol=1e-5)
        assert sigma[0] in SIGMAS  # drawn from the model's own table


@pytest.mark.parametrize("batching", SIDE_BATCHING)
def test_before_is_evaluated_at_minus_s_and_after_at_plus_s(monkeypatch, batching):
    config = PairSliderConfig(steps=6, learning_rate=1e-3, strengths=(1.5,), batch_size=2, side_batching=batching)
    result, steps, (before, after) = run_oracle(config, monkeypatch)
    assert len(steps) == 6 and len(result.losses) == 6
    for x, sigma, prompts, scales in steps:
        assert scales.tolist() == [-1.5, -1.5, 1.5, 1.5]
        assert prompts == [0, 0, 1, 1]  # before rows carry the before prompt (c_A), after rows c_B
        spread = sigma[:2].view(-1, 1, 1, 1)
        assert torch.allclose((x[:2] - before) / spread, (x[2:] - after) / spread, atol=1e-5)  # x_A rows first


def test_pairs_are_noised_only_inside_the_noise_range():
    _, steps, _ = run_oracle(PairSliderConfig(steps=60, learning_rate=1e-3, noise_range=(0.75, 1.0)))
    drawn = torch.cat([sigma for _, sigma, _, _ in steps])
    assert drawn.min() >= SIGMAS[750] and drawn.max() <= SIGMAS[-1]
    _, whole, _ = run_oracle(PairSliderConfig(steps=60, learning_rate=1e-3))
    assert torch.cat([sigma for _, sigma, _, _ in whole]).min() < SIGMAS[750], "the default spans the schedule"


def test_multi_level_scales_are_drawn_per_step_from_the_list(monkeypatch):
    config = PairSliderConfig(steps=60, learning_rate=1e-3, strengths=(1.0, 2.0))
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
        self.schedule = NoiseSchedule(torch.linspace(0.5, 2.0, 50))
        self.device = torch.device("cpu")
        self.latent_multiple = 8

    def latent_shape(self, height: int, width: int) -> tuple[int, ...]:
        return (4, height, width)

    def predict(self, x: torch.Tensor, sigma: torch.Tensor, prompts) -> torch.Tensor:
        spread = sigma.view(-1, 1, 1, 1)
        features = torch.cat([x / torch.sqrt(spread**2 + 1), torch.ones_like(x[:, :1])], dim=1)
        return (x - self.root.conv(features)) / spread


def test_trained_slider_denoises_after_at_plus_and_before_at_minus():
    """Behavioural sign check: after training, the 'after' image (+1) is denoised well at strength +1 and badly
    at −1, the 'before' image (−1) the other way round (same noise for all, mean over 32 draws)."""
    denoiser = ConvDenoiser()
    before, after = torch.full((2, 4, 8, 8), -1.0), torch.full((2, 4, 8, 8), 1.0)
    config = PairSliderConfig(steps=100, learning_rate=3e-2)
    result = train_pair_slider(denoiser, before, after, config, ["conv"], {"conv": "lora_unet_conv"})
    noise = torch.randn(32, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    sigma = torch.full((32,), 1.0)

    def error(clean: torch.Tensor, scale: float) -> float:
        with torch.no_grad(), result.slider.attached(denoiser.root, torch.full((32,), scale)):
            return float(((denoiser.predict(clean[:1] + noise, sigma, [0] * 32) - noise) ** 2).mean())

    assert error(after, 1.0) < 0.1 * error(after, -1.0)
    assert error(before, -1.0) < 0.1 * error(before, 1.0)


def test_joint_and_separate_side_batching_train_the_same_slider():
    """One forward over both sides and two accumulated passes (the default) compute the same gradient; the
    tolerance allows float32 summation-order differences that Adam's normalisation can amplify on ~0 gradients."""
    before, after = torch.randn(3, 4, 8, 8, generator=torch.Generator().manual_seed(0)), torch.zeros(3, 4, 8, 8)
    sliders = []
    for batching in ("joint", "separate"):
        config = PairSliderConfig(steps=5, learning_rate=1e-3, batch_size=2, side_batching=batching)
        result = train_pair_slider(ConvDenoiser(), before, after, config, ["conv"], {"conv": "lora_unet_conv"})
        sliders.append(result)
    joint, separate = sliders
    assert joint.losses == pytest.approx(separate.losses, rel=1e-5)
    for a, b in zip(joint.slider.parameters(), separate.slider.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert joint.stats == separate.stats  # the same number of UNet evaluations


def test_pair_sampler_visits_every_pair_equally():
    sampler = PairSampler(3, torch.Generator().manual_seed(0))
    drawn = [index for _ in range(6) for index in sampler.take(2)]
    assert Counter(drawn) == {0: 4, 1: 4, 2: 4}


@pytest.mark.parametrize(("settings", "message"), [
    ({"strengths": (0.0,)}, "not in \\(0, 10\\]"),
    ({"strengths": (-1.0,)}, "positive strengths only"),
    ({"strengths": ()}, "strengths is empty"),
    ({"steps": 0}, "steps must be at least 1"),
    ({"learning_rate": 0.0}, r"learning rate must be a finite number in \(0, 1\]"),
    ({"batch_size": 0}, "batch size must be at least 1"),
    ({"noise_range": (0.9, 0.2)}, "noise range must be two numbers 0 ≤ low < high ≤ 1"),
])
@pytest.mark.bad_input("bad training setting")
def test_pair_config_is_validated(settings, message):
    with pytest.raises(errors.SliderConfigError, match=message):
        PairSliderConfig(**settings)


def test_pair_config_from_dict_refuses_unknown_keys():
    assert PairSliderConfig.from_dict({"steps": 3}).steps == 3
    with pytest.raises(errors.SliderConfigError, match="unknown key 'bidirectional'"):
        PairSliderConfig.from_dict({"bidirectional": True})


@pytest.mark.parametrize(("shape", "resolution", "frame"), [
    ((200, 300), 128, (64, 128)),  # landscape 3:2 → 1:2 is the closest multiple-of-64 box at 128
    ((300, 200), 128, (128, 64)),
    ((512, 512), 512, (512, 512)),
    ((600, 800), 512, (384, 512)),  # 4:3 exactly
    ((100, 1000), 256, (64, 256)),  # never below 64
])
def test_pair_frame_keeps_the_longest_side_and_the_closest_aspect(shape, resolution, frame):
    assert pair_frame(*shape, resolution) == frame


def test_fit_images_crops_the_centre_instead_of_squashing():
    """A 200x300 image whose rows 25-174 are white and the rest black: the 1:2 frame is exactly that band, so a
    crop gives pure white; squashing the whole image would keep black stripes. Tolerance 1e-5: antialiased
    bilinear weights sum to 1 only up to float32 rounding."""
    image = torch.zeros(1, 200, 300, 3)
    image[:, 25:175] = 1.0
    fitted = fit_images(image, (64, 128))
    assert fitted.shape == (1, 64, 128, 3) and torch.allclose(fitted, torch.ones_like(fitted), atol=1e-5)
    tall = torch.zeros(1, 300, 200, 3)
    tall[:, :, 25:175] = 1.0
    assert torch.allclose(fit_images(tall, (128, 64)), torch.ones(1, 128, 64, 3), atol=1e-5)


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
        check_pairs(torch.zeros(before), torch.zeros(after), lambda h, w: (4, h, w), 8)


class KinkDenoiser:
    """A finite loss whose gradient is infinite: the prediction depends on √|branch output|, and the slider's
    branch starts at exactly 0, where √ has an infinite slope. AdamW then turns the first update into NaN."""

    def __init__(self) -> None:
        self.root = nn.Module()
        self.root.probe = nn.Linear(1, 1)
        self.schedule = NoiseSchedule(torch.linspace(0.5, 2.0, 50))
        self.device = torch.device("cpu")
        self.latent_multiple = 8

    def latent_shape(self, height: int, width: int) -> tuple[int, ...]:
        return (4, height, width)

    def predict(self, x: torch.Tensor, sigma: torch.Tensor, prompts) -> torch.Tensor:
        ones = torch.ones(x.shape[0], 1)
        branch = self.root.probe(ones) - (self.root.probe.weight + self.root.probe.bias).detach()
        return torch.zeros_like(x) + torch.sqrt(branch.abs()).view(-1, 1, 1, 1)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.bad_input("non-finite slider weights after a finite loss")
def test_a_run_never_returns_a_slider_with_non_finite_weights(seed):
    before, after = torch.zeros(2, 4, 8, 8), torch.ones(2, 4, 8, 8)
    config = PairSliderConfig(steps=3, learning_rate=1e-3, seed=seed)
    with pytest.raises(errors.SliderError, match=r"diverged at step 1: the slider's weights became NaN or inf; "
                                                 r"lower the learning rate \(now 0.001\)"):
        train_pair_slider(KinkDenoiser(), before, after, config, ["probe"], {"probe": "lora_unet_probe"})
