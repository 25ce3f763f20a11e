"""The host denoiser: ε from SDXL (pooled + size conditioning) and from v-prediction models, checked against
the maths, and a training run on the tiny SDXL model."""
from __future__ import annotations

import hashlib

import torch
from concept_sliders.nodes.host import denoiser as host_denoiser
from concept_sliders.nodes.host import models as host_models
from concept_sliders.slider_core.training import prompts as prompts_module
from concept_sliders.slider_core.training.configs import TextSliderConfig
from concept_sliders.slider_core.training.text_loop import train_text_slider

from harness.models import TINY_SD1_UNET, tiny_model


def fixed_encoder(width: int, pooled_width: int | None):
    """Text → (context, pooled) fixed per prompt: these tests are about the UNet side, not text encoding."""
    def encode(text: str):
        generator = torch.Generator().manual_seed(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16))
        context = torch.randn(1, 77, width, generator=generator)
        pooled = torch.randn(1, pooled_width, generator=generator) if pooled_width else None
        return context, pooled

    return encode


def test_sdxl_training_uses_pooled_and_size_conditioning(host):
    model = tiny_model("sdxl")
    spec = prompts_module.SliderPrompts("a person", "an old person", "a young person")
    denoiser = host_denoiser.ComfyDenoiser(model, fixed_encoder(48, 1280), spec.texts(), (256, 256))
    assert denoiser.adm is not None and denoiser.adm.shape == (len(spec.texts()), 2816)
    assert not torch.equal(denoiser.adm[0], denoiser.adm[2]), "pooled output of each prompt must reach y"
    paths = host_models.slider_target_paths(model, "noxattn", True)
    before = {key: value.clone() for key, value in model.model.state_dict().items()}
    config = TextSliderConfig(steps=3, latent_size=(8, 8), trajectory_steps=3, learning_rate=1e-2)
    result = train_text_slider(denoiser, spec, config, paths, host_models.kohya_stems(model, paths))
    assert len(result.losses) == 3 and all(loss > 0 for loss in result.losses)
    assert any(adaptor.up.abs().sum() > 0 for adaptor in result.slider.adaptors)
    assert all(torch.equal(before[key], value) for key, value in model.model.state_dict().items())


def test_v_prediction_eps_matches_the_closed_form(host):
    """v = α·ε − s·x₀ on the VP scale (α = 1/√(1+σ²), s = σ·α); so ε = α·v + s·x_vp with x_vp = α·x_t."""
    import comfy.model_base
    import comfy.model_patcher
    import comfy.supported_models

    config = comfy.supported_models.SD15(dict(TINY_SD1_UNET))
    base = comfy.model_base.BaseModel(config, model_type=comfy.model_base.ModelType.V_PREDICTION,
                                      device=torch.device("cpu"))
    from concept_sliders.slider_core.toyworld.model import seeded_init

    seeded_init(base, 0)
    patcher = comfy.model_patcher.ModelPatcher(base, load_device=torch.device("cpu"), offload_device=torch.device("cpu"))
    denoiser = host_denoiser.ComfyDenoiser(patcher, fixed_encoder(32, None), ["a prompt"], (128, 128))
    sigma = torch.tensor([0.5, 3.0])
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0)) * sigma.view(-1, 1, 1, 1)
    with torch.no_grad():
        eps = denoiser.eps(x, sigma, [0, 0])
        alpha = (1 / torch.sqrt(1 + sigma**2)).view(-1, 1, 1, 1)
        s = sigma.view(-1, 1, 1, 1) * alpha
        timestep = base.model_sampling.timestep(sigma).float()
        v = base.diffusion_model(x * alpha, timestep, context=denoiser.contexts[[0, 0]])
    torch.testing.assert_close(eps, alpha * v + s * (alpha * x), atol=1e-4, rtol=1e-4)
