"""Start/end percent in a real host sampler run: untouched before the start, slid after."""
from __future__ import annotations

import comfy.sample
import torch

from harness.models import denoise, tiny_model
from harness.sliders import random_slider


def sample_steps(model, steps: int = 10) -> list[torch.Tensor]:
    """x0 predictions of every step of a real euler KSampler run (the host's own sampling code)."""
    context = torch.randn(1, 8, 32, generator=torch.Generator().manual_seed(5))
    positive = [[context, {}]]
    latent = torch.zeros(1, 4, 8, 8)
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(7))
    seen: list[torch.Tensor] = []
    comfy.sample.sample(model, noise, steps, 3.0, "euler", "normal", positive, positive, latent,
                        callback=lambda step, x0, x, total: seen.append(x0.clone()), disable_pbar=True, seed=7)
    return seen


def test_slider_acts_only_from_its_start_percent(host):
    model = tiny_model("sd1")
    slider = random_slider(model)
    recorder = model.clone()
    sigmas: list[float] = []

    def record(apply_model, args):
        sigmas.append(float(args["timestep"].max()))
        return apply_model(args["input"], args["timestep"], **args["c"])

    recorder.set_model_unet_function_wrapper(record)
    plain = sample_steps(recorder)
    slid = sample_steps(host.node("ConceptSlidersStrength").apply(model, slider, 2.0, 0.5, 1.0)[0])
    sampling = model.model.model_sampling
    start_sigma = sampling.percent_to_sigma(0.5)
    first_active = next(i for i, sigma in enumerate(sigmas) if sigma <= start_sigma)
    assert 0 < first_active < 10
    for step in range(first_active):
        assert torch.equal(plain[step], slid[step]), f"step {step} changed before the start percent"
    assert not torch.allclose(plain[first_active], slid[first_active]), "slider inactive after its start"
    assert (plain[-1] - slid[-1]).abs().max() > 1e-3


def test_window_edges_in_sigma(host):
    """Inside [start, end] the denoiser is slid; outside it is bit-identical to the plain model."""
    model = tiny_model("sd1")
    windowed = host.node("ConceptSlidersStrength").apply(model, random_slider(model), 2.0, 0.0, 0.3)[0]
    sampling = model.model.model_sampling
    early, late = sampling.percent_to_sigma(0.1), sampling.percent_to_sigma(0.6)
    assert not torch.equal(denoise(windowed, sigma=early), denoise(model, sigma=early))
    assert torch.equal(denoise(windowed, sigma=late), denoise(model, sigma=late))
