"""Live training previews in the core: when they are due, what they show, and that they never change the slider."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from slider_core import errors
from slider_core.charts.grid import strip_height
from slider_core.charts.preview_strip import MIN_TILE, preview_strip, tile_scale
from slider_core.training.configs import PairSliderConfig, TextSliderConfig
from slider_core.training.noise import NoiseSchedule
from slider_core.training.pair_loop import train_pair_slider
from slider_core.training.previews import PreviewConfig, Previews
from slider_core.training.prompts import SliderPrompts
from slider_core.training.text_loop import train_text_slider

SIGMAS = torch.linspace(0.03, 14.6, 1000)  # an SD-like discrete σ table, ascending
LATENT = (4, 8, 8)


class ConvDenoiser:
    """A 1×1 convolution of x_t plus a per-prompt bias as the ε prediction: small, deterministic, and adaptable."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.root = nn.Module()
        self.root.net = nn.Conv2d(4, 4, 1)
        self.bias = torch.randn(8, 4, 1, 1)
        self.schedule = NoiseSchedule(SIGMAS)
        self.device = torch.device("cpu")
        self.latent_multiple = 8

    def latent_shape(self, height: int, width: int) -> tuple[int, ...]:
        return (4, height, width)

    def predict(self, x: torch.Tensor, sigma: torch.Tensor, prompts) -> torch.Tensor:
        scaled = x / (1.0 + sigma.view(-1, 1, 1, 1) ** 2).sqrt()
        return self.root.net(scaled) + self.bias[list(prompts)]


def decode(latents: torch.Tensor) -> torch.Tensor:
    return latents[:, :3].sigmoid().permute(0, 2, 3, 1)


def recorder() -> tuple[list[tuple[int, int, tuple[int, ...]]], object]:
    shown: list[tuple[int, int, tuple[int, ...]]] = []
    return shown, lambda strip, step, total: shown.append((step, total, tuple(strip.shape)))


def train_pairs(previews: Previews | None, steps: int = 7):
    generator = torch.Generator().manual_seed(1)
    before, after = torch.randn(2, *LATENT, generator=generator), torch.randn(2, *LATENT, generator=generator)
    config = PairSliderConfig(steps=steps, learning_rate=1e-2)
    return train_pair_slider(ConvDenoiser(), before, after, config, ["net"], {"net": "lora_unet_net"},
                             previews=previews)


def train_text(previews: Previews | None, steps: int = 6):
    config = TextSliderConfig(steps=steps, learning_rate=1e-2, latent_size=(8, 8), trajectory_steps=4,
                              refresh_every=3)
    prompts = SliderPrompts("a blob", "a large blob", "a small blob", [])
    return train_text_slider(ConvDenoiser(), prompts, config, ["net"], {"net": "lora_unet_net"}, previews=previews)


def factors(result) -> list[torch.Tensor]:
    return [tensor for adaptor in result.slider.adaptors for tensor in (adaptor.down, adaptor.up)]


@pytest.mark.parametrize(("settings", "message"), [
    ({"every": -1}, "preview_every must be 0"),
    ({"steps": 0}, "preview_steps must be between 1"),
    ({"strength": 0.0}, "preview_strength: 0 is not in"),
    ({"strength": float("nan")}, "preview_strength"),
])
@pytest.mark.bad_input("bad preview setting")
def test_preview_settings_are_validated(settings, message):
    with pytest.raises(errors.SliderConfigError, match=message):
        PreviewConfig(**settings)


def test_previews_are_due_every_n_steps_and_at_the_last_and_never_when_off():
    assert [step for step in range(1, 11) if PreviewConfig(every=4).due(step, 10)] == [4, 8, 10]
    assert not any(PreviewConfig(every=0).due(step, 10) for step in range(1, 11))


@pytest.mark.parametrize("train", [train_pairs, train_text], ids=["pairs", "text"])
def test_strips_come_at_the_due_steps_with_three_labelled_tiles(train):
    shown, show = recorder()
    previews = Previews(PreviewConfig(every=3, strength=1.5, steps=2), decode, show)
    result = train(previews)
    total = len(result.losses)
    tile = LATENT[1] * tile_scale(*LATENT[1:])
    expected = (1, 2 * strip_height(tile) + tile, 3 * tile, 3)  # title, tiles, strength labels
    assert [step for step, _, _ in shown] == [step for step in range(1, total + 1) if step % 3 == 0 or step == total]
    assert all(shape == expected for _, _, shape in shown) and tile >= MIN_TILE
    assert previews.last is not None and tuple(previews.last.shape) == expected


@pytest.mark.parametrize("train", [train_pairs, train_text], ids=["pairs", "text"])
def test_a_slider_trained_with_previews_is_bit_identical_to_one_without(train):
    plain = train(None)
    previewed = train(Previews(PreviewConfig(every=2), decode, lambda strip, step, total: None))
    assert all(torch.equal(a, b) for a, b in zip(factors(plain), factors(previewed), strict=True))
    assert plain.losses == previewed.losses
    assert plain.forward_equivalents == previewed.forward_equivalents


def test_the_strip_shows_the_strengths_effect_from_one_noise():
    """Same noise at every strength: the 0 tile is the base model's image and ±m differ from it once trained."""
    previews = Previews(PreviewConfig(every=10, strength=2.0, steps=3), decode, lambda strip, step, total: None)
    train_pairs(previews, steps=10)
    strip = previews.last[0]
    tile = strip.shape[1] // 3
    top = strip_height(tile)
    tiles = [strip[top:top + tile, index * tile:(index + 1) * tile] for index in range(3)]
    assert not torch.equal(tiles[0], tiles[1]) and not torch.equal(tiles[2], tiles[1])


def test_the_title_carries_the_step_and_the_mean_loss():
    """Rendered text cannot be read back, so two strips that differ only in the title differ only in the title."""
    images = torch.rand(3, 16, 16, 3)
    first = preview_strip(images, [-2.0, 0.0, 2.0], 10, 100, 0.5, 10)
    second = preview_strip(images, [-2.0, 0.0, 2.0], 20, 100, 0.25, 10)
    top = strip_height(first.shape[2] // 3)
    assert not torch.equal(first[:, :top], second[:, :top]) and torch.equal(first[:, top:], second[:, top:])
