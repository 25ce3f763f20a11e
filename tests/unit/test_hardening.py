"""Bad input lets nothing in: property tests over key conversions and round trips, and a fuzz of slider files.

The fuzz prints a summary line (cases tried by kind, all handled) for the closing note.
"""
from __future__ import annotations

import collections
import random
import re
import struct

import pytest
import torch

pytest.importorskip("hypothesis", reason="the fuzz tests draw their inputs with hypothesis (a test dependency)")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slider_core import errors
from slider_core.io import slider_files as formats
from slider_core.model import keys
from slider_core.model import slider as slider_module

segment = st.one_of(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), st.integers(0, 40).map(str))
module_paths = st.lists(segment, min_size=1, max_size=7).map(".".join).filter(lambda p: not p[0].isdigit())


@given(module_paths)
def test_every_dialect_of_a_module_key_maps_to_the_same_stem(path):
    stem = keys.kohya_stem(path)
    assert stem == "lora_unet_" + path.replace(".", "_")
    spellings = {
        f"{stem}.lora_down.weight": "down", f"{stem}.lora_up.weight": "up", f"{stem}.alpha": "alpha",
        f"unet.{path}.lora_A.weight": "down", f"unet.{path}.lora_B.weight": "up",
        f"base_model.model.{path}.lora_B.weight": "up", f"diffusion_model.{path}.lora_up.weight": "up",
    }
    for key, role in spellings.items():
        assert keys.parse_lora_key(key) == keys.LoraKey(stem, role), key


@st.composite
def sliders(draw):
    deltas = {}
    for index in range(draw(st.integers(1, 4))):
        rank = draw(st.integers(1, 4))
        inner, outer = draw(st.integers(1, 6)), draw(st.integers(1, 6))
        conv = draw(st.booleans())
        dtype = draw(st.sampled_from([torch.float32, torch.float16, torch.bfloat16]))
        shape_down = (rank, inner, 3, 3) if conv else (rank, inner)
        shape_up = (outer, rank, 1, 1) if conv else (outer, rank)
        generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
        deltas[f"lora_unet_block_{index}_proj"] = slider_module.LowRankDelta(
            down=torch.randn(shape_down, generator=generator).to(dtype),
            up=torch.randn(shape_up, generator=generator).to(dtype),
            alpha=draw(st.floats(0.01, 64.0, allow_nan=False)))
    metadata = slider_module.SliderMetadata(
        architecture=draw(st.sampled_from([None, "sd1", "sdxl", "sd2-v"])), title=draw(st.text(max_size=20)),
        target=draw(st.text(max_size=30)), preserve=draw(st.lists(st.text(max_size=10), max_size=3)),
        strength_range=(draw(st.floats(-10, -0.1)), draw(st.floats(0.1, 10))),
        recommended_start=draw(st.floats(0, 0.9)))
    return slider_module.Slider(deltas=deltas, metadata=metadata, name="prop")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(slider=sliders())
def test_write_read_round_trip_is_exact(tmp_path_factory, slider):
    path = formats.save_slider(slider, tmp_path_factory.mktemp("rt") / "s.safetensors")
    loaded = formats.load_slider(path)
    assert loaded.metadata == slider.metadata
    for stem, delta in slider.deltas.items():
        assert torch.equal(loaded.deltas[stem].down, delta.down) and torch.equal(loaded.deltas[stem].up, delta.up)
        assert loaded.deltas[stem].alpha == pytest.approx(delta.alpha, rel=1e-6)


def mutations(original: bytes, rng: random.Random):
    header_length = struct.unpack("<Q", original[:8])[0]
    yield "empty", b""
    yield "header length only", original[:8]
    yield "huge header length", struct.pack("<Q", 2**62) + original[8:]
    yield "header longer than file", struct.pack("<Q", len(original) * 4) + original[8:]
    for _ in range(60):
        cut = rng.randrange(1, len(original))
        yield "truncated", original[:cut]
    for _ in range(120):
        data = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(8, 8 + header_length)
            data[position] = rng.randrange(256)
        yield "corrupt header", bytes(data)
    for _ in range(60):
        data = bytearray(original)
        for _ in range(rng.randint(1, 64)):
            data[rng.randrange(8 + header_length, len(data))] = rng.randrange(256)
        yield "corrupt tensor data", bytes(data)
    yield "garbage", bytes(rng.randrange(256) for _ in range(256))


