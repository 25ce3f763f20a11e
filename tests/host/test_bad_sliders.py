"""Finite slider files that would make the model predict NaN/inf, or apply a module twice, are refused by name.

Each file goes through the real Load Concept Slider and Slider Strength nodes; a refusal may come from either
(what is impossible in fp32 at any weight is refused on loading, what is implausible next to the weight it
patches on applying), always as our SliderFormatError naming the module, and the base model stays as it was.
"""
from __future__ import annotations

import json
import random
import struct

import comfy.lora
import pytest
import torch
from concept_sliders.slider_core import errors
from concept_sliders.slider_core.io import slider_files as formats
from concept_sliders.slider_core.model.delta_sizes import MAX_RELATIVE_DELTA
from safetensors.torch import save_file

from harness.models import denoise, tiny_model
from harness.sliders import random_slider


def load_and_apply(host, model, name: str, start: float = 0.0):
    slider, _ = host.node("ConceptSlidersLoad").load(name)
    return host.node("ConceptSlidersStrength").apply(model, slider, 1.0, start, 1.0)[0]


def refused_by_name(host, model, name: str, stem: str, start: float = 0.0) -> str:
    before = denoise(model)
    with pytest.raises(errors.SliderFormatError) as caught:
        denoise(load_and_apply(host, model, name, start))
    assert stem in str(caught.value)
    assert torch.equal(denoise(model), before)
    return str(caught.value)


def corrupted(model, seed: int):
    """A test slider and one of its modules, chosen by the seed, for a test to corrupt."""
    slider = random_slider(model, seed=seed, name=f"bad_{seed}")
    stem = random.Random(seed).choice(sorted(slider.deltas))
    return slider, stem


@pytest.mark.parametrize(("seed", "alpha"), [(0, 1e20), (1, 3.4e38), (2, 1e10), (3, 1e5)])
@pytest.mark.bad_input("huge alpha")
def test_a_huge_alpha_is_refused_naming_the_module(host, sliders_dir, seed, alpha):
    model = tiny_model("sd1")
    slider, stem = corrupted(model, seed)
    slider.deltas[stem].alpha = alpha
    formats.save_slider(slider, sliders_dir / "huge_alpha.safetensors")
    message = refused_by_name(host, model, "huge_alpha.safetensors", stem, start=0.2 * (seed % 2))
    assert "huge_alpha" in message or "bad_" in message


@pytest.mark.parametrize(("seed", "magnitude"), [(0, 1e19), (1, 1e25), (2, 3e30), (3, 1e4)])
@pytest.mark.bad_input("huge factor")
def test_huge_factors_are_refused_naming_the_module(host, sliders_dir, seed, magnitude):
    model = tiny_model("sd1")
    slider, stem = corrupted(model, seed)
    slider.deltas[stem].up = slider.deltas[stem].up * magnitude
    formats.save_slider(slider, sliders_dir / "huge_factor.safetensors")
    refused_by_name(host, model, "huge_factor.safetensors", stem, start=0.2 * (seed % 2))


@pytest.mark.parametrize(("seed", "value"), [(0, 1e30), (1, -1e30), (2, 1e12), (3, 3e38)])
@pytest.mark.bad_input("one huge element")
def test_one_huge_element_is_refused_naming_the_module(host, sliders_dir, seed, value):
    model = tiny_model("sd1")
    slider, stem = corrupted(model, seed)
    factor = slider.deltas[stem].down if seed % 2 else slider.deltas[stem].up
    flat = factor.view(-1)
    flat[random.Random(seed).randrange(flat.numel())] = value
    formats.save_slider(slider, sliders_dir / "one_element.safetensors")
    refused_by_name(host, model, "one_element.safetensors", stem, start=0.2 * (seed % 2))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.bad_input("bit-flipped factor")
def test_a_flipped_exponent_bit_in_the_file_is_refused_naming_the_module(host, sliders_dir, seed):
    """The top exponent bit of one fp32 element flipped in the file: the element grows by 2^128 (to ~1e37)."""
    model = tiny_model("sd1")
    slider, stem = corrupted(model, seed)
    path = formats.save_slider(slider, sliders_dir / "flipped.safetensors")
    data = bytearray(path.read_bytes())
    header_length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + header_length])
    role = "lora_up" if seed % 2 else "lora_down"
    begin, end = header[f"{stem}.{role}.weight"]["data_offsets"]
    rng = random.Random(seed)
    element = 8 + header_length + begin + 4 * rng.randrange((end - begin) // 4)
    while data[element + 3] & 0x40:  # an element whose top exponent bit is set would shrink, not grow
        element = 8 + header_length + begin + 4 * rng.randrange((end - begin) // 4)
    data[element + 3] ^= 0x40
    path.write_bytes(bytes(data))
    refused_by_name(host, model, "flipped.safetensors", stem, start=0.2 * (seed % 2))


def test_the_size_limit_leaves_every_real_slider_alone(host):
    """The test sliders (random factors, the largest deltas of the suite) sit far below the limit at strength 1."""
    model = tiny_model("sd1")
    weights = model.model.state_dict()
    keys = comfy.lora.model_lora_keys_unet(model.model, {})
    for seed in range(3):
        slider = random_slider(model, seed=seed)
        ratios = [delta.norm() / float(weights[keys[stem]].float().norm()) for stem, delta in slider.deltas.items()]
        assert max(ratios) < MAX_RELATIVE_DELTA / 10


def ldm_alias(model, stem: str) -> str:
    """The kohya stem in original (ldm) names of the module `stem` names in diffusers names."""
    keys = comfy.lora.model_lora_keys_unet(model.model, {})
    return next(alias for alias, key in keys.items()
                if key == keys[stem] and alias != stem and alias.startswith("lora_unet_"))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.bad_input("duplicate dialect keys (kohya diffusers + ldm)")
def test_a_module_held_under_diffusers_and_ldm_names_is_refused_naming_both(host, sliders_dir, seed):
    """Both copies would be applied with a start/end window (strength 2), and one would win without one."""
    model = tiny_model("sd1")
    slider, stem = corrupted(model, seed)
    tensors = formats.slider_to_state_dict(slider)
    alias = ldm_alias(model, stem)
    for suffix in (".lora_down.weight", ".lora_up.weight", ".alpha"):
        tensors[alias + suffix] = tensors[stem + suffix].clone()
    save_file(tensors, sliders_dir / "twice.safetensors")
    for start in (0.0, 0.3):
        message = refused_by_name(host, model, "twice.safetensors", stem, start=start)
        assert alias in message and "both patch" in message


@pytest.mark.parametrize("dtype", [torch.float8_e4m3fn, torch.float8_e5m2])
@pytest.mark.bad_input("fp8 factors")
def test_fp8_factors_apply_exactly_as_their_fp32_upcast(host, sliders_dir, dtype):
    """fp8 factors are read as they are; the host's patch and our windowed branch both upcast them, so the result
    equals the fp32 slider holding the same values (tolerance 0), and it is finite."""
    model = tiny_model("sd1")
    slider = random_slider(model, seed=5)
    tensors = {key: (value.to(dtype) if key.endswith(".weight") else value)
               for key, value in formats.slider_to_state_dict(slider).items()}
    save_file(tensors, sliders_dir / "fp8.safetensors")
    save_file({key: value.float() for key, value in tensors.items()}, sliders_dir / "upcast.safetensors")
    for start in (0.0, 0.3):
        fp8 = denoise(load_and_apply(host, model, "fp8.safetensors", start))
        assert torch.isfinite(fp8).all()
        assert torch.equal(fp8, denoise(load_and_apply(host, model, "upcast.safetensors", start)))
