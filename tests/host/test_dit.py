"""Flow-matching diffusion transformers (FLUX.1 dev/schnell, FLUX.2, Qwen-Image, Z-Image, SD3.x, Chroma): tiny
models built through the newest host's own classes train text and image-pair sliders in its executor, and the
saved files apply exactly as ComfyUI's own LoRA loader applies them. The 2024 host has none of these families."""
from __future__ import annotations

import comfy.supported_models
import pytest
import torch

if not hasattr(comfy.supported_models, "Flux"):
    pytest.skip("this ComfyUI (the 2024 snapshot) has no flow-matching transformer families; they are tested on "
                "ComfyUI 0.3x", allow_module_level=True)

from concept_sliders.slider_core import errors
from concept_sliders.slider_core.io import slider_files
from concept_sliders.slider_core.model.slider import LowRankDelta, Slider, SliderMetadata
from training_checks import steps_before_cancel, weights_hash

from harness import dit_nodes
from harness.dit_models import FAMILIES, random_conditioning, tiny_dit

TRAIN = dict(target="t", positive="p", negative="n", preserve="", guidance=2.0, rank=2, alpha=1.0,
             train_method="noxattn", include_conv=True, steps=3, learning_rate=1e-3, seed=0, resolution=64,
             batch_size=1, bidirectional=True, precision="auto", gradient_checkpointing=False, trajectory="renoise")
PAIRS = dict(before_prompt="", after_prompt="", strengths="1", rank=2, alpha=1.0, train_method="noxattn",
             include_conv=True, steps=3, learning_rate=1e-3, seed=0, resolution=0, batch_size=1, precision="auto",
             gradient_checkpointing=False)


@pytest.fixture(scope="module", autouse=True)
def test_nodes(host):
    host.add_nodes(dit_nodes.NODES)


def prediction(patcher, family: str, seed: int = 0) -> torch.Tensor:
    """The model's denoised output for one random x_t and prompt through the host's own sampler path
    (calc_cond_batch), patches loaded as a sampler would load them."""
    import comfy.model_management
    import comfy.sampler_helpers
    import comfy.samplers

    comfy.model_management.load_models_gpu([patcher])
    fmt = patcher.model.latent_format
    shape = (1, fmt.latent_channels, *((1,) if fmt.latent_dimensions == 3 else ()), 8, 8)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    sigma = torch.tensor([0.6])
    conds = {"0": comfy.sampler_helpers.convert_cond(random_conditioning(family, 7))}
    patcher.pre_run()
    try:
        conds = comfy.samplers.process_conds(patcher.model, x, conds, x.device, seed=0)
        with torch.no_grad():
            return comfy.samplers.calc_cond_batch(patcher.model, [conds["0"]], x, sigma, patcher.model_options)[0]
    finally:
        patcher.cleanup()


