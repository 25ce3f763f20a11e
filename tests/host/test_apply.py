"""Applying sliders in the real host: exactness at 0, agreement with ComfyUI's own loader, linearity, composition."""
from __future__ import annotations

import shutil

import pytest
import torch

from harness.models import denoise, tiny_model
from harness.sliders import random_slider

MODEL_KINDS = ["sd1", "sdxl"]


def apply(host, model, slider, strength, start=0.0, end=1.0):
    return host.node("ConceptSlidersStrength").apply(model, slider, strength, start, end)[0]


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_strength_zero_is_bit_identical(host, kind):
    model = tiny_model(kind)
    slider = random_slider(model)
    assert torch.equal(denoise(apply(host, model, slider, 0.0)), denoise(model))
    assert not torch.equal(denoise(apply(host, model, slider, 0.5)), denoise(model))


@pytest.mark.parametrize("kind", MODEL_KINDS)
@pytest.mark.parametrize("strength", [1.0, -2.5])
def test_saved_file_matches_comfyui_lora_loader(host, sliders_dir, kind, strength):
    """Same file, same host adapters: Slider Strength must give exactly ComfyUI's LoraLoaderModelOnly output
    (tolerance 0 for the weight-patch path); the scheduled low-rank branch path differs only by float rounding
    of (W + ΔW)x versus Wx + ΔWx (tolerance 1e-5 relative to the output scale)."""
    model = tiny_model(kind)
    slider = random_slider(model, name=f"roundtrip_{kind}")
    path = host.node("ConceptSlidersSave").save(slider, f"roundtrip_{kind}", "fp32")["result"][0]
    shutil.copy(path, host.loras_dir / "native.safetensors")
    loaded, _ = host.node("ConceptSlidersLoad").load(path.rsplit("/", 1)[1])
    native = host.node("LoraLoaderModelOnly").load_lora_model_only(model, "native.safetensors", strength)[0]
    expected = denoise(native)
    assert torch.equal(denoise(apply(host, model, loaded, strength)), expected)
    scheduled = denoise(apply(host, model, loaded, strength, start=0.0, end=0.999))
    torch.testing.assert_close(scheduled, expected, atol=1e-5 * expected.abs().max().item(), rtol=0)
    (host.loras_dir / "native.safetensors").unlink()


def patched_weights(model):
    """The weights the host computes for this patcher (its own patch_model path), restored afterwards."""
    model.patch_model()
    try:
        return {key: value.clone() for key, value in model.model.state_dict().items()}
    finally:
        model.unpatch_model()


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_weight_deltas_are_linear_in_strength_and_compose(host, kind):
    """Weight deltas (patched − base) scale linearly with s and two sliders add, in either order
    (tolerance 1e-6: fp32 sums of the same terms in another order)."""
    model = tiny_model(kind)
    first, second = random_slider(model, seed=1, name="a"), random_slider(model, method="xattn", seed=2, name="b")
    base = patched_weights(model)

    def delta(patcher):
        weights = patched_weights(patcher)
        return {key: weights[key] - base[key] for key in base}

    one, three, minus = (delta(apply(host, model, first, s)) for s in (1.0, 3.0, -1.0))
    changed = [key for key in base if one[key].abs().max() > 0]
    assert len(changed) == len(first.deltas)
    for key in changed:
        torch.testing.assert_close(three[key], 3 * one[key], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(minus[key], -one[key], atol=1e-6, rtol=1e-5)
    b_alone = delta(apply(host, model, second, 2.0))
    ab = delta(apply(host, apply(host, model, first, 1.0), second, 2.0))
    ba = delta(apply(host, apply(host, model, second, 2.0), first, 1.0))
    for key in base:
        torch.testing.assert_close(ab[key], one[key] + b_alone[key], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(ba[key], ab[key], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(denoise(apply(host, apply(host, model, first, 1.0), second, 2.0)),
                               denoise(apply(host, apply(host, model, second, 2.0), first, 1.0)), atol=1e-5, rtol=1e-5)


def test_applying_leaves_the_input_model_untouched(host):
    model = tiny_model("sd1")
    before = denoise(model)
    denoise(apply(host, model, random_slider(model), 2.0))
    assert torch.equal(denoise(model), before)


def test_slider_composes_with_comfyui_lora_loader(host, sliders_dir):
    """A native LoRA then our slider: the host sums both deltas on the same weights (tolerance 1e-6, fp32 order)."""
    model = tiny_model("sd1")
    native_slider, ours = random_slider(model, seed=3, name="native"), random_slider(model, method="xattn", seed=4)
    path = host.node("ConceptSlidersSave").save(native_slider, "native", "fp32")["result"][0]
    shutil.copy(path, host.loras_dir / "native_compose.safetensors")
    base = patched_weights(model)
    with_native = host.node("LoraLoaderModelOnly").load_lora_model_only(model, "native_compose.safetensors", 0.7)[0]
    both = patched_weights(apply(host, with_native, ours, -1.2))
    native_only = patched_weights(with_native)
    ours_only = patched_weights(apply(host, model, ours, -1.2))
    for key in base:
        torch.testing.assert_close(both[key] - base[key], (native_only[key] - base[key]) + (ours_only[key] - base[key]),
                                   atol=1e-6, rtol=1e-5)
    (host.loras_dir / "native_compose.safetensors").unlink()
