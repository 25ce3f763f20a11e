"""Files that declare more than they hold are refused before anything is materialised, within a memory bound.

The bound (README, hardening): refusing a file costs at most 64 MiB (`MEMORY_SLACK`) of resident memory above
what the file really holds; measured here in a fresh process for every kind of bomb, against a control file whose
128 MiB of real content is read before it is refused (which shows the measurement sees what loading costs).
"""
from __future__ import annotations

import json
import random
import struct
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from harness.bad_files import peak_memory_of_loading, write_pt, write_safetensors_header
from slider_core import errors
from slider_core.io import slider_files as formats
from slider_core.io.declared_sizes import MEMORY_SLACK

GiB = 1 << 30
ROOT = Path(__file__).resolve().parents[2]


def huge_shapes(seed: int) -> dict[str, tuple[str, tuple[int, ...]]]:
    """A down/up pair of which one factor declares 1–2 GiB (the issue's sizes), in a seeded dtype and layout."""
    rng = random.Random(seed)
    dtype = rng.choice(["F32", "F16", "BF16"])
    itemsize = 4 if dtype == "F32" else 2
    rank = rng.choice([1, 4, 8])
    width = rng.randint(GiB, 2 * GiB) // (itemsize * rank)
    down, up = ((rank, width), (320, rank)) if rng.random() < 0.5 else ((rank, 320), (width, rank))
    return {"lora_unet_x.lora_down.weight": (dtype, down), "lora_unet_x.lora_up.weight": (dtype, up)}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.bad_input("header declares more than the file holds")
def test_a_header_promising_more_than_the_file_holds_is_refused_naming_the_tensor(tmp_path, seed):
    path = write_safetensors_header(tmp_path / "lie.safetensors", huge_shapes(seed), held=4096)
    with pytest.raises(errors.SliderFormatError, match=r"lie.safetensors: tensor 'lora_unet_x.lora_\w+.weight' "
                                                       r"declares .* the header declares more than the file holds"):
        formats.load_slider(path)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.bad_input("sparse header memory bomb")
def test_a_sparse_file_is_refused_before_its_holes_are_read(tmp_path, seed):
    path = write_safetensors_header(tmp_path / "sparse.safetensors", huge_shapes(seed), sparse=True)
    if path.stat().st_blocks * 512 > MEMORY_SLACK:
        pytest.skip("this file system does not keep sparse files sparse")
    with pytest.raises(errors.SliderFormatError, match="sparse.safetensors: a sparse file: .* holes"):
        formats.load_slider(path)