def train_text(host, model, family: str, **overrides):
    return host.node("ConceptSlidersTrainFromPrompts").train(
        model, target_conditioning=random_conditioning(family, 3),
        positive_conditioning=random_conditioning(family, 1), negative_conditioning=random_conditioning(family, 2),
        **{**TRAIN, **overrides})


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_text_and_image_pair_sliders_train_in_the_executor(host, sliders_dir, family):
    """Tiny model → both training nodes (prompts as the family's CONDITIONING, two preservation entries; pairs as
    latents) → Save Concept Slider, run by the host's executor; the files load back for the family."""
    prompt = {
        "1": {"class_type": "HarnessTinyDiT", "inputs": {"family": family, "seed": 0}},
        "2": {"class_type": "HarnessTinyDiTConditioning", "inputs": {"family": family, "seed": 1, "entries": 2}},
        "3": {"class_type": "HarnessTinyDiTConditioning", "inputs": {"family": family, "seed": 2, "entries": 2}},
        "4": {"class_type": "HarnessTinyDiTConditioning", "inputs": {"family": family, "seed": 3, "entries": 1}},
        "5": {"class_type": "ConceptSlidersTrainFromPrompts", "inputs": {
            "model": ["1", 0], "target_conditioning": ["4", 0], "positive_conditioning": ["2", 0],
            "negative_conditioning": ["3", 0], **TRAIN}},
        "6": {"class_type": "ConceptSlidersSave", "inputs": {"slider": ["5", 0], "filename_prefix": f"text_{family}",
                                                             "precision": "fp32"}},
        "7": {"class_type": "HarnessTinyDiTLatents", "inputs": {"model": ["1", 0], "count": 2, "seed": 0, "size": 8}},
        "8": {"class_type": "HarnessTinyDiTLatents", "inputs": {"model": ["1", 0], "count": 2, "seed": 1, "size": 8}},
        "9": {"class_type": "ConceptSlidersTrainFromImagePairs", "inputs": {
            "model": ["1", 0], "before_latent": ["7", 0], "after_latent": ["8", 0], "before_conditioning": ["4", 0],
            "after_conditioning": ["4", 0], **PAIRS}},
        "10": {"class_type": "ConceptSlidersSave", "inputs": {"slider": ["9", 0], "filename_prefix": f"pairs_{family}",
                                                              "precision": "fp32"}},
    }
    outputs = host.run_graph(prompt)
    for node in ("6", "10"):
        slider = slider_files.load_slider(outputs[node]["text"][0])
        assert slider.metadata.architecture == family
        assert any(float(delta.up.abs().max()) > 0 for delta in slider.deltas.values()), "training changed nothing"
        assert all(stem.startswith("lora_unet_") for stem in slider.deltas)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_saved_slider_applies_as_comfyuis_lora_loader_and_zero_is_exact(host, sliders_dir, family):
    """Slider Strength on the saved file equals LoraLoaderModelOnly on it: tolerance 0 through weight patches (the
    host's own adapters), 1e-5 of the output scale through the scheduled low-rank branches (float rounding of
    (W + ΔW)x vs Wx + ΔWx). Strength 0 is bit-identical to the base model; the base weights never change."""
    model = tiny_dit(family)
    before = weights_hash(model)
    slider = train_text(host, model, family, steps=4, learning_rate=3e-2)[0]
    assert weights_hash(model) == before
    path = host.node("ConceptSlidersSave").save(slider, f"apply_{family}", "fp32")["result"][0]
    (host.loras_dir / f"apply_{family}.safetensors").write_bytes(open(path, "rb").read())
    loaded = host.node("ConceptSlidersLoad").load(path.rsplit("/", 1)[1])[0]
    strength = host.node("ConceptSlidersStrength")
    native = host.node("LoraLoaderModelOnly").load_lora_model_only(model, f"apply_{family}.safetensors", 1.5)[0]
    expected = prediction(native, family)
    plain = prediction(model, family)
    assert float((expected - plain).abs().max()) > 0, "the slider must change the prediction"
    assert torch.equal(prediction(strength.apply(model, loaded, 1.5, 0.0, 1.0)[0], family), expected)
    scheduled = prediction(strength.apply(model, loaded, 1.5, 0.0, 0.999)[0], family)
    torch.testing.assert_close(scheduled, expected, atol=1e-5 * float(expected.abs().max()), rtol=0)
    assert torch.equal(prediction(strength.apply(model, loaded, 0.0, 0.0, 1.0)[0], family), plain)
    assert weights_hash(model) == before
    (host.loras_dir / f"apply_{family}.safetensors").unlink()


@pytest.mark.parametrize("family", ["flux1-dev", "qwen-image", "z-image"])
@pytest.mark.bad_input("cancel mid-training")
def test_cancel_and_errors_leave_the_base_weights_bit_identical(host, family):
    model = tiny_dit(family)
    before = weights_hash(model)
    seen = steps_before_cancel(lambda: train_text(host, model, family, steps=6), cancel_at=2)
    assert seen[-1] == 2 and weights_hash(model) == before
    with pytest.raises(errors.SliderError):
        train_text(host, model, family, steps=6, learning_rate=1e6, alpha=128.0, guidance=50.0)
    assert weights_hash(model) == before


