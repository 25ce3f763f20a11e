"""Bad input lets nothing in: property tests over key conversions and round trips, and a fuzz of slider files.

The fuzz prints a summary line (cases tried by kind, all handled) for the closing note.
"""
from __future__ import annotations

import collections
import random
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
      "lora_unet_x.lora_up.weight": torch.zeros(4, 2)}, "expected floating point"),
    ({"lora_unet_x.lora_down.weight": torch.zeros(2, 4), "lora_unet_x.lora_up.weight": torch.full((4, 2), float("inf"))},
     "NaN or Inf"),
])
@pytest.mark.bad_input("malformed tensor")
def test_malformed_tensors_are_named(tmp_path, tensors, message):
    from safetensors.torch import save_file

    save_file(tensors, tmp_path / "bad.safetensors")
    with pytest.raises(errors.SliderFormatError, match=message):
        formats.load_slider(tmp_path / "bad.safetensors")