@pytest.mark.bad_input("fuzzed slider file")
def test_fuzzed_files_only_ever_raise_our_error(tmp_path, request):
    deltas = {"lora_unet_a_proj": slider_module.LowRankDelta(torch.randn(2, 5), torch.randn(3, 2), 1.0),
              "lora_unet_b_conv": slider_module.LowRankDelta(torch.randn(2, 3, 3, 3), torch.randn(4, 2, 1, 1), 2.0)}
    slider = slider_module.Slider(deltas, slider_module.SliderMetadata(architecture="sd1", preserve=["x"]))
    original = formats.save_slider(slider, tmp_path / "good.safetensors").read_bytes()
    rng = random.Random(1234)
    outcome: collections.Counter[str] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    for index, (kind, data) in enumerate(mutations(original, rng)):
        path = tmp_path / f"m{index}.safetensors"
        path.write_bytes(data)
        kinds[kind] += 1
        try:
            formats.load_slider(path)
            outcome["loaded (harmless mutation)"] += 1
        except errors.SliderFormatError as error:
            assert path.name in str(error)
            outcome["refused with SliderFormatError"] += 1
    print(f"\nfuzz: {sum(kinds.values())} mutated files, kinds {dict(kinds)}, outcomes {dict(outcome)}")
    assert outcome["refused with SliderFormatError"] > sum(kinds.values()) // 2
    request.node.bad_inputs_tried = sum(kinds.values())


@pytest.mark.parametrize(("tensors", "message"), [
    ({"lora_unet_x.lora_down.weight": torch.zeros(2, 4), "lora_unet_x.lora_up.weight": torch.zeros(4, 2),
      "lora_unet_x.alpha": torch.ones(3)}, "alpha must be a single number"),
    ({"lora_unet_x.lora_down.weight": torch.zeros(2, 4), "lora_unet_x.lora_up.weight": torch.zeros(4, 2),
      "lora_unet_x.alpha": torch.tensor(float("nan"))}, "positive finite"),
    ({"lora_unet_x.lora_down.weight": torch.zeros(2, 4, 3), "lora_unet_x.lora_up.weight": torch.zeros(4, 2, 3)},
     "2-D matrices"),
    ({"lora_unet_x.lora_down.weight": torch.zeros(2, 4, dtype=torch.int32),
      "lora_unet_x.lora_up.weight": torch.zeros(4, 2)}, "expected a signed floating-point type"),
    ({"lora_unet_x.lora_down.weight": torch.zeros(2, 4), "lora_unet_x.lora_up.weight": torch.full((4, 2), float("inf"))},
     "NaN or Inf"),
])
@pytest.mark.bad_input("malformed tensor")
def test_malformed_tensors_are_named(tmp_path, tensors, message):
    from safetensors.torch import save_file

    save_file(tensors, tmp_path / "bad.safetensors")
    with pytest.raises(errors.SliderFormatError, match=message):
        formats.load_slider(tmp_path / "bad.safetensors")


def factors(seed: int, rank: int = 4, inner: int = 32, outer: int = 24, conv: bool = False) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    down_shape = (rank, inner, 3, 3) if conv else (rank, inner)
    up_shape = (outer, rank, 1, 1) if conv else (outer, rank)
    return {"lora_unet_x.lora_down.weight": torch.randn(down_shape, generator=generator) * 0.1,
            "lora_unet_x.lora_up.weight": torch.randn(up_shape, generator=generator) * 0.1}


def refused(tmp_path, tensors: dict, match: str, suffix: str = ".safetensors") -> None:
    from safetensors.torch import save_file

    path = tmp_path / f"bad{suffix}"
    if suffix == ".safetensors":
        save_file(tensors, path)
    else:
        torch.save(tensors, path)
    with pytest.raises(errors.SliderFormatError, match=match) as caught:
        formats.load_slider(path)
    assert path.name in str(caught.value)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.bad_input("huge alpha beyond fp32")
def test_an_alpha_that_makes_the_delta_unrepresentable_is_refused_naming_the_module(tmp_path, seed):
    tensors = {key: value * 10 for key, value in factors(seed).items()}  # ‖up·down‖ ≈ 55
    tensors["lora_unet_x.alpha"] = torch.tensor([3.4e38, 1e38, 1e37, 5e36][seed])
    refused(tmp_path, tensors, "module lora_unet_x: its delta .* too large for fp32 at strength 10")


@pytest.mark.parametrize(("seed", "magnitude"), [(0, 1e19), (1, 1e22), (2, 1e30), (3, 1e37)])
@pytest.mark.bad_input("huge factor")
def test_factors_whose_product_overflows_fp32_are_refused_naming_the_module(tmp_path, seed, magnitude):
    """‖ΔW‖ is computed exactly in float64 (Gram matrices), so factors whose product is beyond fp32 are seen."""
    tensors = factors(seed)
    tensors["lora_unet_x.lora_up.weight"] = tensors["lora_unet_x.lora_up.weight"] / 0.1 * magnitude
    tensors["lora_unet_x.lora_down.weight"] = tensors["lora_unet_x.lora_down.weight"] / 0.1 * magnitude
    refused(tmp_path, tensors, "module lora_unet_x: its delta .* too large for fp32")


@pytest.mark.parametrize("seed", range(3))
def test_the_delta_norm_is_exact_without_forming_the_product(seed):
    """Gram-matrix norm vs the norm of the formed delta (tolerance 1e-10 relative: float64 sums in another order)."""
    rng = random.Random(seed)
    tensors = factors(seed, rank=rng.randint(1, 16), inner=rng.randint(1, 300), outer=rng.randint(1, 300),
                      conv=rng.random() < 0.5)
    delta = slider_module.LowRankDelta(tensors["lora_unet_x.lora_down.weight"], tensors["lora_unet_x.lora_up.weight"],
                                       rng.uniform(0.1, 8.0))
    exact = float(delta.weight_delta(torch.float64).norm())
    assert delta.norm(chunk=rng.randint(1, 512)) == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize(("seed", "shape"), [(0, ()), (1, (4, 0)), (2, (0,))])