def reference_flux_file(tmp, hidden: int, rank: int = 2) -> tuple[dict[str, torch.Tensor], dict[str, tuple]]:
    """A slider in the reference implementation's FLUX layout (diffusers FluxTransformer2DModel names under
    lora_unet_, bf16 factors, 0-d alpha, torch.save), and where each module's delta lands in ComfyUI's weights:
    (weight key, first row, rows)."""
    generator = torch.Generator().manual_seed(9)
    places = {}
    for name, key, first in (("transformer_blocks_0_attn_to_q", "double_blocks.0.img_attn.qkv", 0),
                             ("transformer_blocks_0_attn_to_k", "double_blocks.0.img_attn.qkv", hidden),
                             ("transformer_blocks_0_attn_to_v", "double_blocks.0.img_attn.qkv", 2 * hidden),
                             ("transformer_blocks_0_attn_add_q_proj", "double_blocks.0.txt_attn.qkv", 0),
                             ("transformer_blocks_0_attn_add_v_proj", "double_blocks.0.txt_attn.qkv", 2 * hidden),
                             ("transformer_blocks_0_attn_to_out_0", "double_blocks.0.img_attn.proj", 0),
                             ("transformer_blocks_0_attn_to_add_out", "double_blocks.0.txt_attn.proj", 0),
                             ("single_transformer_blocks_0_attn_to_q", "single_blocks.0.linear1", 0),
                             ("single_transformer_blocks_0_attn_to_k", "single_blocks.0.linear1", hidden),
                             ("single_transformer_blocks_0_attn_to_v", "single_blocks.0.linear1", 2 * hidden)):
        places[f"lora_unet_{name}"] = (f"diffusion_model.{key}.weight", first, hidden)
    tensors = {}
    for stem in places:
        tensors[f"{stem}.lora_down.weight"] = (torch.randn(rank, hidden, generator=generator) * 0.3).bfloat16()
        tensors[f"{stem}.lora_up.weight"] = (torch.randn(hidden, rank, generator=generator) * 0.3).bfloat16()
        tensors[f"{stem}.alpha"] = torch.tensor(1.0)
    torch.save(tensors, tmp)
    return tensors, places


def test_reference_format_flux_slider_acts_as_its_deltas_applied_by_hand(host, tmp_path):
    """ComfyUI maps none of the reference's FLUX keys; the pack maps them onto the fused q/k/v rows, the attention
    outputs and the single blocks' fused projection. Tolerance 1e-5 of the output scale: the same deltas summed
    in another order."""
    model = tiny_dit("flux1-dev")
    hidden = FAMILIES["flux1-dev"].unet["hidden_size"]
    file = host.loras_dir / "reference_flux.pt"
    tensors, places = reference_flux_file(file, hidden)
    loaded = host.node("ConceptSlidersLoad").load("loras/reference_flux.pt")[0]
    applied = prediction(host.node("ConceptSlidersStrength").apply(model, loaded, 2.0, 0.0, 1.0)[0], "flux1-dev")
    by_hand = tiny_dit("flux1-dev")
    weights = by_hand.model.state_dict()
    with torch.no_grad():
        for stem, (key, first, rows) in places.items():
            up, down = tensors[f"{stem}.lora_up.weight"].float(), tensors[f"{stem}.lora_down.weight"].float()
            weights[key][first:first + rows] += 2.0 * (1.0 / up.shape[1]) * (up @ down)
    expected = prediction(by_hand, "flux1-dev")
    assert float((expected - prediction(model, "flux1-dev")).abs().max()) > 1e-3
    torch.testing.assert_close(applied, expected, atol=1e-5 * float(expected.abs().max()), rtol=0)
    file.unlink()


@pytest.mark.bad_input("slider applied twice")
def test_a_weight_given_whole_and_in_slices_is_refused(host):
    model = tiny_dit("flux1-dev")
    hidden = FAMILIES["flux1-dev"].unet["hidden_size"]
    delta = LowRankDelta(torch.ones(1, hidden), torch.ones(hidden, 1), 1.0)
    whole = LowRankDelta(torch.ones(1, hidden), torch.ones(3 * hidden, 1), 1.0)
    slider = Slider({"lora_unet_transformer_blocks_0_attn_to_q": delta,
                     "lora_unet_double_blocks_0_img_attn_qkv": whole}, SliderMetadata(), "twice")
    with pytest.raises(errors.SliderMismatchError, match="applied twice"):
        host.node("ConceptSlidersStrength").apply(model, slider, 1.0, 0.0, 1.0)


