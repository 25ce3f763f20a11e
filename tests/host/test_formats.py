"""Slider files: exact round trips, kohya/A1111 metadata, and the foreign dialects we promise to read."""
from __future__ import annotations

import json

import pytest
import safetensors
import torch
from concept_sliders.slider_core import errors
from concept_sliders.slider_core.io import slider_files as formats
from safetensors.torch import save_file

from harness.models import denoise, tiny_model
from harness.sliders import random_slider


def test_round_trip_is_exact_including_metadata(host, tmp_path):
    slider = random_slider(tiny_model("sd1"), alpha=2.0, name="age")
    path = formats.save_slider(slider, tmp_path / "age.safetensors")
    loaded = formats.load_slider(path)
    assert loaded.metadata == slider.metadata
    assert loaded.deltas.keys() == slider.deltas.keys()
    for stem, delta in slider.deltas.items():
        assert torch.equal(loaded.deltas[stem].down, delta.down)
        assert torch.equal(loaded.deltas[stem].up, delta.up)
        assert loaded.deltas[stem].alpha == delta.alpha


@pytest.mark.parametrize(("kind", "version", "arch", "stem_prefix"), [
    ("sd1", "sd_v1", "stable-diffusion-v1/lora", "lora_unet_down_blocks_0_"),
    ("sdxl", "sdxl_base_v1-0", "stable-diffusion-xl-v1-base/lora", "lora_unet_input_blocks_1_"),
])
def test_written_file_speaks_kohya(host, tmp_path, kind, version, arch, stem_prefix):
    """A1111/Forge and LoRA managers key on these: diffusers names for SD1, ldm names for SDXL, ss_* metadata."""
    slider = random_slider(tiny_model(kind), rank=4, alpha=1.0)
    path = formats.save_slider(slider, tmp_path / "s.safetensors", dtype=torch.float16)
    with safetensors.safe_open(str(path), "pt") as handle:
        meta = handle.metadata()
        keys = list(handle.keys())
        assert handle.get_tensor(keys[0]).dtype in (torch.float16, torch.float32)
    assert meta["ss_network_module"] == "networks.lora"
    assert (meta["ss_network_dim"], meta["ss_network_alpha"]) == ("4", "1")
    assert meta["ss_base_model_version"] == version
    assert meta["modelspec.architecture"] == arch
    assert meta["modelspec.sai_model_spec"] and meta["modelspec.title"] == slider.name
    assert json.loads(meta["concept_slider.strength_range"]) == [-2.5, 4.0]
    assert meta["concept_slider.positive"] == "an old person"
    assert any(key.startswith(stem_prefix) and key.endswith(".lora_down.weight") for key in keys)
    assert all(key.startswith("lora_unet_") for key in keys)
    assert not list(tmp_path.glob("*.tmp")), "the atomic writer left its temporary file behind"


def test_reference_pt_file_honours_its_alpha(host, tmp_path):
    """The official implementation saves torch .pt, bf16, alpha per module; alpha must come from the file."""
    model = tiny_model("sd1")
    slider = random_slider(model, rank=4, alpha=1.0)
    state = {}
    for stem, delta in slider.deltas.items():
        state[f"{stem}.lora_down.weight"] = delta.down.to(torch.bfloat16)
        state[f"{stem}.lora_up.weight"] = delta.up.to(torch.bfloat16)
        state[f"{stem}.alpha"] = torch.tensor(2.5, dtype=torch.bfloat16)
    torch.save(state, tmp_path / "reference.pt")
    loaded = formats.load_slider(tmp_path / "reference.pt")
    stem = next(iter(slider.deltas))
    assert loaded.deltas[stem].alpha == 2.5 and loaded.deltas[stem].scale == 2.5 / 4
    assert loaded.deltas[stem].down.dtype == torch.bfloat16
    expected = (state[f"{stem}.lora_up.weight"].float().flatten(1) @ state[f"{stem}.lora_down.weight"].float().flatten(1))
    torch.testing.assert_close(loaded.deltas[stem].weight_delta().flatten(1), expected * 2.5 / 4)
    torch.save(state, host.loras_dir / "reference.pt")
    native = host.node("LoraLoaderModelOnly").load_lora_model_only(model, "reference.pt", 1.0)[0]
    ours = host.node("ConceptSlidersStrength").apply(model, loaded, 1.0, 0.0, 1.0)[0]
    assert torch.equal(denoise(ours), denoise(native))
    (host.loras_dir / "reference.pt").unlink()