@pytest.mark.bad_input("zero-dim factor")
def test_a_factor_with_no_dimensions_or_an_empty_one_is_refused(tmp_path, seed, shape):
    tensors = factors(seed)
    tensors["lora_unet_x.lora_up.weight"] = torch.zeros(shape)
    refused(tmp_path, tensors, "module lora_unet_x: lora_down has shape .* (expected 2-D|empty dimension)",
            suffix=".pt" if seed % 2 else ".safetensors")


@pytest.mark.parametrize(("seed", "conv"), [(0, False), (1, True), (2, False)])
@pytest.mark.bad_input("rank-0 factor")
def test_rank_zero_factors_are_refused_before_any_division_by_the_rank(tmp_path, seed, conv):
    tensors = factors(seed, rank=0, conv=conv)
    tensors["lora_unet_x.alpha"] = torch.tensor(1.0)
    refused(tmp_path, tensors, r"module lora_unet_x: .* empty dimension \(rank 0\)")


@pytest.mark.parametrize(("seed", "up_kernel"), [(0, (3, 3)), (1, (1, 3)), (2, (5, 5))])
@pytest.mark.bad_input("conv kernel mismatch")
def test_conv_factors_whose_kernels_disagree_are_refused(tmp_path, seed, up_kernel):
    tensors = factors(seed, conv=True)
    tensors["lora_unet_x.lora_up.weight"] = torch.randn(24, 4, *up_kernel) * 0.1
    refused(tmp_path, tensors, "module lora_unet_x: convolution factors disagree: .* lora_up must be 1x1")


@pytest.mark.parametrize("key", [1, 2.5, ("lora_unet_x", "lora_down"), None])
@pytest.mark.bad_input(".pt non-string keys")
def test_pt_files_with_keys_that_are_not_names_are_refused(tmp_path, key):
    tensors: dict = factors(0)
    tensors[key] = torch.ones(2)
    refused(tmp_path, tensors, re.escape(f"key {key!r} is a {type(key).__name__}, not a tensor name"), suffix=".pt")


@pytest.mark.parametrize("dtype", [torch.float8_e4m3fn, torch.float8_e5m2, torch.float8_e4m3fnuz,
                                   torch.float8_e5m2fnuz])
@pytest.mark.bad_input("fp8 factors")
def test_fp8_factors_load_as_they_are_with_their_sign(tmp_path, dtype):
    """fp8 has no isfinite of its own; factors are checked in chunks upcast to fp32 and kept in fp8 (hosts upcast)."""
    tensors = {key: value.to(dtype) for key, value in factors(1).items()}
    suffix = ".safetensors" if dtype in (torch.float8_e4m3fn, torch.float8_e5m2) else ".pt"
    path = tmp_path / f"fp8{suffix}"
    if suffix == ".pt":
        torch.save(tensors, path)
    else:
        from safetensors.torch import save_file

        save_file(tensors, path)
    delta = formats.load_slider(path).deltas["lora_unet_x"]
    assert delta.down.dtype == dtype
    upcast = (tensors["lora_unet_x.lora_up.weight"].float() @ tensors["lora_unet_x.lora_down.weight"].float())
    assert torch.equal(delta.weight_delta(), upcast)
    assert (delta.weight_delta() < 0).any()


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.bad_input("fp8_e8m0fnu factors")
def test_unsigned_fp8_factors_are_refused_because_they_lose_the_sign(tmp_path, seed):
    tensors = {key: value.to(torch.float8_e8m0fnu) for key, value in factors(seed).items()}
    refused(tmp_path, tensors, "float8_e8m0fnu has no sign bit", suffix=".pt" if seed else ".safetensors")


@pytest.mark.parametrize(("seed", "copy"), [(0, "unet.x.lora_A.weight"), (1, "unet.x.lora_B.weight"),
                                             (2, "base_model.model.x.lora_A.weight"), (3, "x.lora_up.weight"),
                                             (4, "lora_unet_x.lora.down.weight")])
@pytest.mark.bad_input("duplicate dialect keys (kohya + peft)")
def test_one_module_held_in_two_dialects_is_refused_naming_both_keys(tmp_path, seed, copy):
    tensors = factors(seed)
    tensors[copy] = factors(seed + 10, rank=8)["lora_unet_x.lora_down.weight" if "A" in copy or "down" in copy
                                                 else "lora_unet_x.lora_up.weight"]
    kohya = "lora_unet_x.lora_down.weight" if "A" in copy or "down" in copy else "lora_unet_x.lora_up.weight"
    pair = sorted([kohya, copy])
    refused(tmp_path, tensors, rf"'{re.escape(pair[0])}' and '{re.escape(pair[1])}' are both the (down|up) of module "
                               "lora_unet_x: the file holds this module twice")