def test_training_on_fp8_weights_leaves_them_fp8_and_unchanged(host):
    """The base stays in float8 (never dequantised into a trainable copy); adaptors train in fp32 on top."""
    model = tiny_dit("flux1-dev", weight_dtype=torch.float8_e4m3fn)
    assert model.model.diffusion_model.double_blocks[0].img_attn.qkv.weight.dtype == torch.float8_e4m3fn
    before = weights_hash(model)
    slider = train_text(host, model, "flux1-dev", steps=4, learning_rate=3e-2)[0]
    assert weights_hash(model) == before
    assert all(delta.up.dtype == torch.float32 for delta in slider.deltas.values())
    assert any(float(delta.up.abs().max()) > 0 for delta in slider.deltas.values())


def test_slider_sweep_samples_a_transformer_from_its_own_conditioning(host):
    """Strength 0 is KSampler's image of the input model, bit for bit; other strengths move it."""
    import nodes

    model = tiny_dit("flux1-dev")
    slider = train_text(host, model, "flux1-dev", steps=4, learning_rate=3e-2)[0]
    positive, negative = random_conditioning("flux1-dev", 7), random_conditioning("flux1-dev", 8)
    latents, _ = host.node("ConceptSlidersSweep").sweep(model, slider, positive, negative, seed=3, rows=1, steps=2,
                                                        cfg=1.0, sampler_name="euler", scheduler="simple", width=64,
                                                        height=64, strengths="-2, 0, 2", start_percent=0.0)
    empty = {"samples": torch.zeros(1, 4, 8, 8)}
    with torch.inference_mode():
        plain = nodes.common_ksampler(model, 3, 2, 1.0, "euler", "simple", positive, negative, empty)[0]["samples"]
    assert torch.equal(latents["samples"][1:2], plain)
    assert not torch.equal(latents["samples"][0], latents["samples"][2])


def test_text_prompts_through_the_familys_own_text_encoder(host):
    """FLUX with its CLIP-L + T5 encoder: text prompts and preservation lines encoded as CLIPTextEncode does."""
    from harness.dit_models import tiny_flux_clip

    model, clip = tiny_dit("flux1-dev"), tiny_flux_clip()
    settings = {**TRAIN, "target": "a person", "positive": "old", "negative": "young",
                "preserve": "{} man\n{} woman", "steps": 3}
    slider = host.node("ConceptSlidersTrainFromPrompts").train(model, clip=clip, **settings)[0]
    assert slider.metadata.preserve == ["{} man", "{} woman"] and slider.metadata.architecture == "flux1-dev"
    assert any(float(delta.up.abs().max()) > 0 for delta in slider.deltas.values())


