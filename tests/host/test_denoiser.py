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


def fixed_conditioning(text: str, width: int, pooled_width: int | None) -> list:
    """A CONDITIONING fixed per prompt (context, pooled): these tests are about the UNet side, not text encoding."""
    generator = torch.Generator().manual_seed(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16))
    context = torch.randn(1, 77, width, generator=generator)
    pooled = torch.randn(1, pooled_width, generator=generator) if pooled_width else None
    return [[context, {"pooled_output": pooled}]]


def test_sdxl_training_uses_pooled_and_size_conditioning(host):
    """The family's own extra_conds builds SDXL's y from each prompt's pooled output and the training size."""
    model = tiny_model("sdxl")
    spec = prompts_module.SliderPrompts("a person", "an old person", "a young person")
    conditionings = [fixed_conditioning(text, 48, 1280) for text in spec.texts()]
    denoiser = host_denoiser.ComfyDenoiser(model, conditionings, (32, 32))
    ys = [conds["y"].cond for conds in denoiser.conds]
    assert all(y.shape == (1, 2816) for y in ys)
    assert not torch.equal(ys[0], ys[2]), "pooled output of each prompt must reach y"
    expected = model.model.encode_adm(pooled_output=conditionings[0][0][1]["pooled_output"], width=256, height=256,
                                      target_width=256, target_height=256)
    torch.testing.assert_close(ys[0], expected)
    paths = host_models.slider_target_paths(model, "noxattn", True)
    before = {key: value.clone() for key, value in model.model.state_dict().items()}
    config = TextSliderConfig(steps=3, latent_size=(8, 8), trajectory_steps=3, learning_rate=1e-2)
    result = train_text_slider(denoiser, spec, config, paths, host_models.kohya_stems(model, paths))
    assert len(result.losses) == 3 and all(loss > 0 for loss in result.losses)
    assert any(adaptor.up.abs().sum() > 0 for adaptor in result.slider.adaptors)
    assert all(torch.equal(before[key], value) for key, value in model.model.state_dict().items())


def test_v_prediction_model_is_trained_in_its_own_v_space(host):
    """The prediction a v-model's slider is trained on is the UNet's own output v (fed x_t on the VP scale
    α = 1/√(1+σ²)), recovered exactly from the host's denoised x₀."""
    import comfy.model_base
    import comfy.model_patcher
    import comfy.supported_models

    config = comfy.supported_models.SD15(dict(TINY_SD1_UNET))
    base = comfy.model_base.BaseModel(config, model_type=comfy.model_base.ModelType.V_PREDICTION,
                                      device=torch.device("cpu"))
    from concept_sliders.slider_core.toyworld.model import seeded_init

    seeded_init(base, 0)
    patcher = comfy.model_patcher.ModelPatcher(base, load_device=torch.device("cpu"), offload_device=torch.device("cpu"))
    conditioning = fixed_conditioning("a prompt", 32, None)
    denoiser = host_denoiser.ComfyDenoiser(patcher, [conditioning], (16, 16))
    assert denoiser.schedule.prediction == "v"
    sigma = torch.tensor([0.5, 3.0])
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0)) * sigma.view(-1, 1, 1, 1)
    with torch.no_grad():
        predicted = denoiser.predict(x, sigma, [0, 0])
        alpha = (1 / torch.sqrt(1 + sigma**2)).view(-1, 1, 1, 1)
        timestep = base.model_sampling.timestep(sigma).float()
        v = base.diffusion_model(x * alpha, timestep, context=conditioning[0][0].repeat(2, 1, 1))
    torch.testing.assert_close(predicted, v, atol=1e-4, rtol=1e-4)
