"""Sweeping one slider of a chain: Slider Sweep's MODEL input may already carry other sliders (Slider Strength
nodes, each at its own strength and start), which stay as they are while the swept slider takes each strength."""
from __future__ import annotations

import pytest
import torch

from harness.models import tiny_model
from harness.sliders import random_slider

STEPS = 3
SIZE = 64
STRENGTHS = [-1.5, 0.0, 2.0]


def conditioning(model, seed: int) -> list:
    width = model.model.model_config.unet_config["context_dim"]
    return [[torch.randn(1, 8, width, generator=torch.Generator().manual_seed(seed)), {}]]


def ksampler(host, model, positive, negative, seed: int) -> torch.Tensor:
    (latent,) = host.node("EmptyLatentImage").generate(SIZE, SIZE, 1)
    (out,) = host.node("KSampler").sample(model, seed, STEPS, 4.0, "euler", "normal", positive, negative, latent,
                                          denoise=1.0)
    return out["samples"][0]


@pytest.mark.parametrize("held_start", [0.0, 0.4], ids=["held-from-the-start", "held-from-40%"])
def test_sweep_of_a_chained_model_equals_ksampler_of_the_chain(host, held_start):
    """Tolerance 1e-5 (float32 CPU): the sweep and KSampler run the same patched weights and the same noise;
    only the order in which the host patches the two sliders' weights may round differently."""
    model = tiny_model("sd1")
    held, swept = random_slider(model, seed=1, name="held"), random_slider(model, seed=2, name="swept")
    positive, negative = conditioning(model, 3), conditioning(model, 4)
    strength = host.node("ConceptSlidersStrength")
    (chained,) = strength.apply(model, held, 1.5, held_start, 1.0)

    latents, _ = host.node("ConceptSlidersSweep").sweep(
        chained, swept, positive, negative, 7, 1, STEPS, 4.0, "euler", "normal", SIZE, SIZE,
        ", ".join(map(str, STRENGTHS)), 0.0)

    plain = ksampler(host, model, positive, negative, 7)
    for column, value in enumerate(STRENGTHS):
        (both,) = strength.apply(chained, swept, value, 0.0, 1.0)
        expected = ksampler(host, both, positive, negative, 7)
        torch.testing.assert_close(latents["samples"][column], expected, rtol=0, atol=1e-5)
        assert not torch.allclose(latents["samples"][column], plain, atol=1e-3), "the held slider was dropped"