def test_gradient_checkpointing_of_blocks_gives_the_same_gradients(host):
    """Recomputing each transformer block in backward (FLUX's blocks add residuals in place) gives the adaptors
    the gradients of the stored-activation pass. Tolerance 2e-3 of the largest gradient: the recomputed pass
    differs by float32 rounding (measured 4.6e-4 of it, deterministic across runs); a wrong recomputation (the
    in-place residual seen twice) is off by the order of the gradient itself."""
    from concept_sliders.nodes.host import models, training
    from concept_sliders.nodes.host.denoiser import ComfyDenoiser
    from concept_sliders.slider_core.adaptors.trainable import TrainableSlider
    from concept_sliders.slider_core.training.frozen import autograd_usable, frozen_parameters
    from concept_sliders.slider_core.training.gradient_checkpointing import gradient_checkpointed

    model = tiny_dit("flux1-dev")
    paths, rows = models.slider_targets(model, "xattn", False)
    x = torch.randn(2, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    sigma = torch.tensor([0.3, 0.8])
    gradients = []
    for enabled in (False, True):
        with training.training_mode(model, "auto", 2, (8, 8), 2):
            denoiser = ComfyDenoiser(model, [random_conditioning("flux1-dev", 1)], (8, 8))
            slider = TrainableSlider(denoiser.root, paths, {p: p for p in paths}, 2, 1.0, 0, rows)
            with torch.no_grad():
                for adaptor in slider.adaptors:
                    adaptor.up.normal_(generator=torch.Generator().manual_seed(1))
            with autograd_usable(denoiser.root), frozen_parameters(denoiser.root), \
                    gradient_checkpointed(models.recompute_units(model), enabled), \
                    slider.attached(denoiser.root, torch.ones(2)):
                denoiser.predict(x, sigma, [0, 0]).square().mean().backward()
        gradients.append([parameter.grad.clone() for parameter in slider.parameters()])
    scale = max(float(g.abs().max()) for g in gradients[0])
    assert scale > 0
    for plain, recomputed in zip(*gradients, strict=True):
        torch.testing.assert_close(recomputed, plain, atol=2e-3 * scale, rtol=0)


@pytest.mark.parametrize("dialect", ["peft", "comfyui"])
def test_diffusers_peft_and_comfyui_savelora_files_apply_as_comfyui_reads_them(host, dialect):
    """A FLUX LoRA as diffusers/peft write it (`transformer.<diffusers path>.lora_A/B`, q/k/v as separate modules)
    and as ComfyUI's SaveLoRA writes it (`diffusion_model.<path>.lora_up/down`): Slider Strength equals
    LoraLoaderModelOnly on the same file (tolerance 1e-5 of the output scale: the pack fuses the q/k/v slices
    into one delta, the host patches them one by one)."""
    import safetensors.torch

    model = tiny_dit("flux1-dev")
    hidden = FAMILIES["flux1-dev"].unet["hidden_size"]
    generator = torch.Generator().manual_seed(4)
    if dialect == "peft":
        modules = {f"transformer.transformer_blocks.0.attn.{name}": (hidden, hidden)
                   for name in ("to_q", "to_k", "to_v", "add_q_proj", "to_out.0")}
        suffixes = (".lora_A.weight", ".lora_B.weight")
    else:
        modules = {"diffusion_model.double_blocks.0.img_attn.qkv": (hidden, 3 * hidden),
                   "diffusion_model.single_blocks.0.linear2": (5 * hidden, hidden)}
        suffixes = (".lora_down.weight", ".lora_up.weight")
    tensors = {}
    for name, (inputs, outputs) in modules.items():
        tensors[name + suffixes[0]] = torch.randn(2, inputs, generator=generator) * 0.3
        tensors[name + suffixes[1]] = torch.randn(outputs, 2, generator=generator) * 0.3
    safetensors.torch.save_file(tensors, str(host.loras_dir / f"{dialect}.safetensors"))
    loaded = host.node("ConceptSlidersLoad").load(f"loras/{dialect}.safetensors")[0]
    ours = prediction(host.node("ConceptSlidersStrength").apply(model, loaded, 1.5, 0.0, 1.0)[0], "flux1-dev")
    native = host.node("LoraLoaderModelOnly").load_lora_model_only(model, f"{dialect}.safetensors", 1.5)[0]
    expected = prediction(native, "flux1-dev")
    assert float((expected - prediction(model, "flux1-dev")).abs().max()) > 1e-3
    torch.testing.assert_close(ours, expected, atol=1e-5 * float(expected.abs().max()), rtol=0)
    (host.loras_dir / f"{dialect}.safetensors").unlink()


def test_slider_report_measures_a_transformer_slider_from_its_own_conditioning(host):
    """FLUX.1-dev is guidance-distilled: the report samples at CFG 1 (one forward per step), as its graphs do."""
    from concept_sliders.slider_core.report.measure import ReportConfig, ReportPrompts, forwards_per_report

    model = tiny_dit("flux1-dev")
    slider = train_text(host, model, "flux1-dev", steps=4, learning_rate=3e-2)[0]
    before = weights_hash(model)
    chart, verdict, _ = host.node("ConceptSlidersReport").report(
        model, slider, "-2, 0, 2", seeds=2, seed=0, steps=2, cfg=4.0, resolution=64, write_range=True,
        prompt_conditioning=random_conditioning("flux1-dev", 3), positive_conditioning=random_conditioning("flux1-dev", 1),
        negative_conditioning=random_conditioning("flux1-dev", 2))
    stated = int(verdict.rsplit("cost: ", 1)[1].split()[0])
    config = ReportConfig(strengths=(-2.0, 0.0, 2.0), seeds=2, steps=2, cfg=1.0)
    assert stated == forwards_per_report(config, ReportPrompts(generate=0, uncond=1, efficacy=((2, 3),)))
    assert chart.shape[0] == 1 and chart.shape[-1] == 3
    assert weights_hash(model) == before