@pytest.mark.parametrize(("seed", "entry"), [
    (0, {"dtype": "F32", "shape": [4, 8], "data_offsets": [0, 64]}),
    (1, {"dtype": "F32", "shape": [-1, 8], "data_offsets": [0, 128]}),
    (2, {"dtype": "F4", "shape": [4, 8], "data_offsets": [0, 16]}),
    (3, {"dtype": "F32", "shape": [4, 8], "data_offsets": [128, 0]}),
    (4, {"dtype": "F32", "shape": "4x8", "data_offsets": [0, 128]}),
    (5, [1, 2, 3]),
])
@pytest.mark.bad_input("inconsistent safetensors header")
def test_a_header_whose_dtype_shape_and_offsets_disagree_is_named(tmp_path, seed, entry):
    header = json.dumps({"lora_unet_x.lora_down.weight": entry}).encode()
    (tmp_path / "bad.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(128))
    with pytest.raises(errors.SliderFormatError, match=r"bad.safetensors: tensor 'lora_unet_x.lora_down.weight'"):
        formats.load_slider(tmp_path / "bad.safetensors")


@pytest.mark.bad_input("overlapping tensor data")
def test_tensors_claiming_the_same_bytes_are_refused(tmp_path):
    header = json.dumps({"lora_unet_x.lora_down.weight": {"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 32]},
                         "lora_unet_x.lora_up.weight": {"dtype": "F32", "shape": [4, 2], "data_offsets": [16, 48]}})
    (tmp_path / "overlap.safetensors").write_bytes(struct.pack("<Q", len(header)) + header.encode() + bytes(48))
    with pytest.raises(errors.SliderFormatError, match="overlap.safetensors: tensors .* overlapping bytes"):
        formats.load_slider(tmp_path / "overlap.safetensors")


@pytest.mark.parametrize("megabytes", [256, 384, 512])
@pytest.mark.bad_input("deflated .pt memory bomb")
def test_a_deflated_pt_record_is_refused_before_it_is_unpacked(tmp_path, megabytes):
    """A real deflate bomb: the record is `megabytes` MiB of zeros in about a thousandth of that on disk."""
    path = write_pt(tmp_path / "bomb.pt", {"lora_unet_x.lora_down.weight": (4, megabytes << 16),
                                          "lora_unet_x.lora_up.weight": (320, 4)}, deflate=True)
    assert path.stat().st_size < (megabytes << 20) // 100
    with pytest.raises(errors.SliderFormatError, match=rf"bomb.pt: its tensor records unpack to {megabytes}.0 MiB "
                                                       r"but the file is .* compressed"):
        formats.load_slider(path)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.bad_input(".pt storage larger than its record")
def test_a_pt_storage_declared_larger_than_its_record_is_refused(tmp_path, seed):
    rng = random.Random(seed)
    width = rng.randint(GiB, 2 * GiB) // 16
    path = write_pt(tmp_path / "lie.pt", {"lora_unet_x.lora_down.weight": (4, width),
                                         "lora_unet_x.lora_up.weight": (320, 4)}, record_bytes={"0": rng.randint(0, 64)})
    with pytest.raises(errors.SliderFormatError, match="lie.pt: storage 0 declares .* GiB but the file has a record"):
        formats.load_slider(path)


@pytest.mark.bad_input("legacy (non-zip) .pt")
def test_a_pre_zip_torch_file_is_refused_with_the_fix(tmp_path):
    torch.save({"lora_unet_x.lora_down.weight": torch.ones(2, 4)}, tmp_path / "old.pt",
               _use_new_zipfile_serialization=False)
    with pytest.raises(errors.SliderFormatError, match="old.pt: refused to load: not a zip-format torch checkpoint"):
        formats.load_slider(tmp_path / "old.pt")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak memory is read from /proc (Linux)")
def test_refusing_any_bomb_stays_within_64_mib_above_what_the_file_holds(tmp_path):
    """Peak resident memory of a fresh process while refusing each bomb ≤ MEMORY_SLACK above its level before;
    the control (128 MiB of real factors, refused only for a NaN in its last element once read) rises by about
    its content and no more than MEMORY_SLACK above it."""
    bombs = [
        write_safetensors_header(tmp_path / "lie.safetensors", huge_shapes(0), held=4096),
        write_safetensors_header(tmp_path / "sparse.safetensors", huge_shapes(1), sparse=True),
        write_pt(tmp_path / "deflated.pt", {"lora_unet_x.lora_down.weight": (4, 1 << 24),
                                            "lora_unet_x.lora_up.weight": (320, 4)}, deflate=True),
        write_pt(tmp_path / "lie.pt", {"lora_unet_x.lora_down.weight": (4, 1 << 28),
                                       "lora_unet_x.lora_up.weight": (320, 4)}, record_bytes={"0": 16}),
    ]
    content = 128 << 20
    down = torch.zeros(8, content // 32)
    down[-1, -1] = float("nan")
    save_file({"lora_unet_x.lora_down.weight": down, "lora_unet_x.lora_up.weight": torch.zeros(4, 8)},
              tmp_path / "control.safetensors")
    del down
    measured = peak_memory_of_loading([*bombs, tmp_path / "control.safetensors"], ROOT)
    report = {name.rsplit("/", 1)[-1]: f"{value['peak_above_baseline'] / (1 << 20):.1f} MiB"
              for name, value in measured.items()}
    print(f"\npeak resident memory above baseline while refusing: {report}")
    for path in bombs:
        result = measured[str(path)]
        assert result["outcome"].startswith("SliderFormatError"), result
        assert result["peak_above_baseline"] <= MEMORY_SLACK, (path.name, report)
    control = measured[str(tmp_path / "control.safetensors")]
    assert "NaN" in control["outcome"]
    assert 0.75 * content <= control["peak_above_baseline"] <= content + MEMORY_SLACK, report


@pytest.mark.bad_input("fuzzed .pt file")
def test_fuzzed_pt_files_only_ever_raise_our_error(tmp_path, request):
    """Random bytes flipped anywhere in a real torch.save zip (records, pickle, directory) or the file cut short."""
    torch.save({"lora_unet_x.lora_down.weight": torch.randn(2, 5), "lora_unet_x.lora_up.weight": torch.randn(3, 2),
                "lora_unet_x.alpha": torch.tensor(1.0)}, tmp_path / "good.pt")
    original = (tmp_path / "good.pt").read_bytes()
    rng = random.Random(77)
    tried = 0
    for index in range(120):
        data = bytearray(original)
        if index % 4 == 0:
            data = data[: rng.randrange(1, len(data))]
        else:
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"m{index}.pt"
        path.write_bytes(bytes(data))
        try:
            formats.load_slider(path)
        except errors.SliderFormatError as error:
            assert path.name in str(error)
        tried += 1
    request.node.bad_inputs_tried = tried