def test_peft_and_comfy_savelora_dialects_load_as_the_same_slider(host, tmp_path):
    model = tiny_model("sdxl")
    slider = random_slider(model, rank=2, alpha=2.0)
    peft, comfy_form = {}, {}
    for stem, delta in slider.deltas.items():
        path = stem.removeprefix("lora_unet_")
        module = next(key[:-len(".weight")] for key in model.model.state_dict()
                      if key.startswith("diffusion_model.")
                      and key[len("diffusion_model."):-len(".weight")].replace(".", "_") == path)
        peft[f"unet.{module.removeprefix('diffusion_model.')}.lora_A.weight"] = delta.down
        peft[f"unet.{module.removeprefix('diffusion_model.')}.lora_B.weight"] = delta.up
        comfy_form[f"{module}.lora_down.weight"] = delta.down
        comfy_form[f"{module}.lora_up.weight"] = delta.up
        comfy_form[f"{module}.alpha"] = torch.tensor(2.0)
    save_file(peft, tmp_path / "peft.safetensors")
    save_file(comfy_form, tmp_path / "comfy.safetensors")
    for name in ("peft", "comfy"):
        loaded = formats.load_slider(tmp_path / f"{name}.safetensors")
        assert loaded.deltas.keys() == slider.deltas.keys(), name
        for stem, delta in slider.deltas.items():
            torch.testing.assert_close(loaded.deltas[stem].weight_delta(), delta.weight_delta(), msg=name)


def test_atomic_save_leaves_old_file_when_writing_fails(host, tmp_path, monkeypatch):
    slider = random_slider(tiny_model("sd1"))
    path = formats.save_slider(slider, tmp_path / "keep.safetensors")
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(formats.safetensors.torch, "save_file", explode)
    with pytest.raises(OSError, match="disk full"):
        formats.save_slider(slider, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.safetensors"]


@pytest.mark.parametrize(("content", "message"), [
    ({"lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": torch.zeros(2, 4),
      "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": torch.zeros(4, 2)}, "text-encoder-only"),
    ({"lora_unet_x.lora_down.weight": torch.zeros(2, 4)}, "lora_unet_x has no lora_up"),
    ({"lora_unet_x.lora_down.weight": torch.zeros(2, 4), "lora_unet_x.lora_up.weight": torch.zeros(4, 3)}, "rank mismatch"),
    ({"lora_unet_x.lora_down.weight": torch.full((2, 4), float("nan")),
      "lora_unet_x.lora_up.weight": torch.zeros(4, 2)}, "NaN"),
    ({"something_else": torch.zeros(3)}, "no LoRA weights"),
])
@pytest.mark.bad_input("corrupt/empty/truncated slider file")
def test_bad_files_are_named_and_explained(host, tmp_path, content, message):
    save_file(content, tmp_path / "bad.safetensors")
    with pytest.raises(errors.SliderFormatError, match=message) as caught:
        formats.load_slider(tmp_path / "bad.safetensors")
    assert "bad.safetensors" in str(caught.value)


class Payload:
    """Any non-tensor object: unpickling it would mean running code chosen by the file's author."""


@pytest.mark.bad_input("pickle-only .pt file")
def test_pickle_checkpoints_that_need_code_are_refused(host, tmp_path):
    torch.save({"weights": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(errors.SliderFormatError, match="evil.pt: refused"):
        formats.load_slider(tmp_path / "evil.pt")
